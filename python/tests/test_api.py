"""The Python package against the native CLI and independent readers:
pandas, polars, pyarrow and path inputs write the CLI's bytes; the old
API's return values, loaders, resume, mismatches, bad input, progress,
cancellation, and the files read back by pyarrow, polars, DuckDB and
fastparquet (filters on the statistics included)."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fxlabel

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample.csv"
GRID = dict(target_pips=[5, 10], stop_pips=[5, 15], horizons=[1, 30, 240])
FLAGS = ["--targets", "5,10", "--stops", "5,15", "--horizons", "1,30,240"]
KEYS = [f"T{t}_S{s}_H{h}" for t in (5, 10) for s in (5, 15) for h in (1, 30, 240)]


def native_cli():
    """The native binary (built by the Rust tests; built here if missing)."""
    exe = ROOT / "target" / "debug" / "fxlabel"
    if not exe.exists():
        subprocess.run(["cargo", "build", "--features", "cli"], cwd=ROOT, check=True)
    return exe


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("native")
    subprocess.run([native_cli(), "label", SAMPLE, "--out", out, "-q", *FLAGS], check=True)
    return files(out)


def inputs():
    table = pacsv.read_csv(SAMPLE)
    frame = pd.read_csv(SAMPLE)
    return {
        "path": str(SAMPLE),
        "pathlib": SAMPLE,
        "pandas": frame,
        "pandas-datetime-index": frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="ms", utc=True)).set_index("timestamp"),
        "polars": pl.read_csv(SAMPLE),
        "pyarrow-table": table,
        "pyarrow-reader": pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=1000)),
    }


@pytest.mark.parametrize("name", list(inputs()))
def test_every_input_writes_the_native_cli_bytes(name, reference, tmp_path):
    paths = fxlabel.label_dataframe(inputs()[name], **GRID, out_dir=tmp_path)
    assert [Path(p).name for p in paths] == [f"{k}.parquet" for k in KEYS]
    assert files(tmp_path) == reference


def test_return_dict_and_loaders(tmp_path):
    tables = fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path, return_dict=True)
    assert list(tables) == KEYS
    one = fxlabel.load_label_results("T10_S5_H30", out_dir=tmp_path)
    assert isinstance(one, pd.DataFrame) and len(one) == 8000
    assert str(one["long_label"].dtype) == "Int8"  # nulls of incomplete windows stay <NA>
    assert one["long_label"].isna().sum() > 0
    pd.testing.assert_frame_equal(one, tables["T10_S5_H30"])
    assert fxlabel.load_label_results("T10_S5_H30.parquet", out_dir=tmp_path).equals(one)
    assert isinstance(fxlabel.load_label_results("T10_S5_H30", out_dir=tmp_path, as_="polars"), pl.DataFrame)
    every = fxlabel.load_all_label_results(out_dir=tmp_path)
    assert list(every) == KEYS
    assert fxlabel.list_label_results(tmp_path) == [f"{k}.parquet" for k in KEYS]
    with pytest.raises(FileNotFoundError, match="no label file for T99_S5_H30"):
        fxlabel.load_label_results("T99_S5_H30", out_dir=tmp_path)
    with pytest.raises(fxlabel.ParameterError):
        fxlabel.load_label_results("../etc/passwd", out_dir=tmp_path)


def test_resume_writes_nothing_and_a_mismatch_is_refused(tmp_path):
    fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    (tmp_path / "T5_S5_H1.parquet").unlink()
    seen = []
    fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path, progress_callback=lambda d, t, k: seen.append(k))
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert {n for n in after if after[n] != before.get(n)} == {"T5_S5_H1.parquet"}
    assert sorted(seen) == sorted(KEYS)
    snapshot = files(tmp_path)
    with pytest.raises(fxlabel.MismatchError, match="pip_value differs") as e:
        fxlabel.label_dataframe(str(SAMPLE), **GRID, pip_value=0.01, out_dir=tmp_path)
    assert isinstance(e.value, ValueError) and e.value.key == KEYS[0]
    assert files(tmp_path) == snapshot, "a refused run changes nothing"
    fxlabel.label_dataframe(str(SAMPLE), **GRID, pip_value=0.01, out_dir=tmp_path, overwrite=True)
    assert files(tmp_path) != snapshot


def test_bad_input_and_parameters_touch_nothing(tmp_path):
    out = tmp_path / "labels"
    frame = pd.read_csv(SAMPLE)
    bad = frame.copy()
    bad.loc[3, "high"] = bad.loc[3, "low"] - 0.001
    with pytest.raises(fxlabel.InputError, match="row 3, column 'high'") as e:
        fxlabel.label_dataframe(bad, **GRID, out_dir=out)
    assert (e.value.row, e.value.column) == (3, "high") and isinstance(e.value, ValueError)
    unsorted = frame.iloc[[0, 2, 1, 3]]
    with pytest.raises(fxlabel.InputError) as e:
        fxlabel.label_dataframe(unsorted, **GRID, out_dir=out)
    assert (e.value.row, e.value.column) == (2, "timestamp")
    with pytest.raises(fxlabel.InputError, match="column 'close'"):
        fxlabel.label_dataframe(frame.drop(columns="close"), **GRID, out_dir=out)
    for kwargs, param in [
        (dict(target_pips=[0]), "target_pips"),
        (dict(pip_value=-1), "pip_value"),
        (dict(pip_value=float("nan")), "pip_value"),
        (dict(horizons=[1.5]), "horizons"),
        (dict(tie="coin"), "tie"),
        (dict(stop_pips=[]), "stop_pips"),
        (dict(compression="brotli"), "compression"),
        (dict(entry="open"), "entry"),
    ]:
        with pytest.raises(fxlabel.ParameterError) as e:
            fxlabel.label_dataframe(frame, **{**GRID, **kwargs}, out_dir=out)
        assert e.value.param == param and f"'{param}'" in str(e.value), kwargs
    # NaN and infinities meet the option's own rule, as on the CLI.
    with pytest.raises(fxlabel.ParameterError, match="'spread_pips': inf is not a finite number of pips"):
        fxlabel.label_dataframe(frame, **GRID, spread_pips=float("inf"), out_dir=out)
    with pytest.raises(fxlabel.ParameterError, match="'pip_value': NaN is not a positive finite price"):
        fxlabel.label_dataframe(frame, **GRID, pip_value=float("nan"), out_dir=out)
    with pytest.raises(fxlabel.ParameterError, match="not candles"):
        fxlabel.label_dataframe(42, **GRID, out_dir=out)
    assert not out.exists(), "nothing on disk is touched"
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(fxlabel.StorageError) as e:
        fxlabel.label_dataframe(frame, **GRID, out_dir=not_a_folder)
    assert isinstance(e.value, OSError)


def test_progress_in_write_order_and_a_stop_keeps_finished_files(tmp_path, reference):
    seen = []
    fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path / "a", jobs=1, progress_callback=lambda *a: seen.append(a))
    # Written horizon by horizon (the configs of one horizon share its windows).
    order = sorted(KEYS, key=lambda k: int(k.rsplit("_H", 1)[1]))
    assert seen == [(i + 1, len(KEYS), k) for i, k in enumerate(order)]

    def stop_at_three(done, total, key):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path / "b", jobs=1, progress_callback=stop_at_three)
    left = files(tmp_path / "b")
    assert 3 <= len(left) < len(KEYS) and all(reference[n] == b for n, b in left.items()), "only complete files, no temporary ones"
    fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path / "b")
    assert files(tmp_path / "b") == reference


def test_compatibility_arguments_warn(tmp_path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path, num_workers=2, use_cache=True)
    assert [x.category for x in w] == [DeprecationWarning, DeprecationWarning]


def test_version_2_settings_and_arrow_output(tmp_path):
    frame = pd.read_csv(SAMPLE).assign(spread=0.00002)
    paths = fxlabel.label_dataframe(frame, target_pips=[10], stop_pips=[5], horizons=[30], spread_column="spread", entry="next_open", weights=True, extras=True, format="arrow", out_dir=tmp_path)
    assert paths[0].endswith(".arrow")
    t = fxlabel.load_label_results("T10_S5_H30", out_dir=tmp_path, as_="pyarrow")
    assert "long_uniqueness" in t.column_names and "short_mfe_pips" in t.column_names


def test_readers_and_filters_on_the_statistics(tmp_path):
    fxlabel.label_dataframe(str(SAMPLE), **GRID, out_dir=tmp_path)
    path = str(tmp_path / "T10_S5_H30.parquet")
    full = pq.read_table(path)
    hits = pq.read_table(path, filters=[("long_label", "=", 1)])
    assert 0 < hits.num_rows < full.num_rows
    assert pl.read_parquet(path).filter(pl.col("long_label") == 1).height == hits.num_rows
    assert pl.scan_parquet(path).filter(pl.col("long_exit_offset") <= 3).collect().height > 0
    import duckdb

    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}') WHERE long_label = 1").fetchall()[0][0]
    assert n == hits.num_rows
    import fastparquet

    fp = fastparquet.ParquetFile(path).to_pandas()
    assert len(fp) == full.num_rows and int((fp["long_label"] == 1).sum()) == hits.num_rows


def test_version_2_files_read_alike_in_every_reader(tmp_path):
    """Files with every version 2 column (uniqueness, MFE/MAE, the null
    tail of next_open) and many row groups: every reader sees the same
    values and nulls, and filters that prune row groups by their
    statistics (timestamp, label, exit offset) lose no row."""
    import duckdb
    import fastparquet
    import numpy as np

    frame = pd.read_csv(SAMPLE)
    spread = np.random.default_rng(7).integers(2, 30, len(frame)) * 1e-5
    fxlabel.label_dataframe(frame.assign(spread=spread), target_pips=[10], stop_pips=[5], horizons=[30, 240], spread_column="spread", entry="next_open", weights=True, extras=True, row_group_size=1000, out_dir=tmp_path)
    for key in ("T10_S5_H30", "T10_S5_H240"):
        path = str(tmp_path / f"{key}.parquet")
        full = pq.read_table(path)
        assert pq.ParquetFile(path).metadata.num_row_groups == 8
        uniq = full["long_uniqueness"].to_numpy(zero_copy_only=False)
        nulls = np.isnan(uniq)
        assert 0 < nulls.sum() < 300 and nulls[-1] and not nulls[0]
        assert np.nanmin(uniq) > 0 and np.nanmax(uniq) <= 1
        # The same values (nulls as NaN) through every reader.
        for name, other in {
            "polars": pl.read_parquet(path).to_pandas(),
            "duckdb": duckdb.sql(f"SELECT * FROM read_parquet('{path}')").df(),
            "fastparquet": fastparquet.ParquetFile(path).to_pandas(),
        }.items():
            assert list(other.columns) == full.column_names, name
            for col in ("long_uniqueness", "short_uniqueness", "short_mfe_pips", "long_return_pips"):
                got = other[col].to_numpy(dtype="float64", na_value=np.nan)
                want = full[col].to_numpy(zero_copy_only=False).astype("float64")
                np.testing.assert_array_equal(got, want, err_msg=f"{name} {col}")
        # Filters on columns with min/max statistics, row groups pruned.
        ts = full["timestamp"].cast(pa.int64()).to_numpy()
        cut = pd.Timestamp(int(ts[4500]), unit="ms", tz="UTC")
        labels = full["long_label"].to_numpy(zero_copy_only=False)
        exits = full["long_exit_offset"].to_numpy(zero_copy_only=False)
        want = int(((ts >= ts[4500]) & (labels == 1)).sum())
        assert 0 < want
        got = pq.read_table(path, filters=[("timestamp", ">=", cut), ("long_label", "=", 1)]).num_rows
        assert got == want
        assert pl.scan_parquet(path).filter((pl.col("timestamp") >= cut) & (pl.col("long_label") == 1)).collect().height == want
        sql = f"SELECT count(*) FROM read_parquet('{path}') WHERE timestamp >= epoch_ms({int(ts[4500])}) AND long_label = 1"
        assert duckdb.sql(sql).fetchall()[0][0] == want
        kept = fastparquet.ParquetFile(path).to_pandas(filters=[("long_exit_offset", ">", 20)])
        assert int((kept["long_exit_offset"] > 20).sum()) == int((np.nan_to_num(exits, nan=0) > 20).sum())


def test_python_m_fxlabel_is_the_cli(tmp_path, reference):
    run = lambda *args: subprocess.run([sys.executable, "-m", "fxlabel", *map(str, args)], capture_output=True, text=True)
    r = run("label", SAMPLE, "--out", tmp_path, "-q", *FLAGS)
    assert r.returncode == 0, r.stderr
    assert files(tmp_path) == reference
    bad = run("label", SAMPLE, "--out", tmp_path / "x", "--pip=-1")
    assert bad.returncode == 2 and "invalid parameter '--pip'" in bad.stderr
