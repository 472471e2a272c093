"""Type stubs of cascade's compiled part (cascade._native); use the functions of `cascade` itself."""

from os import PathLike
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class InputError(ValueError):
    """A problem with the input: a file, a line, a field, and what is wrong (the CLI's message)."""

class Snapshot:
    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def assets(self) -> List[str]: ...
    @property
    def protocols(self) -> List[str]: ...
    @property
    def accounts(self) -> int: ...
    @property
    def warnings(self) -> List[str]: ...
    def stress(
        self, scenario: Optional[str] = None, breakers: bool = True, accounts: bool = False
    ) -> StressRun: ...
    def simulate(self, spec: Any) -> SimulationRun: ...
    def simulate_shard(self, spec: Any, start: int, stop: int) -> bytes: ...
    def merge_simulation(self, spec: Any, shards: List[bytes]) -> SimulationRun: ...

class SimulationRun:
    def to_json(self) -> str: ...
    def paths(self) -> bytes: ...

class StressRun:
    def to_json(self) -> str: ...
    def table(self, name: str) -> bytes: ...

def load(path: Union[str, PathLike[str]]) -> Snapshot: ...
def builtin_system() -> Snapshot: ...
def greeks(
    spot: npt.NDArray[np.float64],
    strike: npt.NDArray[np.float64],
    rate: npt.NDArray[np.float64],
    vol: npt.NDArray[np.float64],
    expiry_years: npt.NDArray[np.float64],
    is_call: npt.NDArray[np.bool_],
) -> Tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]: ...
