"""Work-arounds for known defects of older Triton interpreters, applied only where they exist.

Triton 3.6's interpreter turns a scalar into a Python int with `int(array)` on a one-element 1-D
numpy array, which numpy 2.4 and later reject ("only 0-dimensional arrays can be converted to Python
scalars"). Every `for i in range(0, n, BLOCK)` with a runtime `n` hits it, so a correct learner loop
would fail for reasons that are not theirs. Later Triton releases squeeze the array first; this
module makes 3.6 do the same.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply_interpreter_fixes() -> None:
    """Idempotent; call before interpreted kernels run."""
    global _applied
    if _applied:
        return
    _applied = True
    from triton.runtime import interpreter

    original = getattr(interpreter, "_patch_lang_tensor", None)
    if original is None or _index_is_safe(interpreter):
        return

    def patch_lang_tensor(tensor: Any, scope: Any) -> None:
        original(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    interpreter._patch_lang_tensor = patch_lang_tensor


def _index_is_safe(interpreter: Any) -> bool:
    """True when this Triton already converts one-element arrays safely (3.7 and later)."""
    import inspect

    try:
        source = inspect.getsource(interpreter._patch_lang_tensor)
    except (OSError, TypeError):
        return True  # cannot tell: leave Triton alone
    return "int(self.handle.data)" not in source
