"""The Python peers of `cascade bench`, measured on the same machine in the same run.

Usage: run_peers.py DIR [--runs N] > peers.json

DIR is the folder `cascade bench --emit DIR` wrote: the generated system (snapshot.toml,
positions.parquet), lending.json (prices and pool parameters of the scan) and the reference inputs
and outputs as .npy files. Every peer first checks that it reproduces cascade's numbers (to 1e-9)
and its time counts only if it does.

Peers:
- QuantLib's Python API (BlackCalculator): Black-76 value, delta, gamma, vega, theta per option.
- numpy, the fictitious default algorithm for Eisenberg-Noe (a linear solve per default round).
- numpy health-factor scan and one-round liquidation (first call per account, docs/lending.md#liquidation-call)
  over the same Parquet file, read with pyarrow.
- pyarrow's read of that Parquet file (decoding only) beside cascade's snapshot load.
"""

import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow
import pyarrow.parquet as pq

TOLERANCE = 1e-9
QUANTLIB_OPTIONS = 20_000


def median_time(fn, runs):
    """Runs fn `runs` times; returns (median seconds, last output)."""
    times, out = [], None
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return med, out


def scaled_diff(got, want):
    """max |got - want| / max(1, |want|), with equal infinities counting as 0."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    both_inf = np.isinf(got) & np.isinf(want) & (np.sign(got) == np.sign(want))
    d = np.where(both_inf, 0.0, np.abs(got - want) / np.maximum(1.0, np.abs(want)))
    d = np.where(np.isnan(d), np.inf, d)
    return float(d.max()) if d.size else 0.0


def relative_diff(got, want):
    """max |got - want| / |want| (equal infinities count as 0)."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    both_inf = np.isinf(got) & np.isinf(want)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(both_inf, 0.0, np.abs(got - want) / np.abs(want))
    d = np.where(np.isnan(d), np.inf, d)
    return float(d.max()) if d.size else 0.0


def peer(name, workload, items, unit, runs, median_s, max_diff, check, note="", target_ratio=None):
    return {
        "name": name,
        "workload": workload,
        "items": float(items),
        "unit": unit,
        "runs": runs,
        "median_s": median_s,
        "max_diff": max_diff,
        "tolerance": TOLERANCE,
        "check": check,
        "agrees": bool(max_diff <= TOLERANCE),
        "note": note,
        "target_ratio": target_ratio,
    }


def quantlib_black76(d, runs):
    import QuantLib as ql

    col = {k: np.load(d / f"black76_{k}.npy") for k in
           ["kind", "spot", "strike", "rate", "vol", "t_years", "price", "delta", "gamma", "vega", "theta"]}
    m = min(QUANTLIB_OPTIONS, len(col["kind"]))
    kind = col["kind"][:m].tolist()
    spot, strike = col["spot"][:m].tolist(), col["strike"][:m].tolist()
    rate, vol, t = col["rate"][:m].tolist(), col["vol"][:m].tolist(), col["t_years"][:m].tolist()
    call, put = ql.Option.Call, ql.Option.Put

    def run():
        out = np.empty((m, 5))
        for i in range(m):
            s, T = spot[i], t[i]
            disc = math.exp(-rate[i] * T)
            payoff = ql.PlainVanillaPayoff(call if kind[i] > 0 else put, strike[i])
            c = ql.BlackCalculator(payoff, s / disc, vol[i] * math.sqrt(T), disc)
            out[i] = (c.value(), c.delta(s), c.gamma(s), c.vega(T), c.theta(s, T))
        return out

    med, out = median_time(run, runs)
    want = np.column_stack([col[k][:m] for k in ["price", "delta", "gamma", "vega", "theta"]])
    return peer(
        "QuantLib BlackCalculator (Python API)", "black76", m, "options", runs, med,
        scaled_diff(out, want), "value, delta, gamma, vega, theta; |diff| / max(1, |cascade|)",
        note=f"the first {m:,} of cascade's options, one BlackCalculator each (forward S·e^(rT), "
             "std dev σ√T, discount e^(-rT)); theta per year",
        target_ratio=10.0)


