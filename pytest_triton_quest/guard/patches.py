"""Attribute replacements on Triton's classes and modules that can be undone exactly, with the
hooks a Triton version lacks noted rather than raised.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable


# ----- global state: open watches, running launches, installed patches ----------------------------
class _Patches:
    """Attribute replacements that can be undone exactly."""

    _MISSING = object()

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self.missing: list[str] = []  # hooks this Triton does not have, "Owner.name"

    def set(self, owner: Any, name: str, value: Any) -> None:
        # Look in the owner's own namespace so that an inherited attribute is deleted, not copied, later.
        namespace = owner.__dict__ if hasattr(owner, "__dict__") else {}
        self._undo.append((owner, name, namespace.get(name, self._MISSING)))
        setattr(owner, name, value)

    def wrap(self, owner: Any, label: str, name: str, make: Callable[[Any], Any]) -> bool:
        """Replace owner.name by make(original); a missing name is noted in `missing`, not raised:
        a Triton that renamed one hook must still run kernels (the self-test reports it)."""
        original = _own_attribute(owner, name)
        if original is None:
            self.missing.append(f"{label}.{name}")
            return False
        self.set(owner, name, make(original))
        return True

    def restore(self) -> None:
        while self._undo:
            owner, name, previous = self._undo.pop()
            if previous is self._MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, previous)


def _own_attribute(owner: Any, name: str) -> Any:
    """owner.name, or None when the owner does not define it. For a class, only its own MRO counts:
    every class "has" `__call__` through its metaclass, which is not the hook we want."""
    if owner is None:
        return None
    if isinstance(owner, type):
        if not any(name in vars(klass) for klass in owner.__mro__ if klass is not object):
            return None
    return getattr(owner, name, None)
