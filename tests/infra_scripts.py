"""The scripts under infra/ (not a package), loaded as modules for the tests that call them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

INFRA = Path(__file__).resolve().parent.parent / "infra"


def load_infra_script(name: str) -> ModuleType:
    """``infra/<name>.py`` as module ``<name>`` (once per process; its own imports of sibling scripts work)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, INFRA / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
