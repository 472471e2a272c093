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
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import InputError

__all__ = ["InputError", "Snapshot", "StressResult", "builtin", "greeks", "load", "__version__"]
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


class Snapshot:
    """A system: assets, protocols, accounts and positions. Make one with :func:`load` or
    :func:`builtin`."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def __repr__(self) -> str:
        return repr(self._native)

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


def load(path: PathLike) -> Snapshot:
    """Loads a snapshot file (TOML or JSON, with the position files it names).

    Raises :class:`InputError` listing every problem found, each with its file, line and field.
    """
    return Snapshot(_native.load(str(path)))


def builtin() -> Snapshot:
    """The built-in example system (the one ``cascade stress`` runs with no ``--snapshot``)."""
    return Snapshot(_native.builtin_system())


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
    ``"put"`` (or an array of them). Returns a dict of float64 arrays: ``price`` (per unit of the
    underlying), ``delta``, ``gamma``, ``vega`` (per unit of volatility), ``theta`` (per year).
    Contiguous float64 arrays are read in place; the GIL is released while they are computed.
    Raises :class:`InputError` naming the first option outside the model's domain.
    """
    kinds = np.asarray(kind)
    if kinds.dtype.kind not in "UO":
        raise InputError(f"kind: expected 'call' or 'put', got {kinds.dtype}")
    lower = np.char.lower(kinds.astype(str))
    bad = ~np.isin(lower, ["call", "put"])
    if bad.any():
        first = str(lower.reshape(-1)[np.argmax(bad.reshape(-1))])
        raise InputError(f"kind: {first!r}, expected 'call' or 'put'")
    arrays = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (spot, strike, rate, vol, expiry_years)),
        lower == "call",
    )
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrays]
    out = _native.greeks(*flat[:5], flat[5].astype(np.bool_))
    names = ("price", "delta", "gamma", "vega", "theta")
    return {n: a.reshape(shape) for n, a in zip(names, out)}
