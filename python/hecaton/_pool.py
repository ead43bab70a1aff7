"""``hecaton.Pool`` and ``hecaton.Process``: multiprocessing's API over the extension's.

Each method takes what multiprocessing's takes, a module-level Python function first
(``pool.map(square, items)``, ``Process(target=f, args=(1,))``: :mod:`hecaton._functions`), or
what the extension's takes, a module and an export name (``pool.map("square.wasm", "square",
items)``), which it is given as it is.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from . import _hecaton
from ._errors import TaskError
from ._functions import (
    FunctionTask,
    converted,
    decode_output,
    decoded_items,
    function_task,
    is_function,
)

__all__ = ["Pool", "Process"]


class Pool:
    """Worker threads running tasks, each in a fresh sandboxed WebAssembly instance:
    multiprocessing's ``Pool``. A task is a module-level Python function (built once into a
    sandboxed CPython component), or a module and the name of one of its exports.

    ``processes`` is the number of worker threads (default: the cores); the keywords after it
    are the sandbox's: ``max_memory``, ``timeout``, ``fuel``, ``max_output``, ``max_stack``,
    ``max_table_elements``, ``dirs``, ``env``, ``retries``, ``isolation``,
    ``maxtasksperchild``, ``chunksize``. ``initializer`` is refused: a function's module's top
    level runs once, when it is built, and every task starts from it."""

    def __init__(
        self,
        processes: Optional[int] = None,
        initializer: Optional[Callable] = None,
        initargs: Tuple[Any, ...] = (),
        maxtasksperchild: Optional[int] = None,
        **options: Any,
    ) -> None:
        if initializer is not None or initargs:
            raise ValueError(
                "hecaton runs no initializer in its workers: a function task's module runs its "
                "top level once, when it is built, and every task starts from that state (set "
                "up tables there)"
            )
        self._pool = _hecaton.Pool(processes, maxtasksperchild=maxtasksperchild, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def __enter__(self) -> "Pool":
        self._pool.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.__exit__(*exc)

    def __repr__(self) -> str:
        return repr(self._pool)

    @property
    def processes(self) -> int:
        """The number of worker threads."""
        return self._pool.processes

    def map(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``func`` on every item, the outputs in order (``map(func, iterable, chunksize)``, or
        ``map(module, task, iterable, chunksize)``). Fail-fast, as multiprocessing's."""
        if not is_function(func):
            return self._pool.map(func, *args, **kwargs)
        return self._function_map(func, args, kwargs, star=False)

    def starmap(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """As ``map``, each item a tuple of arguments: ``func(*item)``."""
        if not is_function(func):
            return self._pool.starmap(func, *args, **kwargs)
        return self._function_map(func, args, kwargs, star=True)

    def _function_map(self, func: Callable, args: tuple, kwargs: dict, star: bool) -> list:
        iterable, chunksize, keep_going = _map_args(args, kwargs)
        task = function_task(func)
        inputs = [_item_input(task, item, star) for item in iterable]
        if chunksize is None:
            chunksize = self._default_chunksize(len(inputs))
        try:
            outputs = self._pool.map(
                task.module, "call", inputs, chunksize, keep_going=keep_going
            )
        except TaskError as error:
            raise converted(error) from None
        if keep_going:
            return decoded_items(outputs)
        return [decode_output(output) for output in outputs]

    def _default_chunksize(self, items: int) -> int:
        """multiprocessing's chunks for a map of a known length: four per worker. (A CPython
        instance takes about a millisecond to make, which the pool's own measure of a task's
        time would count, keeping chunks of one or two items under isolation="chunk".)"""
        chunksize, extra = divmod(items, self._pool.processes * 4)
        return max(1, chunksize + bool(extra))

    def imap(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """A lazy iterator of the outputs in input order."""
        if not is_function(func):
            return self._pool.imap(func, *args, **kwargs)
        return self._function_iterator("imap", func, args, kwargs)

    def imap_unordered(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """As ``imap``, the outputs as tasks complete."""
        if not is_function(func):
            return self._pool.imap_unordered(func, *args, **kwargs)
        return self._function_iterator("imap_unordered", func, args, kwargs)

    def _function_iterator(self, method: str, func: Callable, args: tuple, kwargs: dict) -> Any:
        iterable, chunksize, keep_going = _map_args(args, kwargs)
        task = function_task(func)
        inputs = (_item_input(task, item, False) for item in iterable)
        iterator = getattr(self._pool, method)(
            task.module, "call", inputs, chunksize, keep_going=keep_going
        )
        return DecodedIterator(iterator)

    def apply(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwds)`` in a task; its result, or its exception raised."""
        if not is_function(func):
            return self._pool.apply(func, *args, **kwargs)
        return self.apply_async(func, *args, **kwargs).get()

    def apply_async(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``apply`` queued: an ``AsyncResult`` at once; ``callback(result)`` or
        ``error_callback(exception)`` when it ends."""
        if not is_function(func):
            return self._pool.apply_async(func, *args, **kwargs)
        call_args, kwds, callback, error_callback = _apply_args(args, kwargs)
        task = function_task(func)
        result = self._pool.apply_async(
            task.module,
            "apply",
            tuple(task.apply_input(tuple(call_args), kwds)),
            _decoding(callback, many=False),
            _converting(error_callback),
        )
        return DecodedResult(result, many=False)

    def map_async(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``map`` queued: an ``AsyncResult`` of the list of outputs."""
        if not is_function(func):
            return self._pool.map_async(func, *args, **kwargs)
        return self._function_map_async(func, args, kwargs, star=False)

    def starmap_async(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``starmap`` queued: an ``AsyncResult`` of the list of outputs."""
        if not is_function(func):
            return self._pool.starmap_async(func, *args, **kwargs)
        return self._function_map_async(func, args, kwargs, star=True)

    def _function_map_async(self, func: Callable, args: tuple, kwargs: dict, star: bool) -> Any:
        names = ("iterable", "chunksize", "callback", "error_callback")
        values = dict(zip(names, args))
        values.update(kwargs)
        task = function_task(func)
        inputs = [_item_input(task, item, star) for item in values["iterable"]]
        chunksize = values.get("chunksize") or self._default_chunksize(len(inputs))
        result = self._pool.map_async(
            task.module,
            "call",
            inputs,
            chunksize,
            _decoding(values.get("callback"), many=True),
            _converting(values.get("error_callback")),
        )
        return DecodedResult(result, many=True)


def _map_args(args: tuple, kwargs: dict) -> Tuple[Iterable, Optional[int], bool]:
    """``(iterable, chunksize)`` and ``keep_going`` of a function map's call."""
    names = ("iterable", "chunksize")
    values: Dict[str, Any] = dict(zip(names, args))
    extra = set(kwargs) - {"iterable", "chunksize", "keep_going"}
    if len(args) > len(names) or extra:
        raise TypeError(f"unexpected arguments: {sorted(extra) or args[len(names):]}")
    values.update(kwargs)
    if "iterable" not in values:
        raise TypeError("missing the iterable of inputs")
    return values["iterable"], values.get("chunksize"), bool(values.get("keep_going", False))


def _apply_args(args: tuple, kwargs: dict) -> Tuple[tuple, dict, Any, Any]:
    """``(args, kwds, callback, error_callback)`` of a function's ``apply``, as
    multiprocessing's ``apply_async(func, args=(), kwds={}, callback=None,
    error_callback=None)`` takes them."""
    names = ("args", "kwds", "callback", "error_callback")
    values: Dict[str, Any] = dict(zip(names, args))
    values.update(kwargs)
    return (
        tuple(values.get("args") or ()),
        dict(values.get("kwds") or {}),
        values.get("callback"),
        values.get("error_callback"),
    )


def _item_input(task: FunctionTask, item: Any, star: bool) -> list:
    return task.call_input(tuple(item) if star else (item,))


def _decoding(callback: Optional[Callable], many: bool) -> Optional[Callable]:
    if callback is None:
        return None
    if many:
        return lambda outputs: callback([decode_output(output) for output in outputs])
    return lambda output: callback(decode_output(output))


def _converting(error_callback: Optional[Callable]) -> Optional[Callable]:
    if error_callback is None:
        return None
    return lambda error: error_callback(converted(error))


class DecodedIterator:
    """A map iterator whose outputs are a Python task's values, failures converted."""

    def __init__(self, iterator: Any) -> None:
        self._iterator = iterator

    def __iter__(self) -> "DecodedIterator":
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._iterator)
        except TaskError as error:
            raise converted(error) from None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int):
            index, output = item  # imap_unordered(indexed=True)
            return index, _decoded(output)
        return _decoded(item)

    def close(self) -> None:
        """Stops the map: no more inputs are read and running tasks are cancelled."""
        self._iterator.close()


def _decoded(item: Any) -> Any:
    if isinstance(item, BaseException):
        return converted(item)
    return decode_output(item)


class DecodedResult:
    """An ``AsyncResult`` whose value is a Python task's, failures converted."""

    def __init__(self, result: Any, many: bool) -> None:
        self._result = result
        self._many = many

    def get(self, timeout: Optional[float] = None) -> Any:
        """The value, waiting up to ``timeout`` seconds; the task's exception raised."""
        try:
            value = self._result.get(timeout)
        except TaskError as error:
            raise converted(error) from None
        if self._many:
            return [decode_output(output) for output in value]
        return decode_output(value)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Waits up to ``timeout`` seconds for the result."""
        self._result.wait(timeout)

    def ready(self) -> bool:
        """Whether the call has finished."""
        return self._result.ready()

    def successful(self) -> bool:
        """Whether it finished without an exception (``ValueError`` while not ready)."""
        return self._result.successful()


# multiprocessing numbers every process it makes, named or not: `Process-1`, `Process-2`...
_process_counter = itertools.count(1)


class Process:
    """A task run on a thread of its own: multiprocessing's ``Process(target=f, args=(...))``
    with a module-level Python function, or ``Process(module, task, args)``. The sandbox's
    keywords are the pool's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        target = kwargs.pop("target", None)
        if target is None and len(args) >= 2 and args[0] is None and is_function(args[1]):
            # multiprocessing's positional form: Process(group, target, name, args, kwargs)
            names = ("group", "target", "name", "args", "kwargs")
            kwargs.update(zip(names, args))
            args = ()
            target = kwargs.pop("target")
        number = next(_process_counter)
        self.name = kwargs.pop("name", None) or f"Process-{number}"
        self.daemon = kwargs.pop("daemon", None)
        self._reported = False
        kwargs.pop("group", None)
        if target is None:
            self._process = _hecaton.Process(*args, **kwargs)
            self._decode = False
            return
        call_args = tuple(kwargs.pop("args", ()) or ())
        call_kwargs = dict(kwargs.pop("kwargs", None) or {})
        if args:
            raise TypeError("Process(target=f, args=(...), kwargs={...}): no other positionals")
        task = function_task(target)
        self._process = _hecaton.Process(
            task.module, "apply", tuple(task.apply_input(call_args, call_kwargs)), **kwargs
        )
        self._decode = True

    @classmethod
    def command(cls, *args: Any, **kwargs: Any) -> "Process":
        """A process of a WASI command: ``Process.command(module, args, stdin, ...)``, as the
        extension's ``Process.command``."""
        process = cls.__new__(cls)
        process.name = f"Process-{next(_process_counter)}"
        process.daemon = None
        process._reported = False
        process._process = _hecaton.Process.command(*args, **kwargs)
        process._decode = False
        return process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._process, name)

    def __repr__(self) -> str:
        return repr(self._process)

    def start(self) -> None:
        """Starts the task."""
        self._process.start()

    def join(self, timeout: Optional[float] = None) -> None:
        """Waits up to ``timeout`` seconds for the task to end. A function that raised has its
        traceback printed on stderr, as multiprocessing's child prints it."""
        self._process.join(timeout)
        if self._decode and not self._reported and not self._process.is_alive():
            self._reported = True
            try:
                self._process.result(0)
            except TaskError as error:
                failure = converted(error)
                traceback = getattr(failure, "traceback", "") or f"{failure}\n"
                print(f"Process {self.name}:\n{traceback}", end="", file=sys.stderr)
            except Exception:  # noqa: BLE001 - the report is diagnostics only
                pass

    def result(self, timeout: Optional[float] = None) -> Any:
        """The task's output, waiting for it; its exception raised."""
        try:
            value = self._process.result(timeout)
        except TaskError as error:
            raise converted(error) from None
        return decode_output(value) if self._decode else value
