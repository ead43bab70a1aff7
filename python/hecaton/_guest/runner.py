"""The app componentize-py builds: one user module's functions as tasks (world `runner`).

python/hecaton/_build.py copies this file into a build folder as ``_hecaton_runner.py``, beside
``_hecaton_codec.py`` (python/hecaton/_codec.py), ``_hecaton_target.py`` (which module, written
by the builder) and a stand-in ``hecaton`` package, and runs componentize-py on it. Everything
at this file's top level runs once, at build time, and is in the memory snapshot every instance
starts from: the user's module is imported here, its top level with it.

The main script is imported as multiprocessing's spawn imports it in a child: under the name
``__mp_main__``, so its ``if __name__ == '__main__':`` block does not run, and then also as
``sys.modules['__main__']``.
"""

import sys

# The build mounts the caller's site-packages writable: leave no CPython 3.14 .pyc there.
sys.dont_write_bytecode = True

import builtins  # noqa: E402 (the flag goes first)
import contextlib
import errno
import importlib
import io
import json
import linecache
import os
import traceback
import types

import _hecaton_codec as codec
import _hecaton_target as target
import _hecaton_world
from _hecaton_world.imports import context
from componentize_py_types import Err, Ok

# The standard library a task has without a grant: these modules are imported now, at build
# time, so they are in the snapshot and `import hashlib` inside a function finds them loaded.
# Measured (2-core machine, debug hecaton): a fresh instance and call ~1.05 ms with them or
# without; the component 20.6 MB (19.5 without), a task's memory 15.3 MiB (13.3); the build
# +0.3 s. Any other module imports at run time only if the host grants the standard library
# (_build.stdlib_dir()) at /python: 5-15 ms a module, on every call that imports it.
PRELOADED = (
    # What issue 22 names.
    "base64", "bisect", "collections", "copy", "csv", "dataclasses", "datetime", "decimal",
    "enum", "fractions", "functools", "hashlib", "heapq", "itertools", "json", "math",
    "operator", "random", "re", "statistics", "string", "struct", "textwrap", "typing",
    "unicodedata", "zlib",
    # What tasks often import too, or the above import lazily.
    "abc", "array", "calendar", "codecs", "contextlib", "difflib", "fnmatch", "graphlib",
    "gzip", "html", "html.parser", "io", "ipaddress", "locale", "numbers", "pathlib",
    "pprint", "secrets", "shlex", "time", "traceback", "types", "urllib.parse", "uuid",
    "warnings", "weakref", "xml.etree.ElementTree", "zipfile", "zoneinfo",
)  # fmt: skip


def _preload():
    for name in PRELOADED:
        importlib.import_module(name)
    # Every codec (`"x".encode("cp1252")`, `idna`'s punycode) is a module imported on first use.
    import encodings
    import pkgutil

    for codec_module in pkgutil.iter_modules(encodings.__path__, "encodings."):
        try:
            importlib.import_module(codec_module.name)
        except ImportError:  # mbcs, oem: Windows only; bz2_codec: no _bz2 in this CPython
            pass


def _load_module():
    """The user's module, imported at build time, with its source lines kept for tracebacks."""
    if target.MAIN:
        module = types.ModuleType("__mp_main__")
        module.__file__ = target.FILENAME
        sys.modules["__mp_main__"] = module
        code = compile(target.SOURCE, target.FILENAME, "exec", dont_inherit=True)
        exec(code, module.__dict__)
        sys.modules["__main__"] = module
        _keep_source(target.FILENAME, target.SOURCE.decode("utf-8", "replace"))
    else:
        module = importlib.import_module(target.MODULE)
    # The user's folder is /1, the caller's site-packages /2... (see _build.py): their module
    # files are recorded for the build's cache, and the user's own keep their source lines.
    imported = []
    for loaded in list(sys.modules.values()):
        path = getattr(loaded, "__file__", None) or ""
        mount = path[1:].partition("/")[0]
        if path.startswith("/") and mount.isdigit() and mount != "0":
            imported.append(path)
        if path.startswith(target.GUEST_ROOT + "/") and path.endswith(".py"):
            with open(path, encoding="utf-8", errors="replace") as file:
                _keep_source(path, file.read())
    try:
        with open(target.MANIFEST, "w", encoding="utf-8") as file:
            json.dump(sorted(imported), file)
    except OSError:
        pass  # the cache then checks the module's own source only
    return module


