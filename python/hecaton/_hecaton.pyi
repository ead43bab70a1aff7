"""Type stubs of the extension module ``hecaton._hecaton`` (re-exported by ``hecaton``)."""

from __future__ import annotations

import os
import pathlib
from typing import (
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from ._errors import TaskError

#: A task's value: JSON. Tuples are sent as arrays and come back as lists.
Value = Union[None, bool, int, float, str, List[Any], Tuple[Any, ...], Dict[str, Any]]
StrPath = Union[str, "os.PathLike[str]"]
#: A task module: a path to a ``.wasm`` or ``.wat`` file, or a ``Module`` loaded once.
ModuleLike = Union["Module", StrPath]
#: A command's input or output stream.
Bytes = Union[bytes, bytearray, str]
#: ``dirs=``: ``{host: guest}``, or entries ``host``, ``(host, guest)``, ``(host, guest, "rw" | "ro")``.
Dirs = Union[
    Mapping[StrPath, StrPath],
    Iterable[Union[StrPath, Tuple[StrPath, StrPath], Tuple[StrPath, StrPath, Literal["ro", "rw"]]]],
]

T = TypeVar("T")

class Module:
    """A task module (``.wasm`` binary or ``.wat`` text), compiled and checked once.

    Raises ``hecaton.ModuleError`` naming the file and what is wrong with it.
    """

    def __init__(self, path: StrPath) -> None: ...
    @property
    def path(self) -> pathlib.Path: ...
    @property
    def tasks(self) -> Dict[str, str]:
        """``{name: kind}``: ``"function"``, ``"command"``, ``"numeric (i64) -> (i64)"`` or, for a
        component, ``"component function func(x: s64) -> s64"``."""

class CommandResult:
    """What a WASI command did, as ``subprocess.CompletedProcess``."""

    @property
    def exit_code(self) -> int: ...
    @property
    def returncode(self) -> int: ...
    @property
    def stdout(self) -> bytes: ...
    @property
    def stderr(self) -> bytes: ...

class MapIterator(Iterator[T], Generic[T]):
    """The lazy iterator of ``imap``, ``imap_unordered`` and ``imap_command``."""

    def __iter__(self) -> MapIterator[T]: ...
    def __next__(self) -> T: ...
    def close(self) -> None:
        """Stops the map: the items not yet run are cancelled."""

class AsyncResult(Generic[T]):
    """The result of ``apply_async`` or ``map_async``, as multiprocessing's."""

    def get(self, timeout: Optional[float] = None) -> T:
        """The output; raises the task's ``TaskError``, or ``WaitTimeout`` (a ``TimeoutError``)
        after ``timeout`` seconds."""
    def wait(self, timeout: Optional[float] = None) -> None: ...
    def ready(self) -> bool: ...
    def successful(self) -> bool:
        """Whether it ended without failing; ``ValueError`` if it has not ended."""

class Pool:
    """Worker threads running tasks, each in a fresh sandboxed WebAssembly instance:
    multiprocessing's ``Pool``, with a module and an export name in place of a function.

    Leaving a ``with`` block terminates the pool. Ctrl-C while a call waits cancels the pool's
    running tasks and leaves it usable.
    """

    def __init__(
        self,
        processes: Optional[int] = None,
        *,
        max_memory: Optional[Union[int, str]] = None,
        timeout: Optional[float] = None,
        fuel: Optional[int] = None,
        max_output: Optional[Union[int, str]] = None,
        max_stack: Optional[Union[int, str]] = None,
        max_table_elements: Optional[int] = None,
        dirs: Optional[Dirs] = None,
        env: Optional[Mapping[str, Optional[str]]] = None,
        retries: int = 0,
        isolation: Literal["task", "chunk", "worker"] = "task",
        maxtasksperchild: Optional[int] = None,
        chunksize: Optional[int] = None,
    ) -> None: ...
    @property
    def processes(self) -> int: ...
    def map(
        self,
        module: ModuleLike,
        task: str,
        iterable: Iterable[Value],
        chunksize: Optional[int] = None,
        *,
        keep_going: bool = False,
    ) -> List[Any]:
        """Outputs in input order; raises the first failure by index (``keep_going=True``:
        the ``TaskError`` instance takes the failed input's place)."""
    def starmap(
        self,
        module: ModuleLike,
        task: str,
        iterable: Iterable[Sequence[Value]],
        chunksize: Optional[int] = None,
        *,
        keep_going: bool = False,
    ) -> List[Any]: ...
    def imap(
        self,
        module: ModuleLike,
        task: str,
        iterable: Iterable[Value],
        chunksize: Optional[int] = None,
        *,
        keep_going: bool = False,
    ) -> MapIterator[Any]:
        """Lazy, ordered, bounded read-ahead: an endless generator works."""
    def imap_unordered(
        self,
        module: ModuleLike,
        task: str,
        iterable: Iterable[Value],
        chunksize: Optional[int] = None,
        *,
        keep_going: bool = False,
        indexed: bool = False,
    ) -> MapIterator[Any]:
        """As ``imap``, as tasks complete; ``indexed=True`` yields ``(index, output)``."""
    def apply(self, module: ModuleLike, task: str, args: Optional[Sequence[Value]] = None) -> Any: ...
    def apply_async(
        self,
        module: ModuleLike,
        task: str,
        args: Optional[Sequence[Value]] = None,
        callback: Optional[Callable[[Any], object]] = None,
        error_callback: Optional[Callable[[TaskError], object]] = None,
    ) -> AsyncResult[Any]: ...
    def map_async(
        self,
        module: ModuleLike,
        task: str,
        iterable: Iterable[Value],
        chunksize: Optional[int] = None,
        callback: Optional[Callable[[List[Any]], object]] = None,
        error_callback: Optional[Callable[[TaskError], object]] = None,
    ) -> AsyncResult[List[Any]]: ...
    def starmap_async(
        self,
        module: ModuleLike,
        task: str,
        iterable: Iterable[Sequence[Value]],
        chunksize: Optional[int] = None,
        callback: Optional[Callable[[List[Any]], object]] = None,
        error_callback: Optional[Callable[[TaskError], object]] = None,
    ) -> AsyncResult[List[Any]]: ...
    def map_command(
        self,
        module: ModuleLike,
        inputs: Iterable[Bytes],
        args: Optional[Sequence[str]] = None,
        stdin: bool = True,
        *,
        chunksize: Optional[int] = None,
        keep_going: bool = False,
        fail_nonzero: bool = False,
    ) -> List[CommandResult]:
        """The module's WASI command once per input: the input is its stdin (``stdin=False``:
        its last argument, or where ``{}`` stands in ``args``)."""
    def imap_command(
        self,
        module: ModuleLike,
        inputs: Iterable[Bytes],
        args: Optional[Sequence[str]] = None,
        stdin: bool = True,
        *,
        chunksize: Optional[int] = None,
        keep_going: bool = False,
        fail_nonzero: bool = False,
    ) -> MapIterator[CommandResult]: ...
    def close(self) -> None: ...
    def join(self) -> None: ...
    def terminate(self) -> None: ...
    def __enter__(self) -> Pool: ...
    def __exit__(self, *exc: object) -> None: ...

class Process:
    """One task on its own thread, in a fresh instance: multiprocessing's ``Process``."""

    def __init__(
        self,
        module: ModuleLike,
        task: str,
        args: Optional[Sequence[Value]] = None,
        *,
        max_memory: Optional[Union[int, str]] = None,
        timeout: Optional[float] = None,
        fuel: Optional[int] = None,
        max_output: Optional[Union[int, str]] = None,
        max_stack: Optional[Union[int, str]] = None,
        max_table_elements: Optional[int] = None,
        dirs: Optional[Dirs] = None,
        env: Optional[Mapping[str, Optional[str]]] = None,
        retries: int = 0,
    ) -> None: ...
    @staticmethod
    def command(
        module: ModuleLike,
        args: Optional[Sequence[str]] = None,
        stdin: Optional[Bytes] = None,
        *,
        max_memory: Optional[Union[int, str]] = None,
        timeout: Optional[float] = None,
        fuel: Optional[int] = None,
        max_output: Optional[Union[int, str]] = None,
        max_stack: Optional[Union[int, str]] = None,
        max_table_elements: Optional[int] = None,
        dirs: Optional[Dirs] = None,
        env: Optional[Mapping[str, Optional[str]]] = None,
        retries: int = 0,
    ) -> Process:
        """A process running the module's WASI command; its ``result()`` is a ``CommandResult``."""
    def start(self) -> None: ...
    def join(self, timeout: Optional[float] = None) -> None: ...
    def result(self, timeout: Optional[float] = None) -> Any:
        """Waits, then returns the output or raises the task's ``TaskError``."""
    def is_alive(self) -> bool: ...
    def kill(self) -> None: ...
    def terminate(self) -> None: ...
    @property
    def pid(self) -> Optional[int]:
        """The task's id, the one the guest sees; ``None`` before ``start``."""
    @property
    def exitcode(self) -> Optional[int]:
        """``None`` while running; 0 output, 1 failure, -9 killed, a command's own code."""
