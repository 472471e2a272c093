"""The Python package against hand-worked figures, the CLI's own output and closed forms.

The worked example (examples/worked/, README "Worked example"): alice holds 10 ETH and owes 17,000
USDC, bob 10 ETH and 15,500 USDC, ETH at $2,000 with a liquidation threshold of 0.825; ETH −5%
liquidates $24,750 of debt in all, $8,500 of it with no shock (alice is already below 1), so the
scenario's own part is $16,250; no bad debt.
"""

import json
import math
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cascade

ROOT = Path(__file__).resolve().parents[2]
WORKED = ROOT / "examples" / "worked"


def cli():
    """The cascade binary, if built (CASCADE_BIN, else target/debug or target/release)."""
    for p in (os.environ.get("CASCADE_BIN"), ROOT / "target/debug/cascade", ROOT / "target/release/cascade"):
        if p and Path(p).is_file():
            return str(p)
    return shutil.which("cascade")


def test_builtin_snapshot():
    s = cascade.builtin()
    assert (len(s.assets), len(s.protocols), s.accounts) == (11, 7, 68)
    assert repr(s) == '<cascade.Snapshot "builtin": 11 assets, 7 protocols, 68 accounts>'
    assert "ETH" in s.assets and "aave-v3" in s.protocols


def test_worked_example_by_hand():
    s = cascade.load(WORKED / "snapshot.toml")
    r = s.stress(WORKED / "scenario.toml", accounts=True)
    assert r.scenario == "eth-minus-5"
    assert r.system["liquidated_debt_usd"] == pytest.approx(24_750, abs=1e-6)
    assert r.system["bad_debt_usd"] == 0
    assert r.baseline["liquidated_debt_usd"] == pytest.approx(8_500, abs=1e-6)
    assert r.incremental["liquidated_debt_usd"] == pytest.approx(16_250, abs=1e-6)
    # Tables: one protocol; rounds 0 (the shock: ETH 1,900) to 3 (the fixed point).
    assert isinstance(r.protocols, pd.DataFrame)
    assert list(r.protocols["id"]) == ["lend"]
    assert r.protocols.loc[0, "liquidated_debt_usd"] == pytest.approx(24_750, abs=1e-6)
    assert list(r.rounds["round"]) == [0, 1, 2, 3]
    assert r.rounds.loc[0, "price.ETH"] == 1_900
    # Round 1 repays alice's 17,000; round 2 half of bob's 15,500.
    assert list(r.rounds["liquidated_debt_usd"].round(6)) == [0, 17_000, 7_750, 0]
    a = r.accounts.set_index("account")
    assert a.loc["alice", "liquidated_debt_usd"] == pytest.approx(17_000, abs=1e-6)
    assert a.loc["bob", "liquidated_debt_usd"] == pytest.approx(7_750, abs=1e-6)
    assert r.trace[0].startswith('round 0: scenario "eth-minus-5"')


