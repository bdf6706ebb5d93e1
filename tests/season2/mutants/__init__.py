"""Staging copy of the mutant lists of Season 2 (levels 9 to 11).

The files `level9.py`, `level10.py` and `level11.py` here are written for `tests/mutants/` and import
`Mutant` from their package (`from . import Mutant`). Until they move there, this module provides the
same class by loading `tests/mutants/__init__.py` from the repository, so that the files run unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[2] / "mutants" / "__init__.py"
_spec = importlib.util.spec_from_file_location("_season2_mutant_base", _SOURCE)
assert _spec is not None and _spec.loader is not None, f"cannot load {_SOURCE}"
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module  # dataclasses look the defining module up by name
_spec.loader.exec_module(_module)

Mutant = _module.Mutant

__all__ = ["Mutant"]
