"""Labeling many instruments on a Dask cluster.

::

    from fxlabel.distributed import label_many
    summary = label_many({"EURUSD": "data/EURUSD.parquet", "USDJPY": "data/USDJPY.parquet"},
                         out_dir="labels", client=client, target_pips=[5, 10], pip_value=...)

Each instrument goes to ``out_dir/{name}/`` with the files a single-machine
run writes, byte for byte. The driver plans each instrument's run with the
core (it takes the folder's lock, checks the files already there, removes
stale temporary ones) and holds the folders until every task is done;
tasks, one per (instrument, batch of configs), write only the configs they
are given, each under a temporary name, flushed, then renamed, under the
driver's lock. A task that Dask retries after its worker died rewrites its
configs from scratch; a second call finds every file and writes nothing.

Inputs and ``out_dir`` must be on storage every worker sees under the same
path (a shared filesystem). Object storage would need a store whose rename
is atomic and a lock the workers can check (a conditional write): the
protocol's steps (``src/run/task.rs``) are the list of what it must offer.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

from . import _fxlabel

__all__ = ["label_many"]


def _commit(source: str, out_dir: str, options: Dict[str, Any], keys: Sequence[str], owner: str) -> Dict[str, int]:
    """One task: label and write `keys` of one instrument (on a worker)."""
    sizes = _fxlabel.commit(source, out_dir, options, list(keys), owner)
    return dict(zip(keys, sizes))


def label_many(
    inputs: Mapping[str, Union[str, os.PathLike]],
    out_dir: Union[str, os.PathLike] = "labels",
    client: Any = None,
    *,
    batch_size: Optional[int] = None,
    overwrite: bool = False,
    progress_callback: Optional[Callable[[int, int, str], Any]] = None,
    **options: Any,
) -> Dict[str, Dict[str, Any]]:
    """Labels every instrument of ``inputs`` (name -> path of a Parquet or
    CSV file) into ``out_dir/{name}/``, on ``client`` (a
    ``distributed.Client``; ``None`` starts a ``LocalCluster``).

    ``options`` are those of :func:`fxlabel.label_dataframe` (``target_pips``,
    ``stop_pips``, ``horizons``, ``pip_value``, ...). ``batch_size``: configs
    per task (default: an instrument's configs split in about twice as many
    tasks as the cluster has threads). ``progress_callback(done, total,
    key)`` runs on the driver as tasks finish, ``key`` being
    ``"{name}/{config}"``.

    Returns ``{name: {"written": [keys], "skipped": [keys], "bytes": n}}``.
    A bad input or option, or a file made otherwise, raises before any task
    is submitted, with nothing changed.
    """
    from distributed import Client, LocalCluster, as_completed

    own = client is None
    if own:
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True))
    options = {k: v for k, v in options.items() if v is not None}
    out_dir = os.fspath(out_dir)
    planned: Dict[str, Any] = {}
    try:
        # Every instrument is planned (and its folder held) first: a refused
        # one stops the call before anything is written.
        for name, source in inputs.items():
            planned[name] = _fxlabel.plan(os.fspath(source), os.path.join(out_dir, name), options, overwrite)
        threads = max(1, sum(client.nthreads().values()))
        futures = {}
        total = sum(len(p.todo) for p in planned.values())
        for name, p in planned.items():
            todo = p.todo
            size = batch_size or max(1, -(-len(todo) * len(planned) // (2 * threads)))
            for i in range(0, len(todo), size):
                keys = todo[i : i + size]
                f = client.submit(
                    _commit,
                    os.fspath(inputs[name]),
                    os.path.join(out_dir, name),
                    options,
                    keys,
                    p.owner,
                    pure=False,
                    key=f"fxlabel-{name}-{i}-{os.getpid()}-{id(p)}",
                )
                futures[f] = name
        summary = {name: {"written": [], "skipped": list(p.skipped), "bytes": 0} for name, p in planned.items()}
        done = 0
        for f in as_completed(list(futures)):
            name = futures[f]
            try:
                result = f.result()
            except BaseException:
                # No more configs are started; the folders are released
                # below, so a task still in flight fails its lock check
                # and removes its temporary file instead of renaming it.
                client.cancel(list(futures))
                raise
            for key, size in result.items():
                summary[name]["written"].append(key)
                summary[name]["bytes"] += size
                done += 1
                if progress_callback is not None:
                    progress_callback(done, total, f"{name}/{key}")
        for name, p in planned.items():
            order = {k: i for i, k in enumerate(p.todo)}
            summary[name]["written"].sort(key=order.__getitem__)
        return summary
    finally:
        for p in planned.values():
            p.release()
        if own:
            cluster = client.cluster
            client.close()
            cluster.close()