def numpy_eisenberg_noe(d, runs):
    L = np.load(d / "en_dense_liabilities.npy")
    e = np.load(d / "en_dense_external_assets.npy")
    x = np.load(d / "en_dense_external_liabilities.npy")
    want = np.load(d / "en_dense_payments.npy")
    n = len(e)

    def run():
        pbar = L.sum(axis=1) + x
        with np.errstate(divide="ignore", invalid="ignore"):
            pi = np.where(pbar[:, None] > 0, L / pbar[:, None], 0.0)
        pit = np.ascontiguousarray(pi.T)
        p = pbar.copy()
        defaulted = np.zeros(n, dtype=bool)
        while True:
            value = e + pit @ p
            now = defaulted | (value < pbar * (1.0 - 1e-12))
            if now.sum() == defaulted.sum():
                return p
            defaulted = now
            dd = np.flatnonzero(defaulted)
            ok = np.flatnonzero(~defaulted)
            # p_D = e_D + Pi_DD^T p_D + Pi_{ok,D}^T pbar_ok
            a = np.eye(len(dd)) - pit[np.ix_(dd, dd)]
            b = e[dd] + pit[np.ix_(dd, ok)] @ pbar[ok]
            p = pbar.copy()
            p[dd] = np.maximum(np.linalg.solve(a, b), 0.0)

    med, p = median_time(run, runs)
    pbar = L.sum(axis=1) + x
    diff = float(np.max(np.abs(p - want) / np.maximum(pbar, 1e-300)))
    return peer("numpy, fictitious default (dense linear solve per round)", "en_dense", 1, "clearings",
                runs, med, diff, "clearing vector, |diff| / p̄",
                note=f"n = {n:,}; numpy's BLAS/LAPACK may use every core", target_ratio=20.0)


def load_positions(d, runs):
    path = d / "positions.parquet"
    cols = ["protocol", "account", "asset", "side", "amount", "emode"]

    def read():
        return pq.read_table(path, columns=cols,
                             read_dictionary=["protocol", "account", "asset", "side", "emode"])

    med, table = median_time(read, runs)
    return med, table


def codes(table, name):
    """Dictionary indices (-1 for null) and the dictionary of a column, as numpy / list."""
    col = table.column(name).combine_chunks()
    if not pyarrow.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    idx = col.indices.to_numpy(zero_copy_only=False)
    idx = np.where(np.asarray(col.is_null().to_numpy(zero_copy_only=False)), -1, idx).astype(np.int64)
    return idx, col.dictionary.to_pylist()


def prepare_lending(d, table):
    """Per-row arrays for the scan (untimed: cascade builds its columns untimed too)."""
    lend = json.loads((d / "lending.json").read_text())
    assets = list(lend["prices"].keys())
    # An asset without a price (none of the scan's accounts holds it) comes as null.
    prices = np.array([np.nan if lend["prices"][a] is None else lend["prices"][a] for a in assets],
                      dtype=float)
    a_idx = {a: i for i, a in enumerate(assets)}
    p_code, p_dict = codes(table, "protocol")
    acc_code, acc_dict = codes(table, "account")
    as_code, as_dict = codes(table, "asset")
    side_code, side_dict = codes(table, "side")
    em_code, em_dict = codes(table, "emode")
    amount = table.column("amount").to_numpy().astype(float)
    asset = np.array([a_idx[a] for a in as_dict])[as_code]
    is_debt = np.array([s == "debt" for s in side_dict])[side_code]
    protos = {p["id"]: p for p in lend["protocols"]}
    n_rows = len(amount)
    lt = np.zeros(n_rows)
    lb = np.zeros(n_rows)
    cf = np.zeros(n_rows)
    full_below = np.zeros(n_rows)
    full_cf = np.zeros(n_rows)
    for pc, pid in enumerate(p_dict):
        p = protos[pid]
        if any(r["isolated"] for r in p["reserves"].values()):
            raise SystemExit(f"{pid}: isolation mode is not modelled by this peer")
        rows = p_code == pc
        lt_a = np.zeros(len(assets))
        lb_a = np.zeros(len(assets))
        for a, r in p["reserves"].items():
            lt_a[a_idx[a]], lb_a[a_idx[a]] = r["lt"], r["lb"]
        lt[rows], lb[rows] = lt_a[asset[rows]], lb_a[asset[rows]]
        cf[rows], full_below[rows], full_cf[rows] = p["close_factor"], p["full_below_hf"], p["full_close_factor"]
        for ec, eid in enumerate(em_dict):
            if eid not in p["emode"]:
                continue
            c = p["emode"][eid]
            in_cat = np.isin(asset, [a_idx[a] for a in c["assets"]])
            sel = rows & (em_code == ec) & in_cat & ~is_debt
            lt[sel], lb[sel] = c["lt"], c["lb"]
    # Accounts: (protocol, account), numbered in order of first appearance (the loader's order).
    key = p_code * (len(acc_dict) + 1) + acc_code
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    group = rank[inv]
    weighted = np.where(is_debt, -amount, amount * lt)
    return dict(prices=prices, asset=asset, group=group, n=len(first), amount=amount, lt=lt, lb=lb,
                is_debt=is_debt, weighted=weighted, cf=cf, full_below=full_below, full_cf=full_cf)


