"""Plain Python functions as tasks: ``Pool(4).map(square, [1, 2, 3])``.

A module-level function is run as multiprocessing's ``spawn`` start method runs it in a child:
its module (the main script included, imported under another name so that its ``if __name__
== '__main__':`` block does not run) is built once into a sandboxed component by
componentize-py (:mod:`hecaton._build`, cached by content hash), and every call runs in a fresh
instance of it. Arguments and results cross in :mod:`hecaton._codec` (no pickle: the host
decodes only plain Python values), and an exception raised in the task is raised in the
caller as a class that is both the task's built-in exception and :class:`hecaton.TaskError`.

The component's world (``_guest/wit/runner.wit``) exports ``call(function, args)`` and
``apply(function, args, kwargs)``; this module turns a function and its arguments into their
JSON inputs, and their outputs back into values.
"""

from __future__ import annotations

import builtins
import inspect
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional, Tuple, Type

from . import _build, _codec
from ._errors import GuestError, TaskError

__all__ = ["FunctionTask", "function_task", "is_function"]


def is_function(value: Any) -> bool:
    """Whether ``value`` is meant as a Python function task (anything callable that is not a
    module path or a loaded module)."""
    return callable(value) and not isinstance(value, (str, os.PathLike))


def cache_dir() -> Path:
    """Where built components are kept: beside the compile cache (``HECATON_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/hecaton``, else ``~/.cache/hecaton``), under ``python/``."""
    root = os.environ.get("HECATON_CACHE_DIR")
    if root:
        return Path(root) / "python"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "hecaton" / "python"


class FunctionTask:
    """A function resolved to its component: the loaded module and the function's name."""

    def __init__(self, module: Any, name: str) -> None:
        self.module = module
        self.name = name

    def call_input(self, args: Tuple[Any, ...]) -> list:
        """The JSON input of ``call``: the function's name and the codec text of ``args``."""
        return [self.name, _codec.encode(list(args))]

    def apply_input(self, args: Tuple[Any, ...], kwargs: Optional[Dict[str, Any]]) -> list:
        """The JSON input of ``apply``: name, positional and keyword arguments."""
        return [self.name, _codec.encode(list(args)), _codec.encode(dict(kwargs or {}))]


_lock = threading.Lock()
_tasks: Dict[Tuple[str, str], Any] = {}


def function_task(function: Callable) -> FunctionTask:
    """The component task of a module-level function, building its module's component on first
    use (said on stderr) and loading it once per interpreter.

    Raises:
        TypeError: a lambda, a nested function or closure, a bound method, a built-in, or a
            function its module does not have under its name (multiprocessing cannot pickle
            them either).
    """
    name, module_name, module_file = _locate(function)
    from ._hecaton import Module  # the extension, imported late: the codec needs none of it

    with _lock:
        key = (module_file, module_name)
        module = _tasks.get(key)
        if module is None:
            path = _build.build_component(module_file, module_name, cache_dir())
            module = Module(str(path))
            _tasks[key] = module
    return FunctionTask(module, name)


def _locate(function: Callable) -> Tuple[str, str, str]:
    """The function's name, its module's name and its module's file."""
    what = getattr(function, "__qualname__", None) or repr(function)
    if inspect.ismethod(function):
        raise TypeError(
            f"cannot run the bound method {what} as a task: a task is a module-level function "
            "(multiprocessing cannot pickle a bound method either)"
        )
    if not inspect.isfunction(function):
        raise TypeError(
            f"cannot run {what!s} ({type(function).__name__}) as a task: a task is a "
            "module-level Python function defined with `def` in a .py file"
        )
    if function.__name__ == "<lambda>":
        raise TypeError(
            "cannot run a lambda as a task: define it with `def` at the module's top level "
            "(multiprocessing cannot pickle a lambda either)"
        )
    if "<locals>" in function.__qualname__ or function.__closure__:
        raise TypeError(
            f"cannot run the nested function {function.__qualname__} as a task: define it at "
            "the module's top level (multiprocessing cannot pickle it either)"
        )
    module = sys.modules.get(function.__module__)
    module_file = getattr(module, "__file__", None)
    if module is None or not module_file or not module_file.endswith(".py"):
        raise TypeError(
            f"cannot run {function.__qualname__} as a task: its module "
            f"{function.__module__!r} is not a .py file (an interactive session or a "
            "notebook cell has none to build)"
        )
    if getattr(module, function.__name__, None) is not function:
        raise TypeError(
            f"cannot run {function.__qualname__} as a task: its module {function.__module__!r} "
            f"has no top-level name {function.__name__!r} for it"
        )
    return function.__name__, function.__module__, module_file


