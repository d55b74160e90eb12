#!/usr/bin/env python3
"""Bytes per column over a folder of label files, and for the return
column the order-0 entropy bound: the least any per-value encoding
(dictionary, plain, byte-stream-split, then any codec that does not find
repeated sequences) can take, sum over files and sides of n * H(values).

usage: python3 scripts/column-bytes.py DIR   (needs pyarrow)
"""
import collections, glob, math, sys

import pyarrow.compute as pc
import pyarrow.parquet as pq

sizes = collections.Counter()
bound = 0.0
files = sorted(glob.glob(sys.argv[1] + "/*.parquet"))
for f in files:
    pf = pq.ParquetFile(f)
    m = pf.metadata
    for r in range(m.num_row_groups):
        for i in range(m.num_columns):
            c = m.row_group(r).column(i)
            sizes[c.path_in_schema.replace("long_", "").replace("short_", "")] += c.total_compressed_size
    rets = [n for n in pf.schema_arrow.names if n.endswith("_return_pips")]
    for col in pf.read(columns=rets).columns:
        counts = pc.value_counts(col.drop_null()).field("counts").to_pylist()
        n = sum(counts)
        bound += sum(-c * math.log2(c / n) for c in counts) / 8
total = sum(sizes.values())
print(f"{len(files)} files, {total / 1e6:.1f} MB in column chunks")
for name, b in sizes.most_common():
    print(f"  {name:<14} {b / 1e6:9.1f} MB  {100 * b / total:5.1f}%")
print(f"return_pips order-0 entropy bound: {bound / 1e6:.1f} MB (written: {sizes['return_pips'] / 1e6:.1f} MB)")
