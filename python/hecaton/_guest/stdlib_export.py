"""An app built only for what its build leaves behind: the component's standard library.

componentize-py mounts the CPython standard library it embeds at /python while it builds; this
app's top level, run then by the guest's own CPython 3.14, copies it to the build folder (/0)
and compiles every module to a .pyc beside it. python/hecaton/_build.py's stdlib_dir() keeps
the copy for a host to grant read-only at /python, so that a module the snapshot lacks imports
at run time, from its .pyc (a task could not write one, and would compile the source on every
import). The component itself is thrown away.
"""

import py_compile
import shutil
from pathlib import Path

import _hecaton_world

shutil.copytree("/python", "/0/stdlib", ignore=shutil.ignore_patterns("__pycache__"))
root = Path("/0/stdlib")
for source in sorted(root.rglob("*.py")):
    try:
        # Named as the task will see it; unchecked: the granted copy never changes, so no time
        # stamp is compared on import.
        py_compile.compile(
            str(source),
            dfile=f"/python/{source.relative_to(root)}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        pass  # a file that is not valid Python 3.14 (test data): imported from nowhere


class HecatonWorld(_hecaton_world.HecatonWorld):
    # Never called: the component is thrown away.
    def call(self, function, args):
        raise NotImplementedError

    def call_batch(self, function, args):
        raise NotImplementedError

    def apply(self, function, args, kwargs):
        raise NotImplementedError
