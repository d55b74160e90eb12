"""label_many on a real Dask LocalCluster (2 worker processes, 3
instruments): the same bytes as single-machine runs, a worker killed
mid-run changes nothing in the result, and a second call writes nothing."""

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

import fxlabel  # noqa: E402
from fxlabel.distributed import label_many  # noqa: E402

from test_api import native_cli  # noqa: E402

GRID = dict(target_pips=[5, 10], stop_pips=[5, 10], horizons=[30, 240])


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


@pytest.fixture(scope="module")
def instruments(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    out = {}
    for seed, name in enumerate(["EURUSD", "GBPUSD", "AUDUSD"], start=1):
        path = d / f"{name}.parquet"
        subprocess.run([native_cli(), "synth", "300000", path, "--seed", str(seed)], check=True)
        out[name] = str(path)
    return out


@pytest.fixture(scope="module")
def single(instruments, tmp_path_factory):
    d = tmp_path_factory.mktemp("single")
    for name, path in instruments.items():
        fxlabel.label_dataframe(path, **GRID, out_dir=d / name)
    return {name: files(d / name) for name in instruments}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_a_cluster_writes_the_single_machine_bytes_and_survives_a_killed_worker(instruments, single, client, tmp_path):
    pids = list(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_one(done, total, key):
        # Mid-run: tasks are in flight on both workers.
        if done == 2 and not killed.is_set():
            killed.set()
            os.kill(pids[0], signal.SIGKILL)

    summary = label_many(instruments, out_dir=tmp_path, client=client, batch_size=1, progress_callback=kill_one, **GRID)
    assert killed.is_set()
    for name in instruments:
        assert files(tmp_path / name) == single[name], name
        assert len(summary[name]["written"]) == 8 and summary[name]["skipped"] == []
    leftovers = [p for p in tmp_path.rglob(".*")]
    assert leftovers == [], "no temporary file or lock is left"

    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")}
    again = label_many(instruments, out_dir=tmp_path, client=client, **GRID)
    assert all(s["written"] == [] and len(s["skipped"]) == 8 for s in again.values())
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")} == before


def test_a_mismatch_stops_the_call_before_any_task(instruments, client, tmp_path):
    label_many({"EURUSD": instruments["EURUSD"]}, out_dir=tmp_path, client=client, **GRID)
    snapshot = files(tmp_path / "EURUSD")
    # EURUSD last: the other two are planned (their folders made and
    # locked) before it is refused.
    order = {k: instruments[k] for k in ["GBPUSD", "AUDUSD", "EURUSD"]}
    with pytest.raises(fxlabel.MismatchError, match="tie differs"):
        label_many(order, out_dir=tmp_path, client=client, tie="target", **GRID)
    assert files(tmp_path / "EURUSD") == snapshot
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EURUSD"], "the folders planned before the refusal are released and removed"
