"""The Python suite's helpers, loaded under private module names.

tests/py/conftest.py (process plumbing, the mock's control client, the baseline config) and
tests/py/support.py (upstream readers in each family's own shape) are reused, not copied. They are loaded
from their files under names of their own, so they never clash with the `conftest` module pytest loads
when tests/py runs in the same session, and the test module imports them from here, not from `conftest`.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PY_SUITE = HERE.parent / "py"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Private module names, so they never clash with the conftest pytest loads for tests/py itself.
pyconf = _load("switchyard_py_conftest", PY_SUITE / "conftest.py")
# support.py does `from conftest import …`: point that name at the Python suite's conftest while it loads.
_saved = sys.modules.get("conftest")
sys.modules["conftest"] = pyconf
try:
    support = _load("switchyard_py_support", PY_SUITE / "support.py")
finally:
    if _saved is not None:
        sys.modules["conftest"] = _saved
    else:
        del sys.modules["conftest"]

CLIENT_KEY = pyconf.CLIENT_KEY


def missing(reason: str) -> None:
    """Missing prerequisites fail under CI and skip locally (the Python suite's rule)."""
    pyconf._missing(reason)
