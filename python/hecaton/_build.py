"""Builds a Python module into a sandboxed component whose functions are tasks.

:func:`build_component` runs componentize-py on the guest app ``_guest/runner.py`` (world
``runner`` of ``_guest/wit/runner.wit``), the codec ``_codec.py`` and the user's module, and
caches the component by content hash. The module's top level runs once, here, at build time;
every instance of the component starts from that snapshot.

componentize-py mounts each ``-p`` folder, in order, at ``/0``, ``/1``... while it
pre-initialises, and they stay on the guest's ``sys.path`` (``/python``, ``/world``, ``/0``,
``/1``, ..., ``/bundled``):

- ``/0``, the app: ``_hecaton_runner.py``, ``_hecaton_codec.py``, ``_hecaton_target.py``
  (which module, written here) and a stand-in ``hecaton`` package (the main script's ``from
  hecaton import Pool`` must import in the guest, where the real one, a native extension for
  the host, cannot);
- ``/1``, the user's folder: a copy of its ``.py`` files and packages only (componentize-py
  walks every ``-p`` folder whole, looking for native libraries: a script in ``~`` would have
  it walk the home folder), kept beside the component;
- ``/2``..., the caller's site-packages, so that a pure-Python package the module imports at
  its top level is in the snapshot (componentize-py's own search for site-packages is turned
  off by pointing ``VIRTUAL_ENV`` at an empty one: it would ask whatever ``python3`` is first
  on ``PATH``).

What the build did not import is not in the component. A host that grants, read-only, what
:func:`lazy_import_dirs` lists (the user's copy at ``/1``, site-packages at ``/2``...) and
:func:`stdlib_dir` at ``/python`` lets a task import more at run time, at a few milliseconds
a module.

Beside each component ``<stem>-<key>.wasm``: ``<stem>-<key>.json`` (the files the build
imported from the user's folder and site-packages, with their hashes: the component is rebuilt
when one changes; and the folders for :func:`lazy_import_dirs`) and ``<stem>-<key>.user/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
GUEST = HERE / "_guest"
WIT = GUEST / "wit"
WORLD = "runner"
WORLD_MODULE = "_hecaton_world"

# The guest side's files, by their names in the app folder. Their bytes are in every cache
# key: a change to any of them rebuilds every module.
APP_FILES = {
    "_hecaton_runner.py": GUEST / "runner.py",
    "_hecaton_codec.py": HERE / "_codec.py",
    "hecaton/__init__.py": GUEST / "hecaton_stub.py",
}
CACHE_FORMAT = b"hecaton-python-component-1"


class BuildError(RuntimeError):
    """componentize-py could not build the module (its output is the message)."""


def build_component(
    module_file: str,
    module_name: str,
    cache_dir: Path,
    *,
    preload: bool = True,
    site_dirs: Optional[Sequence[str]] = None,
) -> Path:
    """The component of ``module_file``'s functions: built on a cache miss, else the cached one.

    ``module_name`` is the module's ``__name__``: ``"__main__"`` (or ``"__mp_main__"``) for the
    main script, imported in the guest as ``__mp_main__`` from its source, so that its ``if
    __name__ == '__main__':`` block does not run; else the name it is imported by, from the
    folder that holds its top-level package. ``preload``: import the standard library modules
    of ``runner.PRELOADED`` into the snapshot too. ``site_dirs``: folders of pure-Python
    packages (default: the caller's site-packages).

    Says on stderr that it builds, and how long it took.

    Raises:
        BuildError: componentize-py failed (the module's top level raised, an import is not
            found, componentize-py is not installed...), its output in the message.
    """
    module_path = Path(module_file).resolve()
    source = module_path.read_bytes()
    main = module_name in ("__main__", "__mp_main__")
    root = module_path.parent if main else _import_root(module_path, module_name)
    sites = _existing_dirs(site_dirs if site_dirs is not None else _site_dirs())
    # A module installed in site-packages: its own package is enough in /1 (the rest is at /2...).
    only = None if main or root not in sites else module_name.partition(".")[0]

    key = _cache_key(module_path, module_name, source, preload, sites)
    output = Path(cache_dir) / f"{module_path.stem}-{key}.wasm"
    if output.is_file() and _imports_unchanged(output.with_suffix(".json")):
        return output

    print(
        f"hecaton: building {module_path.name} into a sandboxed component"
        " (first run only, ~20 s)…",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=output.parent) as temp:
        app, user = Path(temp, "app"), Path(temp, "user")
        _write_app(app, module_path, module_name, main, source, root, preload)
        _copy_importables(root, user, only)
        staged = Path(temp, output.name)
        try:
            _componentize(app, "_hecaton_runner", [user, *sites], staged, Path(temp))
        finally:
            _pass_on_prints(app / "_hecaton_printed")
        mounts = {"/1": root, **{f"/{i}": Path(d) for i, d in enumerate(sites, start=2)}}
        record = {
            "imported": _imported(app / "_hecaton_manifest.json", mounts),
            "lazy_import_dirs": {"/1": str(output.with_suffix(".user"))}
            | {guest: str(host) for guest, host in mounts.items() if guest != "/1"},
        }
        _replace_dir(user, output.with_suffix(".user"))
        _write_atomically(output.with_suffix(".json"), json.dumps(record, indent=1).encode())
        os.replace(staged, output)
    print(
        f"hecaton: built {output.name} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return output


def lazy_import_dirs(component: Path) -> Dict[str, Path]:
    """Guest path -> host folder to grant read-only so that the task's code can import at run
    time what its build did not: its own folder's modules (``/1``) and site-packages (``/2``...).
    """
    record = json.loads(Path(component).with_suffix(".json").read_text(encoding="utf-8"))
    return {guest: Path(host) for guest, host in record["lazy_import_dirs"].items()}


def stdlib_dir(cache_dir: Path) -> Path:
    """The standard library of the components' CPython, compiled, to grant read-only at
    ``/python``: with it a task imports any module of the standard library at run time, not only
    those in the snapshot. Extracted once per componentize-py version (~12 s), then cached.

    Raises:
        BuildError: componentize-py failed.
    """
    folder = Path(cache_dir) / f"stdlib-componentize-py-{_componentize_py_version()}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    print("hecaton: extracting the tasks' Python standard library (once)…", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix=".stdlib-", dir=folder.parent) as temp:
        app = Path(temp, "app")
        app.mkdir()
        shutil.copyfile(GUEST / "stdlib_export.py", app / "_hecaton_stdlib_export.py")
        _componentize(app, "_hecaton_stdlib_export", [], Path(temp, "unused.wasm"), Path(temp))
        _replace_dir(app / "stdlib", folder)
    return folder


def _import_root(module_path: Path, module_name: str) -> Path:
    """The folder from which `module_name` imports as `module_path` (its top package's parent)."""
    root = module_path.parent
    depth = module_name.count(".") + (1 if module_path.name == "__init__.py" else 0)
    for _ in range(depth):
        root = root.parent
    return root


def _site_dirs() -> List[str]:
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        dirs.insert(0, site.getusersitepackages())
    return dirs


def _existing_dirs(dirs: Sequence[str]) -> List[Path]:
    found: List[Path] = []
    for d in dirs:
        path = Path(d).resolve()
        if path.is_dir() and path not in found:
            found.append(path)
    return found


def _cache_key(
    module_path: Path, module_name: str, source: bytes, preload: bool, sites: List[Path]
) -> str:
    key = hashlib.sha256(CACHE_FORMAT)
    parts = [_componentize_py_version(), module_name, str(module_path), str(preload)]
    for part in parts + [str(s) for s in sites]:
        key.update(b"\0" + part.encode())
    key.update(b"\0" + source)
    wit = sorted((str(path.relative_to(WIT)), path) for path in WIT.rglob("*.wit"))
    for name, path in sorted(APP_FILES.items()) + wit:
        key.update(b"\0" + name.encode() + b"\0" + path.read_bytes())
    return key.hexdigest()[:32]


def _componentize_py_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("componentize-py")
    except metadata.PackageNotFoundError:
        raise BuildError(
            "componentize-py is not installed: `pip install componentize-py==0.25.1` builds"
            " Python functions into components"
        ) from None


def _write_app(
    app: Path,
    module_path: Path,
    module_name: str,
    main: bool,
    source: bytes,
    root: Path,
    preload: bool,
) -> None:
    (app / "hecaton").mkdir(parents=True)
    for name, path in APP_FILES.items():
        shutil.copyfile(path, app / name)
    target = (
        '"""Written by hecaton/_build.py: the module _hecaton_runner serves."""\n'
        f"MODULE = {('__mp_main__' if main else module_name)!r}\n"
        f"MAIN = {main!r}\n"
        f"FILENAME = {str(module_path)!r}\n"
        f"SOURCE = {source if main else b''!r}\n"
        f"PRELOAD = {preload!r}\n"
        "GUEST_ROOT = '/1'  # the user's folder, the second -p\n"
        f"HOST_ROOT = {str(root)!r}\n"
        "MANIFEST = '/0/_hecaton_manifest.json'  # what the build imported, for the cache\n"
        "BUILD_OUTPUT = '/0/_hecaton_printed'  # .stdout, .stderr: what the import printed\n"
    )
    (app / "_hecaton_target.py").write_text(target, encoding="utf-8")


def _copy_importables(root: Path, user: Path, only: Optional[str]) -> None:
    """Copies into `user` what `root` holds that Python imports: .py files and packages (only
    the module or package `only`, if given).

    Copies, not links: the guest reads them through a WASI preopen, which follows no link out
    of itself.
    """
    user.mkdir()
    skip = shutil.ignore_patterns("__pycache__", ".*")
    for entry in root.iterdir():
        if entry.name.startswith(".") or (only is not None and only not in (entry.name, entry.stem)):
            continue
        if entry.suffix == ".py" and entry.is_file():
            shutil.copyfile(entry, user / entry.name)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            shutil.copytree(entry, user / entry.name, ignore=skip)


def _componentize(app: Path, app_name: str, paths: List[Path], output: Path, temp: Path) -> None:
    venv = temp / "no-venv"
    (venv / "lib" / "site-packages").mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-c",
        "import sys, componentize_py; sys.argv[0] = 'componentize-py'; componentize_py.script()",
        "-d", str(WIT), "-w", WORLD, "--world-module", WORLD_MODULE,
        "componentize", app_name, "-p", str(app),
        *[arg for path in paths for arg in ("-p", str(path))],
        "-o", str(output),
    ]  # fmt: skip
    done = subprocess.run(
        command, env=dict(os.environ, VIRTUAL_ENV=str(venv)), capture_output=True, text=True
    )
    if done.returncode != 0 or not output.is_file():
        raise BuildError(f"componentize-py failed:\n{_without_backtrace(done.stderr or done.stdout)}")


def _pass_on_prints(prefix: Path) -> None:
    """What the module's top level printed while it was imported, printed here, once."""
    for name, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
        try:
            text = prefix.with_name(f"{prefix.name}.{name}").read_text(encoding="utf-8")
        except OSError:
            continue
        stream.write(text)
        stream.flush()


def _without_backtrace(text: str) -> str:
    # componentize-py ends its message with a Rust backtrace of itself: no help to the user.
    return text.split("\nStack backtrace:")[0].rstrip()


def _imported(manifest: Path, mounts: Dict[str, Path]) -> Dict[str, Optional[str]]:
    """Host path -> sha256 of each module file the build imported from the user's folders."""
    try:
        guest_paths = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    record = {}
    for guest_path in guest_paths:
        mount, _, rest = guest_path.partition("/")[2].partition("/")
        if f"/{mount}" in mounts and rest:
            host = mounts[f"/{mount}"] / rest
            record[str(host)] = _digest(host)
    return record


def _imports_unchanged(record_path: Path) -> bool:
    try:
        imported = json.loads(record_path.read_text(encoding="utf-8"))["imported"]
    except (OSError, ValueError, KeyError):
        return False
    return all(_digest(Path(path)) == digest for path, digest in imported.items())


def _digest(path: Path) -> Optional[str]:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _replace_dir(staged: Path, final: Path) -> None:
    """Moves `staged` to `final`, replacing what is there (a rename, so readers see either)."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        os.replace(final, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(staged, final)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
