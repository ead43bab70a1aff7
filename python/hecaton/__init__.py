"""hecaton: multiprocessing's ``Pool`` and ``Process`` for WebAssembly tasks.

Every task runs in a fresh, sandboxed WebAssembly instance on a pool of threads: it cannot
touch the host's memory, files, variables or network unless granted, its memory, time, fuel and
output are capped, and its failure is its own. A task is a module (a path to a ``.wasm`` or
``.wat`` file, or a :class:`Module` loaded once) and the name of one of its exports::

    from hecaton import Pool

    with Pool(2) as pool:
        print(pool.map("square.wasm", "square", [1, 2, 3, 4, 5]))   # [1, 4, 9, 16, 25]

Values are JSON (``None``, ``bool``, ``int``, ``float``, ``str``, ``list``/``tuple``,
``dict``), and ``bytes`` for WASI commands' input and output: nothing is ever pickled.
Failures are :class:`TaskError` subclasses that name the input they failed on.
"""

from ._errors import (
    AbiViolation,
    BadInput,
    Cancelled,
    ConfigError,
    Error,
    Exit,
    GuestError,
    HostError,
    WorkerLost,
    InputError,
    InstantiateError,
    LimitError,
    MemoryLimit,
    ModuleError,
    NonZeroExit,
    OutOfFuel,
    OutputLimit,
    Panic,
    PoolClosed,
    StackOverflow,
    StdoutClosed,
    TableLimit,
    TaskError,
    Timeout,
    Trap,
    UnknownTask,
    WaitTimeout,
)
from ._hecaton import AsyncResult, CommandResult, MapIterator, Module
from ._pool import Pool, Process

__all__ = [
    "AbiViolation",
    "AsyncResult",
    "BadInput",
    "Cancelled",
    "CommandResult",
    "ConfigError",
    "Error",
    "Exit",
    "GuestError",
    "HostError",
    "WorkerLost",
    "InputError",
    "InstantiateError",
    "LimitError",
    "MapIterator",
    "MemoryLimit",
    "Module",
    "ModuleError",
    "NonZeroExit",
    "OutOfFuel",
    "OutputLimit",
    "Panic",
    "Pool",
    "PoolClosed",
    "Process",
    "StackOverflow",
    "StdoutClosed",
    "TableLimit",
    "TaskError",
    "Timeout",
    "Trap",
    "UnknownTask",
    "WaitTimeout",
]
