"""cascade: systemic credit exposure in DeFi, from Python.

The same engines as the ``cascade`` command line (docs/python.md): load a system, run a stress
scenario through the full cascade of liquidations and fire sales, read the figures as dicts and
pandas DataFrames; price options and their Greeks on numpy arrays.

>>> import cascade
>>> s = cascade.builtin()
>>> r = s.stress("eth-crash")
>>> round(r.system["bad_debt_usd"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import InputError

__all__ = [
    "ContagionResult",
    "InputError",
    "SimulationResult",
    "SimulationSpec",
    "Snapshot",
    "StressResult",
    "builtin",
    "clearing",
    "debtrank",
    "greeks",
    "load",
    "__version__",
]
__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]


def _frame(ipc: bytes) -> "pandas.DataFrame":  # noqa: F821
    import pyarrow as pa

    return pa.ipc.open_stream(ipc).read_pandas()


class StressResult:
    """The result of one stress run: the figures of ``cascade stress --json``.

    ``system`` (dict): the system's totals; ``baseline`` and ``incremental`` (dicts): the same
    system with no shock, and what the shock adds; ``protocols``, ``rounds`` and ``accounts``
    (pandas DataFrames, one row per protocol, round or account); ``trace`` (list of str): the
    contagion trace, one line per event; ``to_json()``: the whole result as JSON text.
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        self._value: Dict[str, Any] = json.loads(native.to_json())
        self._frames: Dict[str, Any] = {}

    def __repr__(self) -> str:
        s = self.system
        return (
            f"<cascade.StressResult {self._value.get('scenario')!r} on {self._value.get('snapshot')!r}: "
            f"bad debt ${s.get('bad_debt_usd', float('nan')):,.2f}, "
            f"liquidated ${s.get('liquidated_debt_usd', float('nan')):,.2f}>"
        )

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return self._value["scenario"]

    @property
    def system(self) -> Dict[str, Any]:
        """The system's figures (USD unless named otherwise)."""
        return self._value["system"]

    @property
    def baseline(self) -> Optional[Dict[str, Any]]:
        """The figures of the same system with no shock."""
        return self._value.get("baseline")

    @property
    def incremental(self) -> Optional[Dict[str, Any]]:
        """What the shock adds to the baseline (scenario − baseline)."""
        return self._value.get("incremental")

    @property
    def initial_prices(self) -> Dict[str, float]:
        """Every asset's price before the shock, USD."""
        return self._value["initial_prices"]

    @property
    def final_prices(self) -> Dict[str, float]:
        """Every asset's price at the end of the cascade, USD."""
        return self._value["final_prices"]

    def _table(self, name: str) -> "pandas.DataFrame":  # noqa: F821
        if name not in self._frames:
            self._frames[name] = _frame(self._native.table(name))
        return self._frames[name]

    @property
    def protocols(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per protocol: TVL, liquidated debt, seized collateral, bad debt and its cover."""
        return self._table("protocols")

    @property
    def rounds(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per round: bad debt, liquidated debt, seized collateral (USD), liquidations,
        sales, and each asset's price (columns ``price.ASSET``)."""
        return self._table("rounds")

    @property
    def accounts(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per account (empty unless the run was made with ``accounts=True``)."""
        return self._table("accounts")

    @property
    def trace(self) -> List[str]:
        """The contagion trace, one line per event."""
        return list(self._value.get("trace", []))

    def to_json(self) -> str:
        """The whole result as JSON text, as ``cascade stress --json`` prints it."""
        return self._native.to_json()


@dataclass(frozen=True)
class SimulationSpec:
    """The settings of a Monte Carlo run, with ``cascade simulate``'s defaults."""

    paths: int = 1000
    horizon_days: float = 1.0
    seed: int = 1
    dist: str = "normal"
    dof: float = 4.0
    antithetic: bool = False
    confidence: Tuple[float, ...] = (0.95, 0.99, 0.999)
    breakers: bool = True
    max_rounds: int = 50
    jumps: Tuple[Tuple[str, float, float], ...] = field(default_factory=tuple)

    @staticmethod
    def of(
        paths: int = 1000,
        horizon_days: float = 1.0,
        seed: int = 1,
        dist: str = "normal",
        dof: float = 4.0,
        antithetic: bool = False,
        confidence: Sequence[float] = (0.95, 0.99, 0.999),
        breakers: bool = True,
        max_rounds: int = 50,
        jumps: Optional[Union[Mapping[str, Tuple[float, float]], Sequence[Tuple[str, float, float]]]] = None,
    ) -> "SimulationSpec":
        """A spec from keyword arguments; ``jumps`` maps an asset to ``(probability, size)`` (or is a
        list of ``(asset, probability, size)``), as ``--jump ASSET=P:SIZE``."""
        if jumps is None:
            j: Tuple[Tuple[str, float, float], ...] = ()
        elif isinstance(jumps, Mapping):
            j = tuple((a, float(p), float(x)) for a, (p, x) in jumps.items())
        else:
            j = tuple((a, float(p), float(x)) for a, p, x in jumps)
        return SimulationSpec(
            int(paths), float(horizon_days), int(seed), str(dist), float(dof), bool(antithetic),
            tuple(float(c) for c in confidence), bool(breakers), int(max_rounds), j,
        )


class SimulationResult:
    """A Monte Carlo run: the figures of ``cascade simulate --json``.

    ``metrics`` (dict): the whole document; ``system`` (dict): VaR, ES, LaR with their intervals,
    probability of bad debt, mean loss (USD; the loss of a path is its insolvent debt);
    ``protocols`` (DataFrame): the same per protocol; ``paths`` (DataFrame): one row per path;
    ``to_json()``: the document as JSON text.
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        self.metrics: Dict[str, Any] = json.loads(native.to_json())
        self._paths: Any = None

    def __repr__(self) -> str:
        s = self.system
        return (
            f"<cascade.SimulationResult {self.metrics['paths']} paths, seed {self.metrics['seed']}: "
            f"VaR 99% ${s.get('var_99_usd', float('nan')):,.2f}, ES 99% ${s.get('es_99_usd', float('nan')):,.2f}>"
        )

    @property
    def system(self) -> Dict[str, Any]:
        """The system's figures."""
        return self.metrics["system"]

    @property
    def protocols(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per protocol: its VaR, ES, LaR and their intervals."""
        import pandas as pd

        return pd.DataFrame(self.metrics["protocols"])

    @property
    def paths(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per path: ``path``, ``loss_usd``, ``bad_debt_usd``, ``liquidated_debt_usd``,
        ``rounds``, ``loss_usd.PROTOCOL``, ``log_return.ASSET``."""
        if self._paths is None:
            self._paths = _frame(self._native.paths())
        return self._paths

    def to_json(self) -> str:
        """The ``cascade simulate --json`` document as JSON text."""
        return self._native.to_json()


class ContagionResult:
    """A snapshot's contagion analysis: the document of ``cascade contagion --json``.

    ``report`` (dict): the whole document; ``exposure_graph``, ``coefficients``,
    ``concentration``, ``diversification`` and ``debtrank`` (pandas DataFrames): its tables;
    ``loops`` (dict).
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self.report: Dict[str, Any] = json.loads(text)

    def __repr__(self) -> str:
        return (
            f"<cascade.ContagionResult of {self.report['snapshot']!r}: "
            f"{len(self.report['exposure_graph'])} edges, {len(self.report['contagion_coefficients'])} coefficients>"
        )

    def _df(self, key: str) -> "pandas.DataFrame":  # noqa: F821
        import pandas as pd

        return pd.DataFrame(self.report[key])

    @property
    def exposure_graph(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per edge: from, to, kind, asset, usd."""
        return self._df("exposure_graph")

    @property
    def coefficients(self) -> "pandas.DataFrame":  # noqa: F821
        """One row per (asset, protocol): the smallest drop at which the protocol has bad debt."""
        return self._df("contagion_coefficients")

    @property
    def concentration(self) -> "pandas.DataFrame":  # noqa: F821
        """Collateral concentration per (protocol, asset)."""
        return self._df("concentration")

    @property
    def diversification(self) -> "pandas.DataFrame":  # noqa: F821
        """Per lending protocol, its accounts' value-weighted effective number of collateral assets."""
        return self._df("diversification")

    @property
    def debtrank(self) -> "pandas.DataFrame":  # noqa: F821
        """Each protocol's DebtRank when it alone is fully distressed."""
        return self._df("debtrank")

    @property
    def loops(self) -> Dict[str, Any]:
        """Recursive-leverage loops and the bad debt they carry under the loops' scenario."""
        return self.report["loops"]

    def to_json(self) -> str:
        """The document as JSON text."""
        return self._text


class Snapshot:
    """A system: assets, protocols, accounts and positions. Make one with :func:`load` or
    :func:`builtin`."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def __repr__(self) -> str:
        return repr(self._native)

    def __reduce__(self) -> Any:
        # Pickled as its files (snapshot.toml and positions.parquet, as `cascade gen` writes
        # them): another process, or a Ray worker on another machine, loads an equal snapshot.
        files, is_builtin = self._native.to_files()
        return (_from_files, (files, is_builtin))

    @property
    def name(self) -> str:
        """The snapshot's name."""
        return self._native.name

    @property
    def assets(self) -> List[str]:
        """Asset ids, in the snapshot's order."""
        return self._native.assets

    @property
    def protocols(self) -> List[str]:
        """Protocol ids, in the snapshot's order."""
        return self._native.protocols

    @property
    def accounts(self) -> int:
        """The number of accounts."""
        return self._native.accounts

    @property
    def warnings(self) -> List[str]:
        """Warnings found while loading (as the CLI prints them)."""
        return self._native.warnings

    def contagion(self, scenario: Optional[PathLike] = None) -> ContagionResult:
        """The contagion analysis, as ``cascade contagion --json``: the exposure graph, contagion
        coefficients (a bisection over the full cascade per asset), the loops that carry bad debt
        under ``scenario`` (``eth-crash`` by default on the built-in system), concentration and
        DebtRank. Releases the GIL."""
        return ContagionResult(self._native.contagion(None if scenario is None else str(scenario)))

    def calibrate(
        self,
        protocol: str,
        asset: str,
        confidence: float = 0.99,
        budget: float = 0.01,
        max_supply_factor: float = 4.0,
        paths: int = 200,
        horizon_days: float = 1.0,
        seed: int = 1,
        dist: str = "t",
        dof: float = 4.0,
        run: Any = None,
    ) -> Optional[Dict[str, Any]]:
        """The Monte Carlo calibration of reserve (``protocol``, ``asset``), as one entry of
        ``cascade calibrate --json``'s ``monte_carlo`` (same defaults): by bisection, the largest
        liquidation threshold and supply whose ``ES_confidence`` of the protocol's loss stays within
        ``budget`` × its supplied value, and ES at LT ± 5 points. ``None`` when the reserve is not
        collateral. ``run``: make every simulation elsewhere — a callable taking a ``Snapshot`` and
        returning its shards (``simulate_shard`` bytes covering every path once); see
        ``cascade.distributed.calibrate``."""
        spec = SimulationSpec.of(paths=paths, horizon_days=horizon_days, seed=seed, dist=dist, dof=dof)
        runner = None if run is None else (lambda native: run(Snapshot(native)))
        text = self._native.calibrate(
            protocol, asset, spec, (float(confidence), float(budget), float(max_supply_factor)), runner
        )
        return None if text is None else json.loads(text)

    def simulate(self, **spec: Any) -> SimulationResult:
        """Monte Carlo through the full cascade, as ``cascade simulate``: the same figures bit for
        bit for the same settings. Keywords (defaults as the CLI's): ``paths`` (1000),
        ``horizon_days`` (1), ``seed`` (1), ``dist`` ("normal" or "t"), ``dof`` (4, for "t"),
        ``antithetic`` (False), ``confidence`` ((0.95, 0.99, 0.999)), ``breakers`` (True),
        ``max_rounds`` (50), ``jumps`` ({asset: (probability, size)}). Releases the GIL."""
        return SimulationResult(self._native.simulate(SimulationSpec.of(**spec)))

    def simulate_shard(self, start: int, stop: int, **spec: Any) -> bytes:
        """The paths ``start..stop`` of the simulation ``spec`` (a shard; each path has its own
        random stream), as bytes for :meth:`merge_simulation`."""
        return self._native.simulate_shard(SimulationSpec.of(**spec), int(start), int(stop))

    def merge_simulation(self, shards: Sequence[bytes], **spec: Any) -> SimulationResult:
        """The simulation ``spec`` from its shards, in any order: bit for bit :meth:`simulate`'s.
        Raises :class:`InputError` unless the shards hold each path exactly once."""
        return SimulationResult(self._native.merge_simulation(SimulationSpec.of(**spec), [bytes(b) for b in shards]))

    def stress(
        self, scenario: Optional[PathLike] = None, breakers: bool = True, accounts: bool = False
    ) -> StressResult:
        """Runs a stress scenario through the full cascade, beside the no-shock baseline.

        ``scenario``: a scenario file (TOML or JSON) or a built-in name (``eth-crash``,
        ``steth-depeg``, ``bridge-hack``, ``usdc-depeg``); on the built-in system it defaults to
        ``eth-crash``. ``breakers``: circuit breakers as configured (True) or ignored (False).
        ``accounts``: also report every account (``StressResult.accounts``). The figures are
        those of ``cascade stress --json``. Raises :class:`InputError` for a bad scenario.
        """
        sc = None if scenario is None else str(scenario)
        return StressResult(self._native.stress(sc, breakers, accounts))


def _from_files(files: Any, is_builtin: bool) -> Snapshot:
    return Snapshot(_native.from_files(files, is_builtin))


def load(path: PathLike) -> Snapshot:
    """Loads a snapshot file (TOML or JSON, with the position files it names).

    Raises :class:`InputError` listing every problem found, each with its file, line and field.
    """
    return Snapshot(_native.load(str(path)))


def builtin() -> Snapshot:
    """The built-in example system (the one ``cascade stress`` runs with no ``--snapshot``)."""
    return Snapshot(_native.builtin_system())


def _matrix(m: Any) -> Tuple[List[List[float]], List[str]]:
    """A square matrix (numpy array, nested lists or a DataFrame whose index names the nodes) as
    rows, and its node names (empty when none are given)."""
    names: List[str] = []
    if hasattr(m, "index") and hasattr(m, "to_numpy"):
        names = [str(x) for x in m.index]
        m = m.to_numpy()
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(f"expected a square matrix, got shape {a.shape}")
    return a.tolist(), names


def _vector(v: Any, n: int, what: str) -> List[float]:
    if v is None:
        return [0.0] * n
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape[0] != n:
        raise InputError(f"{what}: {a.shape[0]} values for {n} nodes")
    return a.tolist()


def clearing(
    liabilities: Any,
    external_assets: Any,
    external_liabilities: Any = None,
    names: Optional[Sequence[str]] = None,
    external_recovery: float = 1.0,
    interbank_recovery: float = 1.0,
    shock: float = 0.0,
) -> Dict[str, Any]:
    """Eisenberg–Noe clearing of a network, as ``cascade clearing --json``.

    ``liabilities[i][j]``: what node ``i`` owes node ``j`` (a numpy array, nested lists, or a
    DataFrame whose index names the nodes); ``external_assets[i]``; ``external_liabilities[i]``
    (0 by default). ``external_recovery`` and ``interbank_recovery``: the Rogers–Veraart shares a
    defaulting node realises (1, 1: plain Eisenberg–Noe); ``shock``: share of every node's external
    assets lost first. Returns a dict of ``payments``, ``obligations``, ``recovery``,
    ``default_round`` (by node name), ``rounds`` and the parameters.
    """
    rows, found = _matrix(liabilities)
    n = len(rows)
    node_names = [str(x) for x in names] if names is not None else found
    text = _native.clearing(
        rows,
        _vector(external_assets, n, "external_assets"),
        _vector(external_liabilities, n, "external_liabilities"),
        node_names,
        (float(external_recovery), float(interbank_recovery), float(shock)),
    )
    return json.loads(text)


def debtrank(
    exposures: Any,
    equity: Any,
    weight: Any = None,
    names: Optional[Sequence[str]] = None,
    shocks: Optional[Mapping[str, float]] = None,
    variant: str = "differential",
) -> Dict[str, Any]:
    """DebtRank of a network of exposures, as ``cascade debtrank --json``.

    ``exposures[j][i]``: exposure of node ``j`` to node ``i`` (array, nested lists or DataFrame);
    ``equity[j]``; ``weight[j]`` (the equity by default). With ``shocks`` ({node: fraction of
    distress}) the run from that shock; without, every node's DebtRank when it alone is fully
    distressed (``by_node``, highest first). ``variant``: "differential" or "original".
    """
    rows, found = _matrix(exposures)
    n = len(rows)
    node_names = [str(x) for x in names] if names is not None else found
    w = None if weight is None else _vector(weight, n, "weight")
    text = _native.debtrank_json(
        rows,
        _vector(equity, n, "equity"),
        w,
        node_names,
        [(str(k), float(v)) for k, v in (shocks or {}).items()],
        variant,
    )
    return json.loads(text)


def greeks(
    spot: Any,
    strike: Any,
    rate: Any,
    vol: Any,
    expiry_years: Any,
    kind: Union[str, Sequence[str], Any] = "call",
) -> Dict[str, np.ndarray]:
    """Black-76 value and Greeks of options, vectorised over numpy arrays.

    Every input is a number or an array; they broadcast together. ``kind`` is ``"call"`` or
    ``"put"``, an array of them, or a boolean array (True: call; the fastest). Returns a dict of float64 arrays: ``price`` (per unit of the
    underlying), ``delta``, ``gamma``, ``vega`` (per unit of volatility), ``theta`` (per year).
    Contiguous float64 arrays are read in place; the GIL is released while they are computed.
    Raises :class:`InputError` naming the first option outside the model's domain.
    """
    if isinstance(kind, str):
        k = kind.lower()
        if k not in ("call", "put"):
            raise InputError(f"kind: {kind!r}, expected 'call' or 'put'")
        is_call: Any = np.bool_(k == "call")
    else:
        kinds = np.asarray(kind)
        if kinds.dtype == np.bool_:
            is_call = kinds
        elif kinds.dtype.kind in "UO":
            call, put = kinds == "call", kinds == "put"
            if not (call | put).all():
                lower = np.char.lower(kinds.astype(str))
                call, put = lower == "call", lower == "put"
                bad = ~(call | put)
                if bad.any():
                    first = str(lower.reshape(-1)[np.argmax(bad.reshape(-1))])
                    raise InputError(f"kind: {first!r}, expected 'call' or 'put'")
            is_call = call
        else:
            raise InputError(f"kind: expected 'call', 'put', an array of them or of booleans (True: call), got {kinds.dtype}")
    arrays = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (spot, strike, rate, vol, expiry_years)),
        is_call,
    )
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrays]
    out = _native.greeks(*flat[:5], flat[5].astype(np.bool_))
    names = ("price", "delta", "gamma", "vega", "theta")
    return {n: a.reshape(shape) for n, a in zip(names, out)}