def _keep_source(path, text):
    # An entry whose mtime is None is never checked against the file system, so the lines stay
    # in the snapshot for tracebacks at run time, when the file is not there.
    lines = text.splitlines(keepends=True)
    linecache.cache[path] = (len(text), None, lines, path)


def _captured(load):
    """load(), its prints kept in files of the app folder for the builder to pass on
    (componentize-py's own pipe for them holds 10,000 bytes, and a print beyond fails)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return load()
    finally:
        for name, text in (("stdout", out.getvalue()), ("stderr", err.getvalue())):
            if text:
                with open(f"{target.BUILD_OUTPUT}.{name}", "w", encoding="utf-8") as file:
                    file.write(text)


if target.PRELOAD:
    _preload()
MODULE = _captured(_load_module)
_FUNCTIONS = {}


def _function(name):
    """The module-level callable `name` (a dotted qualified name reaches into classes)."""
    function = _FUNCTIONS.get(name)
    if function is None:
        function = MODULE
        for part in name.split("."):
            # The module's own functions and its classes' methods, not what it imported.
            if not part.isidentifier() or (function is not MODULE and _is_module(function)):
                raise AttributeError(f"{name!r} is not the qualified name of a function")
            try:
                function = getattr(function, part)
            except AttributeError:
                raise AttributeError(
                    f"module {MODULE.__name__!r} ({target.FILENAME}) has no function {name!r}"
                ) from None
        if not callable(function):
            raise TypeError(f"{name!r} of module {MODULE.__name__!r} is not callable")
        _FUNCTIONS[name] = function
    return function


def _is_module(value):
    return isinstance(value, types.ModuleType)


def _set_task_identity():
    # os.getpid() is wasi-libc's constant (42) in every task: here it is the task's id, which
    # hecaton gives every component that imports hecaton:task/context, different in every task
    # (an instance that serves several tasks of a chunk sees each one's).
    pid = context.id()
    os.getpid = lambda: pid


def _invoke(function, args, kwargs):
    """The codec text of function(*args, **kwargs), or Err with the exception's description."""
    try:
        try:
            positional = codec.decode(args)
            keywords = codec.decode(kwargs) if kwargs is not None else {}
        except ValueError as error:
            raise ValueError(f"malformed arguments from the host: {error}") from None
        if type(positional) not in (list, tuple):
            raise TypeError(f"arguments are a list, not {type(positional).__name__}")
        if type(keywords) is not dict:
            raise TypeError(f"keyword arguments are a dict, not {type(keywords).__name__}")
        return Ok(codec.encode(_function(function)(*positional, **keywords)))
    except BaseException as error:  # SystemExit and KeyboardInterrupt are the task's too
        return Err(_describe(error))
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass


def _describe(error):
    """The err text: the exception's class, nearest built-in class, message, args, traceback."""
    kind = type(error)
    try:
        message = str(error)
    except Exception:
        message = f"<str() of the {kind.__qualname__} failed>"
    try:
        args = codec.encode(error.args)
    except Exception:
        args = None
    tb = error.__traceback__
    if tb is not None and tb.tb_frame.f_code is _invoke.__code__:
        tb = tb.tb_next  # the runner's own frame
    text = "".join(traceback.format_exception(kind, error, tb))
    text = text.replace(f'File "{target.GUEST_ROOT}/', f'File "{target.HOST_ROOT}/')
    description = {
        "type": kind.__qualname__,
        "module": kind.__module__,
        "builtin": _builtin_base(kind),
        "message": message,
        "args": args,
        "traceback": text,
    }
    if isinstance(error, OSError) and error.errno in errno.errorcode:
        # WASI's numbers are not the host's (ENOENT is 44): the name is what to map.
        description["errno"] = errno.errorcode[error.errno]
    return json.dumps(description)


def _builtin_base(kind):
    """The name of the nearest built-in exception class `kind` derives from (itself included)."""
    for base in kind.__mro__:
        if base.__module__ == "builtins" and getattr(builtins, base.__name__, None) is base:
            return base.__name__
    return "BaseException"


class HecatonWorld(_hecaton_world.HecatonWorld):
    def call(self, function: str, args: str) -> str:
        _set_task_identity()
        outcome = _invoke(function, args, None)
        if isinstance(outcome, Err):
            raise outcome
        return outcome.value

    def call_batch(self, function: str, args: list) -> list:
        _set_task_identity()
        return [_invoke(function, one, None) for one in args]

    def apply(self, function: str, args: str, kwargs: str) -> str:
        _set_task_identity()
        outcome = _invoke(function, args, kwargs)
        if isinstance(outcome, Err):
            raise outcome
        return outcome.value
