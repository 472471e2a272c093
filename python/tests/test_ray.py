"""Runs on a real local Ray cluster of two processes on loopback (a head and a worker node, each
with one CPU): the distributed simulation equals the one-machine simulation bit for bit, also when
a task's worker dies and Ray retries it; a sweep returns each scenario's run in order; a snapshot
survives pickling unchanged."""

import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import cascade
import cascade.distributed as cd

ROOT = Path(__file__).resolve().parents[2]
WORKED = ROOT / "examples" / "worked"
RAY = str(Path(sys.executable).with_name("ray"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ray = pytest.importorskip("ray")
    port = free_port()
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    env[cd.FAULT_ONCE_ENV] = str(tmp_path_factory.mktemp("fault") / "failed-once")
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    subprocess.run(
        [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
        check=True, env=env, capture_output=True,
    )
    try:
        subprocess.run([RAY, "start", f"--address=127.0.0.1:{port}", *common], check=True, env=env, capture_output=True)
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        yield env[cd.FAULT_ONCE_ENV]
        ray.shutdown()
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True)


def test_shard_bounds():
    assert cd.shard_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert cd.shard_bounds(2, 5) == [(0, 1), (1, 2)]
    with pytest.raises(ValueError):
        cd.shard_bounds(0, 1)


def test_a_snapshot_survives_pickling():
    for s in (cascade.builtin(), cascade.load(WORKED / "snapshot.toml")):
        back = pickle.loads(pickle.dumps(s))
        assert repr(back) == repr(s)
        assert back.stress("eth-crash" if s.name == "builtin" else str(WORKED / "scenario.toml")).to_json() == s.stress(
            "eth-crash" if s.name == "builtin" else str(WORKED / "scenario.toml")
        ).to_json()
        assert back.simulate(paths=50, seed=2).to_json() == s.simulate(paths=50, seed=2).to_json()


def test_distributed_simulation_is_the_one_machine_simulation(cluster):
    s = cascade.builtin()
    spec = dict(seed=5, horizon_days=3, dist="t", dof=4)
    one = s.simulate(paths=240, **spec)
    assert not Path(cluster).exists()
    # Four shards over the two nodes; the first task to start dies once (its worker exits) and Ray
    # runs it again.
    many = cd.simulate(s, paths=240, shards=4, **spec)
    assert Path(cluster).exists(), "no task was made to fail"
    assert many.to_json() == one.to_json()
    # And the CLI's own document, when the binary is built.
    exe = os.environ.get("CASCADE_BIN") or shutil.which("cascade")
    if exe and Path(exe).is_file():
        out = subprocess.run(
            [exe, "simulate", "--paths", "240", "--seed", "5", "--horizon-days", "3", "--dist", "t", "--dof", "4", "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
        assert many.metrics == json.loads(out)
    # From a path, with the cluster's CPU count as the shard count.
    from_path = cd.simulate(WORKED / "snapshot.toml", paths=64, seed=9)
    assert from_path.to_json() == cascade.load(WORKED / "snapshot.toml").simulate(paths=64, seed=9).to_json()


def test_sweep_returns_each_run_in_order(cluster):
    s = cascade.builtin()
    names = ["usdc-depeg", "eth-crash", "bridge-hack"]
    runs = cd.sweep(s, names)
    assert [r.scenario for r in runs] == names
    for r, n in zip(runs, names):
        assert r.to_json() == s.stress(n).to_json()
    assert list(runs[1].protocols["id"]) == s.protocols


def test_distributed_calibration_is_the_one_machine_calibration(cluster):
    s = cascade.builtin()
    kw = dict(paths=40, seed=3, horizon_days=2, budget=0.002)
    one = s.calibrate("aave-v3", "ETH", **kw)
    assert one is not None and one["protocol"] == "aave-v3" and one["asset"] == "ETH"
    assert cd.calibrate(s, "aave-v3", "ETH", shards=3, **kw) == one
