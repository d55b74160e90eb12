"""Reads fxlabel output with pyarrow, an independent reader, and checks it
against the label contract (shared LABELS.md). Called by native.test.mjs.

usage:
  pyarrow_check.py check DIR --rows N [--sides long,short] [--extras] [--compare OTHER_DIR]
      every *.parquet / *.arrow file of DIR: schema, types, row count,
      metadata, per-row rules; with --compare, equal tables in OTHER_DIR.
  pyarrow_check.py candles CSV PARQUET
      writes the candles of CSV as Parquet with a timestamp[us, UTC] column
      (the contract accepts any unit), for the Parquet-input tests.
Prints a JSON summary; exits 1 with the reason on the first failure.
"""
import argparse
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq


def fail(msg):
    print(f"pyarrow_check: {msg}", file=sys.stderr)
    sys.exit(1)


def all_true(mask):
    # pc.all of an empty selection is null/True: nothing to contradict.
    return pc.all(mask).as_py() is not False


def read(path):
    if path.endswith(".parquet"):
        return pq.read_table(path)
    with pa.memory_map(path) as src:
        return ipc.open_file(src).read_all()


def expected_schema(sides, extras):
    fields = [("timestamp", pa.timestamp("ms", tz="UTC"))]
    for s in sides:
        fields += [(f"{s}_label", pa.int8()), (f"{s}_exit_offset", pa.uint32()),
                   (f"{s}_return_pips", pa.float32()), (f"{s}_ambiguous", pa.bool_())]
        if extras:
            fields += [(f"{s}_mfe_pips", pa.float32()), (f"{s}_mae_pips", pa.float32())]
    return fields


def check_file(path, rows, sides, extras):
    name = os.path.basename(path)
    t = read(path)
    got = [(f.name, f.type) for f in t.schema]
    want = expected_schema(sides, extras)
    if got != want:
        fail(f"{name}: schema {got} != {want}")
    if t.num_rows != rows:
        fail(f"{name}: {t.num_rows} rows, expected {rows}")
    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    key = name.rsplit(".", 1)[0]
    if meta.get("fxlabel.key") != key:
        fail(f"{name}: metadata fxlabel.key is {meta.get('fxlabel.key')!r}")
    cfg = json.loads(meta["fxlabel.config"])
    target, stop = cfg["target_pips"], cfg["stop_pips"]
    ts = t["timestamp"].cast(pa.int64()).combine_chunks()
    if len(ts) > 1 and pc.any(pc.less_equal(ts[1:], ts[:-1])).as_py():
        fail(f"{name}: timestamps not strictly increasing")
    for s in sides:
        lab = t[f"{s}_label"]
        ret = t[f"{s}_return_pips"]
        known = pc.is_valid(lab)
        if not all_true(pc.is_in(lab.drop_null(), value_set=pa.array([-1, 0, 1], pa.int8()))):
            fail(f"{name}: {s}_label outside {{-1, 0, 1}}")
        # Per-side values are null exactly when the label is.
        cols = [f"{s}_exit_offset", f"{s}_return_pips", f"{s}_ambiguous"] + ([f"{s}_mfe_pips", f"{s}_mae_pips"] if extras else [])
        for c in cols:
            if not all_true(pc.equal(pc.is_valid(t[c]), known)):
                fail(f"{name}: {c} is null where {s}_label is not, or the reverse")
        hit = pc.equal(lab, 1)
        if not all_true(pc.equal(pc.filter(ret, hit), pa.scalar(target, pa.float32()))):
            fail(f"{name}: {s}_return_pips != +{target} where {s}_label is 1")
        stopped = pc.equal(lab, -1)
        if not all_true(pc.equal(pc.filter(ret, stopped), pa.scalar(-stop, pa.float32()))):
            fail(f"{name}: {s}_return_pips != -{stop} where {s}_label is -1")
        amb = pc.filter(t[f"{s}_ambiguous"], pc.equal(lab, 0))
        if pc.any(amb).as_py():
            fail(f"{name}: {s}_ambiguous is true on a timeout")
        if extras:
            for c in (f"{s}_mfe_pips", f"{s}_mae_pips"):
                if pc.any(pc.less(t[c], 0)).as_py():
                    fail(f"{name}: {c} is negative")
    return t


def check(args):
    sides = args.sides.split(",")
    names = sorted(n for n in os.listdir(args.dir) if n.endswith((".parquet", ".arrow")) and not n.startswith("."))
    if not names:
        fail(f"no label files in {args.dir}")
    compared = 0
    for n in names:
        t = check_file(os.path.join(args.dir, n), args.rows, sides, args.extras)
        if args.compare:
            other = os.path.join(args.compare, n)
            if not os.path.exists(other):
                fail(f"{n} is missing in {args.compare}")
            if not t.equals(read(other), check_metadata=True):
                fail(f"{n}: the table differs from {other}")
            compared += 1
    if args.compare:
        extra = set(os.listdir(args.compare)) - set(os.listdir(args.dir))
        if any(x.endswith((".parquet", ".arrow")) for x in extra):
            fail(f"{args.compare} has files {sorted(extra)} that {args.dir} lacks")
    print(json.dumps({"files": len(names), "rows": args.rows, "compared": compared, "pyarrow": pa.__version__}))


def candles(args):
    t = pacsv.read_csv(args.csv)
    ts = pc.cast(t["timestamp"], pa.int64())
    us = pc.cast(pc.multiply(ts, 1000), pa.timestamp("us", tz="UTC"))
    t = t.set_column(t.schema.get_field_index("timestamp"), "timestamp", us)
    pq.write_table(t, args.parquet, row_group_size=3000)  # several row groups
    print(json.dumps({"rows": t.num_rows, "schema": str(t.schema.field("timestamp").type)}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("--rows", type=int, required=True)
    c.add_argument("--sides", default="long,short")
    c.add_argument("--extras", action="store_true")
    c.add_argument("--compare")
    w = sub.add_parser("candles")
    w.add_argument("csv")
    w.add_argument("parquet")
    args = ap.parse_args()
    check(args) if args.cmd == "check" else candles(args)


if __name__ == "__main__":
    main()
