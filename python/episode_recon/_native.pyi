"""Type hints of the compiled module (python/src/lib.rs). Use the API of
``episode_recon`` instead: it takes tables and documents every argument."""

from typing import List, Optional, Union

__version__: str

class ArrowStream:
    def __arrow_c_stream__(self, requested_schema: object = None) -> object: ...

class NativeOutputs:
    def files(self) -> str: ...
    def summary_json(self) -> str: ...
    def has_participants(self) -> bool: ...
    def write(self, out: str, force: bool) -> None: ...

class NativeRun(NativeOutputs):
    def table(self, name: str) -> Optional[ArrowStream]: ...
    def warnings(self) -> List[str]: ...

class NativeTrueUp(NativeOutputs): ...

def reconcile(
    claims: List[Union[str, object]],
    definitions: str,
    target_prices: str,
    beneficiaries: List[Union[str, object]],
    risk_factors: Optional[str],
    participants: Optional[str],
    settlement: Optional[str],
    as_of: Optional[str],
    claims_format: str,
    beneficiaries_format: str,
    strict: bool,
    threads: Optional[int],
    memory_limit: Optional[int],
    allow_same_file: bool,
) -> NativeRun: ...
def reprice(
    run: NativeRun,
    target_prices: str,
    definitions: Optional[str],
    risk_factors: Optional[str],
    participants: Optional[str],
    settlement: Optional[str],
) -> NativeRun: ...
def open_run(folder: str) -> NativeRun: ...
def price_parts(
    parts: List[str],
    target_prices: str,
    risk_factors: Optional[str],
    participants: Optional[str],
    settlement: Optional[str],
) -> NativeRun: ...
def true_up(previous: NativeRun, current: NativeRun) -> NativeTrueUp: ...