def decode_output(output: Any) -> Any:
    """A task's result from the ``ok`` text of its call."""
    if not isinstance(output, str):
        raise HostErrorFor(f"a Python task's output is {type(output).__name__}, not codec text")
    return _codec.decode(output)


class HostErrorFor(ValueError):
    """A Python task's output could not be read."""


_exception_classes: Dict[Type[BaseException], Optional[Type[BaseException]]] = {}


def converted(error: BaseException) -> BaseException:
    """The exception to raise for a task's failure: a :class:`GuestError` whose message is the
    guest's description of an exception becomes a class that is both that built-in exception
    and :class:`TaskError` (``except ValueError:`` catches it), with the guest's traceback as
    ``.traceback``; other exceptions are the guest's ``GuestError`` naming the type. Anything
    else is returned as it is."""
    if not isinstance(error, GuestError):
        return error
    try:
        described = json.loads(getattr(error, "guest_message", ""))
    except (TypeError, ValueError):
        return error
    if not isinstance(described, dict) or "type" not in described:
        return error
    type_name = str(described.get("type"))
    module = str(described.get("module", ""))
    message = str(described.get("message", ""))
    traceback = str(described.get("traceback", ""))
    # The nearest built-in class of the guest's exception (`ValueError` for a
    # `json.JSONDecodeError`): raised only when it is an `Exception` (never `SystemExit`,
    # `KeyboardInterrupt`, `GeneratorExit`: the text is the guest's).
    base = getattr(builtins, str(described.get("builtin", "")), None)
    details = dict(error.__dict__)
    details.pop("message", None)
    kind = details.pop("kind", "guest_error")
    index = details.pop("index", None)
    attempts = details.pop("attempts", None)
    details.update(
        exception_type=type_name if module == "builtins" else f"{module}.{type_name}",
        traceback=traceback,
    )
    cls = None
    if isinstance(base, type) and issubclass(base, Exception) and base is not Exception:
        cls = _exception_class(base)
    if cls is not None:
        exception = cls.__new__(cls)
        args = _guest_args(described, message)
        try:
            base.__init__(exception, *args)
        except Exception:  # noqa: BLE001 - a built-in that wants other arguments
            base.__init__(exception, message)
        TaskError.__init__(
            exception, message, kind=kind, index=index, attempts=attempts, **details
        )
        exception.args = tuple(args)
        return exception
    text = f"{details['exception_type']}: {message}" if message else details["exception_type"]
    return GuestError(text, kind=kind, index=index, attempts=attempts, **details)


def _guest_args(described: dict, message: str) -> list:
    """The exception's ``args`` as the guest gave them, when they decode."""
    encoded = described.get("args")
    if isinstance(encoded, str):
        try:
            args = _codec.decode(encoded)
        except ValueError:
            args = None
        if isinstance(args, (list, tuple)):
            return list(args)
    return [message]


def _exception_class(base: Type[BaseException]) -> Optional[Type[BaseException]]:
    """The class that is both ``base`` and :class:`GuestError`, made once per base; ``None``
    for a built-in whose instances cannot also be a ``TaskError`` (``OSError``'s family and a
    few others have a layout of their own)."""
    if base in _exception_classes:
        return _exception_classes[base]
    try:
        cls = type(
            base.__name__,
            (GuestError, base),
            {
                "__module__": "hecaton",
                "__doc__": f"A task raised {base.__name__}; also a hecaton.TaskError.",
                # `str(error)` is the built-in's, as multiprocessing's re-raised exception
                # prints (the input's index is `.index`).
                "__str__": base.__str__,
            },
        )
    except TypeError:
        cls = None
    _exception_classes[base] = cls
    return cls


def decoded_items(outputs: Iterable[Any]) -> list:
    """The outputs of a map with ``keep_going``: values decoded, failures converted."""
    return [
        converted(item) if isinstance(item, BaseException) else decode_output(item)
        for item in outputs
    ]
