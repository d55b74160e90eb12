"""fxlabel: triple-barrier labels for 1-minute FX candles over a grid of
(take-profit pips, stop-loss pips, horizon) configs, one Parquet file per
config, written the moment it is done, resumable, in bounded memory.

The API of the labeler fxlabel replaces, so its users change one import::

    from fxlabel import label_dataframe, load_label_results, load_all_label_results
    saved = label_dataframe(df, target_pips=[5, 10, 15], stop_pips=[5, 10],
                            horizons=[30, 60, 240], pip_value=0.0001)
    table = load_label_results("T10_S5_H30")          # a pandas DataFrame
    every = load_all_label_results()                   # {key: DataFrame}

Labeling runs in the Rust core (the same one as the CLI and the npm
package), with the GIL released; every option is read and checked there.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _fxlabel
from ._fxlabel import (
    BusyError,
    FormatError,
    InputError,
    MismatchError,
    ParameterError,
    StorageError,
    __version__,
)

__all__ = [
    "label_dataframe",
    "load_label_results",
    "load_all_label_results",
    "list_label_results",
    "InputError",
    "ParameterError",
    "MismatchError",
    "FormatError",
    "StorageError",
    "BusyError",
    "__version__",
]

DEFAULT_DIR = "labels"

ProgressCallback = Callable[[int, int, str], Any]


def _source(df: Any, time_column: Optional[str]) -> Any:
    """What the core reads: a path as a string, or an object with
    ``__arrow_c_stream__`` (read batch by batch, no Python objects)."""
    if isinstance(df, (str, os.PathLike)):
        return os.fspath(df)
    index = getattr(df, "index", None)
    if index is not None and type(index).__name__ == "DatetimeIndex":
        names = (time_column,) if time_column else _fxlabel.TIME_COLUMNS
        if index.name is not None and str(index.name).lower() in [n.lower() for n in names]:
            df = df.reset_index()
    if hasattr(df, "__arrow_c_stream__"):
        return df
    # Older pandas and polars: through pyarrow.
    if type(df).__module__.startswith("pandas"):
        import pyarrow as pa

        return pa.Table.from_pandas(df, preserve_index=False)
    if hasattr(df, "to_arrow"):
        return df.to_arrow()
    return df  # the core says what it expected


def label_dataframe(
    df: Any,
    target_pips: Optional[Sequence[float]] = None,
    stop_pips: Optional[Sequence[float]] = None,
    horizons: Optional[Sequence[int]] = None,
    pip_value: Optional[float] = None,
    progress_callback: Optional[ProgressCallback] = None,
    return_dict: bool = False,
    num_workers: Optional[int] = None,
    use_cache: Optional[bool] = None,
    *,
    out_dir: Union[str, os.PathLike] = DEFAULT_DIR,
    horizon_unit: Optional[str] = None,
    sides: Optional[Sequence[str]] = None,
    tie: Optional[str] = None,
    extras: Optional[bool] = None,
    spread_pips: Optional[float] = None,
    spread_column: Optional[str] = None,
    entry: Optional[str] = None,
    weights: Optional[bool] = None,
    format: Optional[str] = None,
    compression: Optional[str] = None,
    row_group_size: Optional[int] = None,
    overwrite: bool = False,
    jobs: Optional[int] = None,
    time_column: Optional[str] = None,
    progress: bool = False,
) -> Union[List[str], Dict[str, Any]]:
    """Labels every candle of ``df`` for every (target, stop, horizon)
    config of the grid, one file per config in ``out_dir``
    (``T10_S5_H30.parquet``), each written the moment it is done. Configs
    already saved with the same data and settings are skipped; a file
    made otherwise raises :class:`MismatchError` (unless ``overwrite``).

    ``df``: a pandas or polars DataFrame, a pyarrow Table or
    RecordBatchReader, any object with ``__arrow_c_stream__``, or the path
    of a Parquet or CSV file; columns ``timestamp`` (or ``time``, ``date``,
    ``datetime``, or ``time_column``; a pandas DatetimeIndex of that name
    is used too), ``open``, ``high``, ``low``, ``close``.

    Options left ``None`` take the core's defaults (the label contract's).
    ``progress_callback(done, total, key)`` is called after each config;
    ``progress=True`` shows a tqdm bar when tqdm is installed. ``jobs``:
    configs labeled at once (threads; default: the cores). Ctrl-C stops
    after the configs in flight; every finished file stays.

    Returns the paths of every config's file, in grid order, or with
    ``return_dict=True`` ``{key: pandas.DataFrame}`` as the old API did.
    Bad input or options raise :class:`InputError` / :class:`ParameterError`
    (``ValueError``) with nothing on disk changed; I/O and lock failures
    raise :class:`StorageError` / :class:`BusyError` (``OSError``).
    """
    if num_workers is not None:
        warnings.warn("num_workers is deprecated: it means jobs (threads) now", DeprecationWarning, stacklevel=2)
        jobs = num_workers if jobs is None else jobs
    if use_cache is not None:
        warnings.warn("use_cache is deprecated: finished configs are always kept and reused", DeprecationWarning, stacklevel=2)
    options = {
        "target_pips": target_pips,
        "stop_pips": stop_pips,
        "horizons": horizons,
        "pip_value": pip_value,
        "horizon_unit": horizon_unit,
        "sides": sides,
        "tie": tie,
        "extras": extras,
        "spread_pips": spread_pips,
        "spread_column": spread_column,
        "entry": entry,
        "weights": weights,
        "format": format,
        "compression": compression,
        "row_group_size": row_group_size,
        "time_column": time_column,
    }
    options = {k: v for k, v in options.items() if v is not None}
    callback = progress_callback
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            bar = tqdm(unit="config")

            def callback(done: int, total: int, key: str, _user: Optional[ProgressCallback] = progress_callback) -> None:
                bar.total = total
                bar.n = done
                bar.set_postfix_str(key, refresh=False)
                bar.refresh()
                if _user is not None:
                    _user(done, total, key)

    try:
        paths, _written = _fxlabel.label(
            _source(df, time_column), os.fspath(out_dir), options, overwrite, jobs, callback
        )
    finally:
        if bar is not None:
            bar.close()
    if return_dict:
        return {key: _read(p, "pandas") for p in paths for _name, key in _fxlabel.label_files([os.path.basename(p)])}
    return paths


def list_label_results(out_dir: Union[str, os.PathLike] = DEFAULT_DIR) -> List[str]:
    """The label files in ``out_dir`` (names), in grid order."""
    try:
        names = os.listdir(out_dir)
    except FileNotFoundError:
        return []
    return [name for name, _key in _fxlabel.label_files(names)]


def _read(path: str, as_: str) -> Any:
    import pyarrow as pa

    with open(path, "rb") as f:
        head = f.read(4)
    if _fxlabel.is_parquet(path, head):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    else:
        with pa.memory_map(path) as f:
            table = pa.ipc.open_file(f).read_all()
    if as_ == "pyarrow":
        return table
    if as_ == "polars":
        import polars as pl

        return pl.from_arrow(table)
    if as_ == "pandas":
        import pandas as pd

        # Nullable dtypes keep the nulls of incomplete windows as <NA>.
        mapping = {pa.int8(): pd.Int8Dtype(), pa.uint32(): pd.UInt32Dtype(), pa.bool_(): pd.BooleanDtype()}
        return table.to_pandas(types_mapper=mapping.get)
    raise ParameterError(f"invalid parameter 'as_': '{as_}' (expected pandas, polars or pyarrow)")


def load_label_results(key: str, out_dir: Union[str, os.PathLike] = DEFAULT_DIR, as_: str = "pandas") -> Any:
    """One config's results: ``key`` is ``T10_S5_H30`` (its .parquet file,
    else its .arrow one) or a label file's name. A pandas DataFrame (nulls
    as ``<NA>``), or polars or pyarrow with ``as_``."""
    out_dir = os.fspath(out_dir)
    name = os.path.basename(str(key))
    found = _fxlabel.label_files([name])
    names = [found[0][0]] if found else _fxlabel.file_names(str(key))
    for n in names:
        path = os.path.join(out_dir, n)
        if os.path.exists(path):
            return _read(path, as_)
    raise FileNotFoundError(f"no label file for {key} in {out_dir} (looked for {', '.join(names)})")


def load_all_label_results(out_dir: Union[str, os.PathLike] = DEFAULT_DIR, as_: str = "pandas") -> Dict[str, Any]:
    """Every label file of ``out_dir`` as ``{key: DataFrame}``, in grid
    order. All at once in memory: prefer ``load_label_results`` one key at a
    time for large runs."""
    out: Dict[str, Any] = {}
    try:
        names = os.listdir(out_dir)
    except FileNotFoundError:
        return out
    for name, key in _fxlabel.label_files(names):
        if key not in out:
            out[key] = _read(os.path.join(os.fspath(out_dir), name), as_)
    return out
