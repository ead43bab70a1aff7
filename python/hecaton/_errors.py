"""hecaton's exceptions.

Two families, as in the Rust library: :class:`TaskError` is the outcome of one task (a trap, a
limit, a guest error...), one subclass per ``TaskError::kind()``, and names the input it failed
on; :class:`Error` is a failure of hecaton itself or of its set-up (a module that cannot load, a
task name that does not exist, a closed pool).
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Dict, Optional, Type


class TaskError(Exception):
    """One task failed. The failure is the task's own: the pool and its other tasks go on.

    Attributes:
        kind: the library's stable name of the failure (``"trap"``, ``"timeout"``...).
        index: the input's index in its map (0 for ``apply``), ``None`` for a ``Process``.
        attempts: how many times the task ran (more than 1 with ``retries``), ``None`` where
            the library does not report it (``apply_async``, ``Process``).
    """

    kind: str = "task"

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        index: Optional[int] = None,
        attempts: Optional[int] = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.index = index
        self.attempts = attempts
        for name, value in details.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        if self.index is None:
            return self.message
        return f"task {self.index} failed: {self.message}"

    def __reduce__(self):  # keeps the attributes through copy and pickle
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: Type[TaskError], message: str, state: Dict[str, Any]) -> TaskError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class Trap(TaskError):
    """The guest trapped (``unreachable``, division by zero, out-of-bounds access...):
    ``.trap`` is wasmtime's trap code, ``.backtrace`` the wasm backtrace."""


class LimitError(TaskError):
    """The task ran into one of its limits."""


class StackOverflow(LimitError):
    """The wasm call stack overflowed its limit."""


class Timeout(LimitError):
    """The task ran longer than the pool's ``timeout`` (``.timeout``, in seconds)."""


class OutOfFuel(LimitError):
    """The task burned its ``fuel``."""


class MemoryLimit(LimitError):
    """The task asked for more linear memory (``.requested`` bytes) than ``max_memory``
    (``.limit``)."""


class TableLimit(LimitError):
    """The task asked for more table elements (``.requested``) than its limit (``.limit``)."""


class OutputLimit(LimitError):
    """The task returned or wrote more than ``max_output`` bytes (``.limit``)."""


class GuestError(TaskError):
    """The task reported an error of its own (a Rust ``Err``): ``.guest_message``."""


class Panic(TaskError):
    """The guest panicked: ``.guest_message`` is the panic message."""


class BadInput(TaskError):
    """The guest could not decode its input (wrong JSON type, wrong number of arguments)."""


class AbiViolation(TaskError):
    """The guest broke the ABI (a pointer out of bounds, an output that is not JSON...)."""


class Exit(TaskError):
    """A function task called ``proc_exit`` (``.exit_code``)."""


class NonZeroExit(TaskError):
    """A command exited non-zero and the map asked for that to fail (``fail_nonzero=True``):
    ``.exit_code``, ``.stdout``, ``.stderr``."""


class StdoutClosed(TaskError):
    """The host's stdout closed while the command wrote to it."""


class Cancelled(TaskError):
    """The task was cancelled (``terminate``, ``kill``, Ctrl-C, or a fail-fast map that stopped)
    before it finished."""


class InstantiateError(TaskError):
    """The task could not start: no instance could be made for it."""


class HostError(TaskError):
    """Running the task failed in the host (a bug of hecaton's, never the guest's doing)."""


class WorkerLost(TaskError):
    """A cluster map handed this input's chunk to workers as often as it may, and none of them
    finished it (each died or lost its connection first)."""


#: One class per ``TaskError::kind()``.
KINDS: Dict[str, Type[TaskError]] = {
    "trap": Trap,
    "stack_overflow": StackOverflow,
    "timeout": Timeout,
    "out_of_fuel": OutOfFuel,
    "memory_limit": MemoryLimit,
    "table_limit": TableLimit,
    "output_limit": OutputLimit,
    "guest_error": GuestError,
    "panic": Panic,
    "bad_input": BadInput,
    "abi_violation": AbiViolation,
    "exit": Exit,
    "nonzero_exit": NonZeroExit,
    "stdout_closed": StdoutClosed,
    "cancelled": Cancelled,
    "instantiate": InstantiateError,
    "host": HostError,
    "worker_lost": WorkerLost,
}

for _kind, _cls in KINDS.items():
    _cls.kind = _kind


class WaitTimeout(TimeoutError, multiprocessing.TimeoutError):
    """``AsyncResult.get(timeout)`` or ``Process.result(timeout)`` ran out of time before the task
    ended (the task goes on). Both ``except TimeoutError`` and, as code written for
    multiprocessing expects, ``except multiprocessing.TimeoutError`` catch it. Not a task's
    failure: that is :class:`Timeout`."""


class Error(Exception):
    """A failure of hecaton itself or of its set-up, before or around the tasks."""


class ModuleError(Error):
    """A module cannot be loaded: not found, not wasm, invalid, an unknown import, a missing
    export... The message names the file and the export or import at fault."""


class UnknownTask(Error, LookupError):
    """The module has no task of this name; the message lists those it has."""


class ConfigError(Error, ValueError):
    """A setting is out of range, or a capability cannot be granted (a directory that does not
    exist)."""


class InputError(Error, ValueError):
    """A task cannot take this kind of input (a JSON value for a command, or the reverse)."""


class PoolClosed(Error, ValueError):
    """The pool was closed or terminated: it takes no new work (multiprocessing raises
    ``ValueError("Pool not running")``)."""


def _task_error(
    message: str,
    kind: str,
    index: Optional[int],
    attempts: Optional[int],
    details: Dict[str, Any],
) -> TaskError:
    """Made by the extension for every failed task."""
    cls = KINDS.get(kind, TaskError)
    return cls(message, kind=kind, index=index, attempts=attempts, **details)
