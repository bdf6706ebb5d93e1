"""Work-arounds for where Triton's interpreter differs from compiled Triton, applied only where needed.

* Triton 3.6's interpreter turns a scalar into a Python int with `int(array)` on a one-element 1-D
  numpy array, which numpy 2.4 and later reject ("only 0-dimensional arrays can be converted to Python
  scalars"). Every `for i in range(0, n, BLOCK)` with a runtime `n` hits it, so a correct learner loop
  would fail for reasons that are not theirs. Later Triton releases squeeze the array first; this
  module makes 3.6 do the same.
* `and`, `or` and `not` on tensors: compiled Triton makes them element-wise (`logical_and`,
  `logical_or`, `__not__`), but the interpreter runs the kernel as Python, where a block of several
  elements is always "true": `mask_a and mask_b` returned `mask_b`, `not mask` returned False. A
  correct kernel then computed wrong values on the CPU only. The interpreter already rewrites a
  kernel's syntax tree before running it (`FunctionRewriter.ast_transformer`); these operators are
  rewritten there too, into calls that follow compiled Triton's rules: a tensor operand takes part
  element-wise, a Python or constexpr operand short-circuits as in Python.
* Several `@triton.autotune` configs: the interpreter has no GPU to time them on, and the autotuner's
  default benchmarker fails with "0 active drivers ([]). There should only be one." Under the
  interpreter the first config that survives the kernel's own pruning runs, untimed; a note says so
  once per kernel (`take_notes`), since the result must be right for every config anyway. A kernel
  that brings its own benchmarker (`do_bench=`) keeps it.

Every fix checks that the piece of Triton it changes is there and leaves Triton alone otherwise.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

_applied = False
_notes: list[str] = []  # said since the last take_notes()
_noted: set[str] = set()  # what has been said in this process, so each note comes once

BOOLEAN_HELPER = "_triton_quest_boolean"
NOT_HELPER = "_triton_quest_not"


def apply_interpreter_fixes() -> None:
    """Idempotent; call before interpreted kernels run."""
    global _applied
    if _applied:
        return
    _applied = True
    from triton.runtime import interpreter

    _fix_index(interpreter)
    _fix_booleans(interpreter)
    _fix_autotune(interpreter)


def take_notes() -> list[str]:
    """What the fixes did that the learner should know, each said once per process."""
    notes = list(_notes)
    _notes.clear()
    return notes


def _note_once(key: str, text: str) -> None:
    if key not in _noted:
        _noted.add(key)
        _notes.append(text)


# ----- int() of a one-element array (Triton 3.6 with numpy >= 2.4) ---------------------------------
def _fix_index(interpreter: Any) -> None:
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


# ----- and / or / not, element-wise as compiled Triton does them -----------------------------------
def _is_tensor(value: Any) -> bool:
    import triton.language as tl

    return isinstance(value, tl.tensor)


def boolean(is_and: bool, *operands: Callable[[], Any]) -> Any:
    """`a and b and ...` (or `or`) by compiled Triton's rule. Operands are evaluated in order; a
    Python or constexpr value that decides the result ends it as in Python (False for `and`, True
    for `or`) and one that does not is dropped; the tensors left are combined element-wise."""
    tensors: list[Any] = []
    value: Any = None
    for operand in operands:
        value = operand()
        if _is_tensor(value):
            tensors.append(value)
        elif bool(value) != is_and:
            return value
    if not tensors:
        return value  # Python's answer when nothing decided earlier: the last value
    result = tensors[0]
    for tensor in tensors[1:]:
        result = result.logical_and(tensor) if is_and else result.logical_or(tensor)
    return result


def negation(value: Any) -> Any:
    """`not value` by compiled Triton's rule: element-wise on a tensor, Python's `not` otherwise."""
    return value.__not__() if _is_tensor(value) else not value


class ElementwiseBooleans(ast.NodeTransformer):
    """Rewrites `a and b` into `_triton_quest_boolean(True, lambda: a, lambda: b)` (each operand
    still evaluated only when reached) and `not a` into `_triton_quest_not(a)`."""

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if any(isinstance(inner, ast.NamedExpr) for value in node.values for inner in ast.walk(value)):
            return node  # `:=` inside a lambda would bind in the lambda: leave such a rare line alone
        no_arguments = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
        operands = [ast.copy_location(ast.Lambda(args=no_arguments, body=value), value) for value in node.values]
        call = ast.Call(
            func=ast.Name(id=BOOLEAN_HELPER, ctx=ast.Load()),
            args=[ast.Constant(value=isinstance(node.op, ast.And)), *operands],
            keywords=[],
        )
        return ast.copy_location(call, node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if not isinstance(node.op, ast.Not):
            return node
        return ast.copy_location(ast.Call(func=ast.Name(id=NOT_HELPER, ctx=ast.Load()), args=[node.operand], keywords=[]), node)


class _ThenTriton:
    """The interpreter's own transformer, run after ours (it is only ever asked to `visit` a tree)."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def visit(self, tree: ast.AST) -> Any:
        return self.original.visit(ElementwiseBooleans().visit(tree))