def hf_scan(r):
    v = r["weighted"] * r["prices"][r["asset"]]
    coll = np.bincount(r["group"], weights=np.maximum(v, 0.0), minlength=r["n"])
    debt = np.bincount(r["group"], weights=np.maximum(-v, 0.0), minlength=r["n"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(debt > 0, coll / debt, np.inf)


def first_of_groups(group, value, mask, n):
    """Per group, the row of the largest `value` among rows where `mask` (first such row on ties);
    -1 where none."""
    rows = np.flatnonzero(mask)
    order = np.lexsort((rows, -value[rows], group[rows]))
    srt = rows[order]
    g = group[srt]
    head = np.ones(len(srt), dtype=bool)
    head[1:] = g[1:] != g[:-1]
    best = np.full(n, -1, dtype=np.int64)
    best[g[head]] = srt[head]
    return best


def first_calls(r):
    """docs/lending.md#liquidation-call first liquidation call of each account: largest debt, largest collateral."""
    p = r["prices"][r["asset"]]
    value = r["amount"] * p
    n = r["n"]
    hf = hf_scan(r)
    j = first_of_groups(r["group"], value, r["is_debt"] & (r["amount"] > 0), n)
    i = first_of_groups(r["group"], value,
                        ~r["is_debt"] & (r["lt"] > 0) & (r["amount"] > 0) & (p > 0), n)
    live = (hf < 1.0) & (j >= 0) & (i >= 0)
    acc = np.flatnonzero(live)
    jj, ii = j[acc], i[acc]
    cf = np.where(hf[acc] >= r["full_below"][jj], r["cf"][jj], r["full_cf"][jj])
    pj, pi_, lb = p[jj], p[ii], r["lb"][ii]
    repay = cf * r["amount"][jj]
    seize = repay * pj * (1.0 + lb) / pi_
    capped = seize >= r["amount"][ii]
    seize = np.where(capped, r["amount"][ii], seize)
    repay = np.where(capped, np.minimum(r["amount"][ii] * pi_ / (pj * (1.0 + lb)), r["amount"][jj]), repay)
    repay_usd = np.zeros(n)
    seize_usd = np.zeros(n)
    repay_usd[acc] = repay * pj
    seize_usd[acc] = seize * pi_
    return repay_usd, seize_usd


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    d = Path(args[0])
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 5
    import QuantLib as ql

    peers = []
    print("peers: pyarrow read", file=sys.stderr)
    read_s, table = load_positions(d, runs)
    r = prepare_lending(d, table)
    peers.append(peer("pyarrow read_table of positions.parquet", "snapshot_load", r["n"], "accounts",
                      runs, read_s, 0.0, "row count read",
                      note="decoding only: cascade's load also parses the TOML, validates every row "
                           "and builds the account index, so this ratio is not like for like"))
    print("peers: numpy health scan", file=sys.stderr)
    idx = np.load(d / "health_account_index.npy").astype(np.int64)
    med, hf = median_time(lambda: hf_scan(r), runs)
    want = np.load(d / "health_hf.npy")
    peers.append(peer("numpy health-factor scan (bincount over the Parquet rows)", "health_scan", r["n"],
                      "accounts", runs, med, relative_diff(hf[idx], want), "HF per account, relative"))
    print("peers: numpy one-round liquidation", file=sys.stderr)
    med, (rep, sei) = median_time(lambda: first_calls(r), runs)
    lidx = np.load(d / "liquidation_account_index.npy").astype(np.int64)
    diff = max(scaled_diff(rep[lidx], np.load(d / "liquidation_repay_usd.npy")),
               scaled_diff(sei[lidx], np.load(d / "liquidation_seize_usd.npy")))
    peers.append(peer("numpy one-round liquidation (first call per account)", "liquidation_round", r["n"],
                      "accounts", runs, med, diff, "repaid and seized USD per account, |diff| / max(1, |cascade|)"))
    print("peers: numpy Eisenberg-Noe", file=sys.stderr)
    peers.append(numpy_eisenberg_noe(d, min(runs, 3)))
    print("peers: QuantLib Black-76", file=sys.stderr)
    peers.append(quantlib_black76(d, min(runs, 3)))
    env = (f"Python {platform.python_version()}, numpy {np.__version__}, pyarrow {pyarrow.__version__}, "
           f"QuantLib {ql.__version__} (from PyPI, in a virtual environment made by bench/peers/setup.sh).")
    json.dump({"environment": env, "peers": peers}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
