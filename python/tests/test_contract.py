"""Every row against a second, independent reading of the label contract
(docs/contract.md, version 2 included): a literal forward walk in plain
Python, written from the contract's text and not from the core, on random
candles with gaps, ties, JPY prices, fractional pips and spread columns,
over every setting (both entries, both units, both ties, extras, weights).
The Rust tests check the core against their own naive walk; this one is
the same question asked by another implementation in another language."""

from __future__ import annotations

import math
import random
import struct

import pyarrow as pa
import pytest

import fxlabel

MINUTE = 60_000


def f32(x: float) -> float:
    """x rounded to float32, as the files store it."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def candles(rng: random.Random, n: int, jpy: bool, spread: bool) -> dict:
    """Random candles on a tick grid (so that bars touch barriers exactly
    and tie), with gaps of minutes and of days."""
    tick = 0.001 if jpy else 0.00001
    price = 150.0 if jpy else 1.1
    ts, o, h, l, c, s = [], [], [], [], [], []
    t = 1_700_000_000_000
    for _ in range(n):
        t += MINUTE * rng.choice([1, 1, 1, 1, 2, 3, 1 + 60 * 48])
        op = price
        moves = [op + tick * rng.randint(-12, 12) for _ in range(2)]
        cl = op + tick * rng.randint(-8, 8)
        hi = max([op, cl] + moves)
        lo = min([op, cl] + moves)
        ts.append(t)
        o.append(op), h.append(hi), l.append(lo), c.append(cl)
        s.append(tick * rng.choice([0, 0, 1, 3, 7, 15]))
        price = cl
    cols = {"timestamp": ts, "open": o, "high": h, "low": l, "close": c}
    if spread:
        cols["spread"] = s
    return cols


def reference(cols: dict, T: float, S: float, H: int, o: dict, side: str) -> list:
    """The contract, read literally: one dict per row (None: unknown)."""
    ts, op, hi, lo, cl = (cols[k] for k in ("timestamp", "open", "high", "low", "close"))
    n, last = len(ts), len(ts) - 1
    p = o["pip_value"]
    if o.get("spread_column"):
        sp = cols[o["spread_column"]]
    else:
        sp = [o.get("spread_pips", 0.0) * p] * n
    next_open = o.get("entry") == "next_open"
    minutes = o.get("horizon_unit", "minutes") == "minutes"
    rows = []
    for i in range(n):
        if next_open:
            if i == last:
                rows.append(None)
                continue
            k, b = i + 1, op[i + 1]
            window = [j for j in range(k, n) if (ts[j] <= ts[k] + H * MINUTE if minutes else j <= k + H)]
            complete = ts[last] >= ts[k] + H * MINUTE if minutes else k + H <= last
        else:
            k, b = i, cl[i]
            window = [j for j in range(i + 1, n) if (ts[j] <= ts[i] + H * MINUTE if minutes else j <= i + H)]
            complete = ts[last] >= ts[i] + H * MINUTE if minutes else i + H <= last
        if side == "long":
            e = b + sp[k]
            fav = lambda j: (hi[j] - e) / p
            adv = lambda j: (e - lo[j]) / p
            timeout = lambda x: (cl[x] - e) / p
        else:
            e = b
            fav = lambda j: (e - (lo[j] + sp[j])) / p
            adv = lambda j: ((hi[j] + sp[j]) - e) / p
            timeout = lambda x: (e - (cl[x] + sp[x])) / p
        exit_bar, label, amb = None, None, False
        for j in window:
            t_hit, s_hit = fav(j) >= T - 1e-6, adv(j) >= S - 1e-6
            if t_hit or s_hit:
                exit_bar, amb = j, t_hit and s_hit
                label = (1 if o.get("tie", "stop") == "target" else -1) if amb else (1 if t_hit else -1)
                break
        if exit_bar is None:
            if not complete:
                rows.append(None)
                continue
            exit_bar, label = (window[-1] if window else i), 0
        ret = {1: T, -1: -S}.get(label)
        if ret is None:
            ret = timeout(exit_bar)
        seen = [j for j in window if j <= exit_bar]
        rows.append(
            {
                "label": label,
                "exit_offset": exit_bar - i,
                "return_pips": f32(ret),
                "ambiguous": amb,
                "mfe_pips": f32(max([0.0] + [fav(j) for j in seen])),
                "mae_pips": f32(max([0.0] + [adv(j) for j in seen])),
            }
        )
    # Average uniqueness over the spans (i, exit].
    conc = [0] * (n + 1)
    for i, r in enumerate(rows):
        if r is not None:
            for t in range(i + 1, i + r["exit_offset"] + 1):
                conc[t] += 1
    for i, r in enumerate(rows):
        if r is not None:
            span = range(i + 1, i + r["exit_offset"] + 1)
            r["uniqueness"] = sum(1 / conc[t] for t in span) / len(span) if len(span) else 1.0
    return rows


CASES = int(__import__("os").environ.get("FXLABEL_CONTRACT_CASES", 60))


@pytest.mark.parametrize("seed", range(CASES))
def test_every_row_follows_the_contract(seed, tmp_path):
    rng = random.Random(seed)
    jpy = rng.random() < 0.3
    use_column = rng.random() < 0.4
    cols = candles(rng, rng.randint(2, 160), jpy, use_column)
    o = {
        "pip_value": 0.01 if jpy else 0.0001,
        "horizon_unit": rng.choice(["minutes", "bars"]),
        "tie": rng.choice(["stop", "target"]),
        "entry": rng.choice(["close", "next_open"]),
        "extras": rng.random() < 0.5,
        "weights": rng.random() < 0.7,
        "sides": rng.choice([["long", "short"], ["long", "short"], ["long"], ["short"]]),
    }
    if use_column:
        o["spread_column"] = "spread"
    elif rng.random() < 0.5:
        o["spread_pips"] = rng.choice([0.3, 1.5, 2.0])
    grid = {
        "target_pips": sorted({rng.choice([0.5, 1, 2.5, 5, 7.3, 10]) for _ in range(2)}),
        "stop_pips": sorted({rng.choice([0.5, 1, 2, 5, 8]) for _ in range(2)}),
        "horizons": sorted({rng.choice([1, 2, 3, 5, 15, 30]) for _ in range(2)}),
    }
    table = pa.table(cols)
    paths = fxlabel.label_dataframe(table, **grid, **o, out_dir=tmp_path, row_group_size=rng.choice([7, 64, 1 << 16]))
    assert len(paths) == len(grid["target_pips"]) * len(grid["stop_pips"]) * len(grid["horizons"])
    for T in grid["target_pips"]:
        for S in grid["stop_pips"]:
            for H in grid["horizons"]:
                key = f"T{T:g}_S{S:g}_H{H}"
                got = fxlabel.load_label_results(key, out_dir=tmp_path, as_="pyarrow").to_pylist()
                assert len(got) == len(cols["timestamp"])
                for side in ("long", "short"):
                    if side not in o["sides"]:
                        assert not any(c.startswith(side) for c in got[0]), key
                        continue
                    want = reference(cols, T, S, H, o, side)
                    for i, (g, w) in enumerate(zip(got, want)):
                        where = f"{key} {side} row {i} ({o})"
                        if w is None:
                            assert g[f"{side}_label"] is None, where
                            assert all(g[c] is None for c in g if c.startswith(side)), where
                            continue
                        for c in ("label", "exit_offset", "return_pips", "ambiguous"):
                            assert g[f"{side}_{c}"] == w[c], f"{where}: {c}"
                        if o["extras"]:
                            assert g[f"{side}_mfe_pips"] == w["mfe_pips"], where
                            assert g[f"{side}_mae_pips"] == w["mae_pips"], where
                        if o["weights"]:
                            assert math.isclose(g[f"{side}_uniqueness"], w["uniqueness"], rel_tol=1e-6), where
                        else:
                            assert f"{side}_uniqueness" not in g, where
