"""The type stubs describe what the extension has: the same classes, methods and properties."""

from __future__ import annotations

import ast
from pathlib import Path

import hecaton
from hecaton import _hecaton

STUBS = Path(hecaton.__file__).with_name("_hecaton.pyi")


def stub_classes():
    tree = ast.parse(STUBS.read_text())
    return {
        node.name: {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def test_stubs_match_the_extension():
    classes = stub_classes()
    runtime = {name for name in dir(_hecaton) if not name.startswith("_")}
    assert set(classes) == runtime
    for name, members in classes.items():
        cls = getattr(_hecaton, name)
        public = {member for member in dir(cls) if not member.startswith("_")}
        declared = {member for member in members if not member.startswith("_")}
        assert declared == public, name


def test_every_public_method_has_a_docstring():
    for name in stub_classes():
        cls = getattr(_hecaton, name)
        assert cls.__doc__, name
        for member in dir(cls):
            if not member.startswith("_"):
                assert getattr(cls, member).__doc__, f"{name}.{member}"


def test_the_package_exports_what_it_says():
    assert sorted(hecaton.__all__) == sorted(
        name for name in vars(hecaton) if not name.startswith("_") and name[0].isupper()
    )