def _fix_booleans(interpreter: Any) -> None:
    rewriter = getattr(interpreter, "FunctionRewriter", None)
    original = getattr(rewriter, "ast_transformer", None)
    if rewriter is None or not callable(getattr(original, "visit", None)) or isinstance(original, _ThenTriton):
        return
    # The rewritten kernel runs with the interpreter module's names added to its globals: the
    # helpers are found there.
    setattr(interpreter, BOOLEAN_HELPER, boolean)
    setattr(interpreter, NOT_HELPER, negation)
    rewriter.ast_transformer = _ThenTriton(original)


# ----- several autotune configs: run the first, untimed -------------------------------------------
def _fix_autotune(interpreter: Any) -> None:
    from triton.runtime import autotuner

    tuner = getattr(autotuner, "Autotuner", None)
    interpreted_type = getattr(interpreter, "InterpretedFunction", None)
    prune = getattr(tuner, "prune_configs", None)
    bench = getattr(tuner, "_bench", None)
    if tuner is None or interpreted_type is None or prune is None or bench is None:
        return

    def take_over(self: Any) -> bool:
        """An interpreted kernel timed by Triton's own benchmarker, which needs a GPU driver. A
        benchmarker the kernel brings (`do_bench=`) may work on the CPU: it is left to do its job."""
        own = getattr(self, "_do_bench", None)
        if own is not None and not str(getattr(own, "__module__", "") or "").startswith("triton."):
            return False
        fn = getattr(self, "fn", None)
        while fn is not None and not isinstance(fn, interpreted_type):
            fn = getattr(fn, "fn", None)  # through @triton.heuristics and nested wrappers
        return fn is not None

    def prune_configs(self: Any, kwargs: dict[str, Any]) -> Any:
        configs = prune(self, kwargs)
        if not take_over(self) or len(configs) <= 1:
            return configs
        name = getattr(getattr(self, "base_fn", None), "__name__", "the kernel")
        chosen = ", ".join(f"{key}={value}" for key, value in configs[0].kwargs.items()) or "its first config"
        _note_once(
            f"autotune:{name}",
            f"`{name}` has {len(configs)} @triton.autotune configs: the CPU interpreter cannot time them, so the "
            f"checks run the first one ({chosen}); on a GPU Triton times them all and keeps the fastest",
        )
        return configs[:1]

    def timed(self: Any, *args: Any, config: Any, **meta: Any) -> Any:
        if not take_over(self):
            return bench(self, *args, config=config, **meta)
        return [0.0, 0.0, 0.0]  # the one config left wins; nothing is run to time it

    tuner.prune_configs = prune_configs
    tuner._bench = timed
