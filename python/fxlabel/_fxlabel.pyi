"""Types of the compiled extension (python/src/lib.rs)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__version__: str
TIME_COLUMNS: List[str]

class InputError(ValueError):
    kind: str
    row: Optional[int]
    column: str

class ParameterError(ValueError):
    kind: str
    param: str

class MismatchError(ValueError):
    kind: str
    key: str

class FormatError(ValueError):
    kind: str

class StorageError(OSError):
    kind: str

class BusyError(StorageError): ...

class Planned:
    todo: List[str]
    skipped: List[str]
    owner: str
    def release(self) -> None: ...

def label(
    source: Any,
    out_dir: str,
    opts: Dict[str, Any],
    overwrite: bool = ...,
    jobs: Optional[int] = ...,
    progress: Optional[Callable[[int, int, str], Any]] = ...,
) -> Tuple[List[str], List[str]]: ...
def plan(source: Any, out_dir: str, opts: Dict[str, Any], overwrite: bool = ...) -> Planned: ...
def commit(source: Any, out_dir: str, opts: Dict[str, Any], keys: Sequence[str], owner: str) -> List[int]: ...
def file_names(key: str) -> List[str]: ...
def label_files(names: Sequence[str]) -> List[Tuple[str, str]]: ...
def is_parquet(name: Optional[str], head: bytes) -> bool: ...
def cli(argv: Sequence[str]) -> int: ...
