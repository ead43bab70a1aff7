"""hecaton inside a task: a stand-in, so that the module's `from hecaton import Pool` imports.

The real package is a native extension for the host; inside the sandbox a task cannot start
pools or processes, so every name is a class that refuses to be made (and, being an exception
class, still works in an `except` clause).
"""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def refuse(self, *args, **kwargs):
        raise RuntimeError(f"hecaton.{name} cannot be used inside a task")

    stand_in = type(name, (Exception,), {"__init__": refuse, "__module__": "hecaton"})
    globals()[name] = stand_in
    return stand_in