def test_same_figures_as_the_cli():
    exe = cli()
    if exe is None:
        pytest.skip("no cascade binary built (cargo build, or CASCADE_BIN)")
    out = subprocess.run(
        [exe, "stress", "--scenario", "eth-crash", "--json"], check=True, capture_output=True, text=True
    ).stdout
    r = cascade.builtin().stress("eth-crash")
    assert json.loads(r.to_json()) == json.loads(out)
    off = subprocess.run(
        [exe, "stress", "--scenario", "usdc-depeg", "--breakers", "off", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(cascade.builtin().stress("usdc-depeg", breakers=False).to_json()) == json.loads(off)


def test_default_scenario_on_the_builtin_system():
    assert cascade.builtin().stress().scenario == "eth-crash"
    with pytest.raises(cascade.InputError, match="scenario: name one"):
        cascade.load(WORKED / "snapshot.toml").stress()


def test_input_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.toml"
    text = (WORKED / "snapshot.toml").read_text().replace("liquidation_threshold = 0.825", "liquidation_threshold = 1.7")
    assert text != (WORKED / "snapshot.toml").read_text()
    bad.write_text(text)
    with pytest.raises(cascade.InputError) as e:
        cascade.load(bad)
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert str(bad) in msg and "liquidation_threshold" in msg
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "liquidation_threshold = 1.7" in l)
    assert f":{line}" in msg
    with pytest.raises(cascade.InputError, match="not a built-in scenario"):
        cascade.builtin().stress("no-such-scenario")


def bs(kind, s, k, r, v, t):
    """Black–Scholes–Merton with carry r (the engine's Black-76 on the forward S·e^{rT}), by hand."""
    n = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    d1 = (math.log(s / k) + (r + v * v / 2) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if kind == "call":
        return s * n(d1) - k * math.exp(-r * t) * n(d2)
    return k * math.exp(-r * t) * n(-d2) - s * n(-d1)


def test_greeks_hull_example_parity_and_closed_form():
    # Hull, Options, Futures and Other Derivatives: S 42, K 40, r 10%, σ 20%, T 0.5.
    g = cascade.greeks([42.0, 42.0], 40.0, 0.10, 0.20, 0.5, ["call", "put"])
    assert g["price"][0] == pytest.approx(4.759_422_392_9, abs=1e-9)
    assert g["price"][1] == pytest.approx(0.808_599_372_9, abs=1e-9)
    rng = random.Random(7)
    rows = [
        (rng.uniform(50, 150), rng.uniform(50, 150), rng.uniform(0, 0.1), rng.uniform(0.05, 1.5), rng.uniform(0.05, 3))
        for _ in range(200)
    ]
    s, k, r, v, t = (np.array(c) for c in zip(*rows))
    call = cascade.greeks(s, k, r, v, t, "call")
    put = cascade.greeks(s, k, r, v, t, "put")
    # Put–call parity: C − P = S − K·e^{−rT}.
    np.testing.assert_allclose(call["price"] - put["price"], s - k * np.exp(-r * t), rtol=0, atol=1e-9)
    for i, row in enumerate(rows):
        assert call["price"][i] == pytest.approx(bs("call", *row), rel=1e-9, abs=1e-9)
        # Delta by central difference of the hand formula.
        h = 1e-4 * row[0]
        up, dn = bs("call", row[0] + h, *row[1:]), bs("call", row[0] - h, *row[1:])
        assert call["delta"][i] == pytest.approx((up - dn) / (2 * h), abs=1e-6)
    # Broadcasting keeps the shape.
    assert cascade.greeks(np.ones((2, 3)) * 100, 100.0, 0.0, 0.2, 1.0)["vega"].shape == (2, 3)


def test_greeks_refuse_inputs_outside_the_domain():
    with pytest.raises(cascade.InputError, match=r"option 1: spot = 0, expected > 0"):
        cascade.greeks([100.0, 0.0], 100.0, 0.0, 0.2, 1.0)
    with pytest.raises(cascade.InputError, match=r"option 0: vol = NaN, expected a finite number"):
        cascade.greeks(100.0, 100.0, 0.0, float("nan"), 1.0)
    with pytest.raises(cascade.InputError, match="kind: 'straddle'"):
        cascade.greeks(100.0, 100.0, 0.0, 0.2, 1.0, "straddle")


def test_simulate_is_the_cli_bit_for_bit():
    exe = cli()
    if exe is None:
        pytest.skip("no cascade binary built (cargo build, or CASCADE_BIN)")
    snap = str(WORKED / "snapshot.toml")
    s = cascade.load(snap)
    for flags, kw in [
        (["--paths", "200", "--seed", "7", "--horizon-days", "7"], dict(paths=200, seed=7, horizon_days=7)),
        (
            ["--paths", "150", "--seed", "3", "--dist", "t", "--dof", "5", "--antithetic", "--jump", "ETH=0.05:-0.2", "--confidence", "0.9,0.99"],
            dict(paths=150, seed=3, dist="t", dof=5, antithetic=True, jumps={"ETH": (0.05, -0.2)}, confidence=(0.9, 0.99)),
        ),
    ]:
        out = subprocess.run([exe, "simulate", "--snapshot", snap, *flags, "--json"], check=True, capture_output=True, text=True).stdout
        r = s.simulate(**kw)
        assert r.metrics == json.loads(out), flags
    # The per-path table agrees with the figures: the mean loss is the mean of the paths' losses.
    r = s.simulate(paths=200, seed=7, horizon_days=7)
    p = r.paths
    assert list(p["path"]) == list(range(200))
    assert p["loss_usd"].mean() == pytest.approx(r.system["mean_loss_usd"], rel=1e-12)
    assert (p["loss_usd"] >= p["bad_debt_usd"]).all()
    assert list(p.columns[-2:]) == ["loss_usd.lend", "log_return.ETH"]


def test_shards_merge_into_the_whole_simulation():
    s = cascade.load(WORKED / "snapshot.toml")
    spec = dict(paths=101, seed=11, horizon_days=3, antithetic=True)
    whole = s.simulate(**spec)
    shards = [s.simulate_shard(a, b, **spec) for a, b in [(60, 101), (0, 1), (1, 60)]]
    assert s.merge_simulation(shards, **spec).to_json() == whole.to_json()
    with pytest.raises(cascade.InputError, match="exactly once"):
        s.merge_simulation(shards[:2], **spec)
    with pytest.raises(cascade.InputError, match="shard 5..200"):
        s.simulate_shard(5, 200, **spec)


def test_simulation_settings_are_checked():
    s = cascade.builtin()
    for kw, msg in [
        (dict(paths=0), "paths: must be at least 1"),
        (dict(dist="cauchy"), 'dist: "cauchy"'),
        (dict(dist="t", dof=2), "dof = 2, expected more than 2"),
        (dict(confidence=(0.5, 1.0)), "confidence: 1 is not a confidence level"),
        (dict(jumps={"DOGE": (0.1, -0.5)}), 'unknown asset "DOGE"'),
    ]:
        with pytest.raises(cascade.InputError, match=msg):
            s.simulate(**kw)


def test_greeks_match_quantlib_on_random_inputs():
    ql = pytest.importorskip("QuantLib")
    rng = np.random.default_rng(20261207)
    n = 1000
    s = rng.uniform(1, 5000, n)
    k = s * rng.uniform(0.5, 1.5, n)
    r = rng.uniform(-0.01, 0.15, n)
    v = rng.uniform(0.01, 2.0, n)
    t = rng.uniform(0.01, 3.0, n)
    kinds = np.where(rng.random(n) < 0.5, "call", "put")
    g = cascade.greeks(s, k, r, v, t, kinds)
    for i in range(n):
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if kinds[i] == "call" else ql.Option.Put, k[i])
        bc = ql.BlackCalculator(payoff, s[i] * math.exp(r[i] * t[i]), v[i] * math.sqrt(t[i]), math.exp(-r[i] * t[i]))
        want = {
            "price": bc.value(),
            "delta": bc.delta(s[i]),
            "gamma": bc.gamma(s[i]),
            "vega": bc.vega(t[i]),
            "theta": bc.theta(s[i], t[i]),
        }
        for name, w in want.items():
            assert abs(g[name][i] - w) <= 1e-9 * max(1.0, abs(w)), (i, name, g[name][i], w)


def test_contagion_is_the_cli_document():
    exe = cli()
    if exe is None:
        pytest.skip("no cascade binary built (cargo build, or CASCADE_BIN)")
    out = subprocess.run([exe, "contagion", "--json"], check=True, capture_output=True, text=True).stdout
    c = cascade.builtin().contagion()
    assert c.report == json.loads(out)
    assert set(c.coefficients.columns) >= {"asset", "protocol", "threshold_drop"}
    assert list(c.debtrank["protocol"]) == cascade.builtin().protocols
    # One row per lending protocol: its accounts' effective number of collateral assets (≥ 1).
    assert list(c.diversification["protocol"]) == ["aave-v3", "compound-v3", "spark"]
    assert (c.diversification["effective_assets"] >= 1.0).all()


def test_clearing_by_hand():
    # A owes B 10, B owes C 10; A holds 5 outside the network, B nothing: A pays its 5, so B can
    # pay only those 5; both default in the first round, C is paid in full of what reaches it.
    names = ["A", "B", "C"]
    L = pd.DataFrame([[0, 10, 0], [0, 0, 10], [0, 0, 0]], index=names, columns=names)
    r = cascade.clearing(L, [5, 0, 0])
    assert r["payments"] == {"A": 5.0, "B": 5.0, "C": 0.0}
    assert r["recovery"]["A"] == 0.5 and r["recovery"]["B"] == 0.5
    assert all(r["payments"][n] <= r["obligations"][n] for n in names)
    # Rogers–Veraart: A realises only 80% of its outside assets once it defaults.
    rv = cascade.clearing(np.array(L), [5, 0, 0], names=names, external_recovery=0.8)
    assert rv["payments"]["A"] == pytest.approx(4.0)
    with pytest.raises(cascade.InputError, match="external_assets: 2 values for 3 nodes"):
        cascade.clearing(L, [5, 0])


def test_debtrank_by_hand():
    # a is exposed 5 to b with equity 2 (impact min(1, 5/2) = 1); b is exposed 3 to a with equity
    # 4 (impact 3/4); weights = equities, total 6. b alone distresses a fully: 2/6. a alone
    # distresses b by 3/4: 4·0.75/6 = 0.5.
    r = cascade.debtrank([[0, 5], [3, 0]], [2, 4], names=["a", "b"])
    assert [(x["node"], x["debtrank"]) for x in r["by_node"]] == [("a", 0.5), ("b", pytest.approx(1 / 3))]
    half = cascade.debtrank([[0, 5], [3, 0]], [2, 4], names=["a", "b"], shocks={"a": 1.0})
    assert half["debtrank"] == pytest.approx(0.5)
    with pytest.raises(cascade.InputError, match="variant"):
        cascade.debtrank([[0, 5], [3, 0]], [2, 4], variant="other")


def test_calibration_is_the_cli_monte_carlo_entry(tmp_path):
    exe = cli()
    if exe is None:
        pytest.skip("no cascade binary built (cargo build, or CASCADE_BIN)")
    out = subprocess.run(
        [exe, "calibrate", "--paths", "30", "--seed", "2", "--json"], check=True, capture_output=True, text=True
    ).stdout
    doc = json.loads(out)
    s = cascade.builtin()
    for entry in doc["monte_carlo"][:2]:
        got = s.calibrate(entry["protocol"], entry["asset"], paths=30, seed=2)
        assert got == entry
    # A shard runner made of local shards gives the same.
    e = doc["monte_carlo"][0]
    three = lambda t: [t.simulate_shard(a, b, paths=30, seed=2, dist="t") for a, b in [(20, 30), (0, 7), (7, 20)]]  # noqa: E731
    assert s.calibrate(e["protocol"], e["asset"], paths=30, seed=2, run=three) == e
    with pytest.raises(cascade.InputError, match='protocol: no "nope"'):
        s.calibrate("nope", "ETH")
