"""Monte Carlo and scenario sweeps on a Ray cluster, with the figures of one machine (docs/python.md).

>>> import ray, cascade, cascade.distributed as cd
>>> ray.init(num_cpus=2, include_dashboard=False)          # doctest: +SKIP
>>> r = cd.simulate("snapshot.toml", paths=10_000, seed=1)   # doctest: +SKIP

A simulation's paths are cut into shards, each run as a Ray task (the snapshot shipped once through
the object store); every path draws from its own random stream (seeded by the seed, stream = path
index), so the merged figures are those of ``cascade simulate`` on one machine, bit for bit. A task
that fails is retried by Ray and gives the same paths again.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple, Union

from . import PathLike, SimulationResult, Snapshot, StressResult, _native, load

__all__ = ["calibrate", "shard_bounds", "simulate", "sweep"]

#: Ray's retries of a failed task (a worker that died, an exception).
MAX_RETRIES = 3

#: For tests of the retries: a file path; the first shard task that finds no file there creates it
#: and kills its worker process, so that Ray runs the task again.
FAULT_ONCE_ENV = "CASCADE_RAY_FAULT_ONCE"


def _maybe_fail_once() -> None:
    marker = os.environ.get(FAULT_ONCE_ENV)
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(1)


def shard_bounds(paths: int, shards: int) -> List[Tuple[int, int]]:
    """``shards`` contiguous ranges covering ``0..paths``, sizes differing by at most one."""
    if paths < 1:
        raise ValueError("paths: must be at least 1")
    shards = max(1, min(int(shards), paths))
    base, extra = divmod(paths, shards)
    out, start = [], 0
    for k in range(shards):
        stop = start + base + (1 if k < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def _snapshot(s: Union[Snapshot, PathLike]) -> Snapshot:
    return s if isinstance(s, Snapshot) else load(s)


def _ray() -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    return ray


def simulate(
    snapshot: Union[Snapshot, PathLike],
    paths: int = 1000,
    shards: Optional[int] = None,
    **spec: Any,
) -> SimulationResult:
    """``Snapshot.simulate`` on the Ray cluster: ``paths`` cut into ``shards`` Ray tasks (default:
    the cluster's CPUs), merged into the same figures bit for bit. ``spec``: the keywords of
    ``Snapshot.simulate`` (seed, horizon_days, dist, …). Uses the running Ray (``ray.init`` first to
    choose the cluster), or starts a local one."""
    ray = _ray()
    snap = _snapshot(snapshot)
    n = shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
    ref = ray.put(snap)

    @ray.remote(max_retries=MAX_RETRIES, retry_exceptions=True)
    def shard(s: Snapshot, start: int, stop: int, spec: dict) -> bytes:
        _maybe_fail_once()
        return s.simulate_shard(start, stop, paths=paths, **spec)

    parts = ray.get([shard.remote(ref, a, b, spec) for a, b in shard_bounds(paths, n)])
    return snap.merge_simulation(parts, paths=paths, **spec)


def sweep(
    snapshot: Union[Snapshot, PathLike],
    scenarios: Sequence[PathLike],
    breakers: bool = True,
) -> List[StressResult]:
    """Many stress scenarios (files or built-in names) in parallel as Ray tasks, the results in the
    order given — each the same as ``Snapshot.stress`` on one machine."""
    ray = _ray()
    snap = _snapshot(snapshot)
    ref = ray.put(snap)

    @ray.remote(max_retries=MAX_RETRIES, retry_exceptions=True)
    def one(s: Snapshot, scenario: str) -> str:
        return s.stress(scenario, breakers=breakers).to_json()

    texts = ray.get([one.remote(ref, str(sc)) for sc in scenarios])
    return [StressResult(_native.stress_run_from_json(t)) for t in texts]


def calibrate(
    snapshot: Union[Snapshot, PathLike],
    protocol: str,
    asset: str,
    shards: Optional[int] = None,
    **kw: Any,
) -> Optional[dict]:
    """``Snapshot.calibrate`` with every simulation of the bisection run in ``shards`` Ray tasks
    (default: the cluster's CPUs): each evaluated snapshot (the reserve at a trial threshold or
    supply) goes to the object store once, its paths are cut into shards and merged back — the
    result is the one-machine calibration's. ``kw``: the keywords of ``Snapshot.calibrate``."""
    ray = _ray()
    snap = _snapshot(snapshot)
    n = shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
    spec = {k: kw[k] for k in ("paths", "horizon_days", "seed", "dist", "dof") if k in kw}
    spec.setdefault("paths", 200)
    spec.setdefault("dist", "t")

    @ray.remote(max_retries=MAX_RETRIES, retry_exceptions=True)
    def shard(s: Snapshot, start: int, stop: int, spec: dict) -> bytes:
        _maybe_fail_once()
        return s.simulate_shard(start, stop, **spec)

    def run(trial: Snapshot) -> List[bytes]:
        ref = ray.put(trial)
        return ray.get([shard.remote(ref, a, b, spec) for a, b in shard_bounds(spec["paths"], n)])

    return snap.calibrate(protocol, asset, run=run, **kw)
