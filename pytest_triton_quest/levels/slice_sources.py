"""Which (batch, head) slice of each input did a wrong output slice come from?

A kernel that leaves out a batch or head offset, or maps a query head to the wrong key/value head,
computes the right function of the wrong inputs. For each wrong (batch, head) slice of the output,
this module recomputes the slice with one input taken from every other slice in turn (and with all
inputs taken from another slice), and keeps the sources that reproduce the learner's values within
tolerance. When most wrong slices have exactly one such source, and the sources follow one rule, the
rule is named: it is what the kernel read, observed, not guessed.

The levels give the function of one slice (`compute`) and, for grouped-query attention, which slice
of an input a (batch, head) of the output should read (`own`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .._lazy import torch
from ..model import Failure
from ..origins import relation
from . import evidence

if TYPE_CHECKING:
    import torch as torch_types

Slices = dict[str, "torch_types.Tensor"]
# At most this many wrong output slices are searched, and no slice longer than this many rows.
_MAX_SLICES = 12
_MAX_S = 512
# Recomputations of one slice a failure may cost in all (a few seconds for the longest case).
_MAX_RECOMPUTATIONS = 600
# Share of the searched wrong slices that must have exactly one source for a rule to be named.
_MIN_SHARE = 0.75
ALL = "*"  # every input moved together


def own_slice(name: str, b: int, h: int) -> tuple[int, int]:
    return b, h


def slice_source_note(
    failure: Failure,
    names: tuple[str, ...],
    compute: Callable[[Slices], "torch_types.Tensor"],
    own: Callable[[str, int, int], tuple[int, int]] = own_slice,
    head_rules: dict[str, Callable[[int], int]] | None = None,
    right_rule: Callable[[str], str] | None = None,
) -> str | None:
    """The `likely:` line when the wrong slices were computed from other slices of the inputs.
    `head_rules`: formulas a head mapping may follow ("h % Hkv": ...), named when one fits every
    head found; `right_rule`: the formula the level asks for, by the input(s) that moved."""
    inputs = {name: failure.inputs[name].to(device="cpu", dtype=torch.float64) for name in names}
    out, bad, tolerance = failure.out, failure.bad, failure.tolerance
    if evidence.unwritten_among(failure, bad):
        return None  # some results were never stored: the right values may sit in the wrong place
    if out.dim() != 4 or out.shape[-2] > _MAX_S:
        return None
    B, H = out.shape[:2]
    wrong = [(b, h) for b in range(B) for h in range(H) if bool(bad[b, h].any()) and bool(torch.isfinite(out[b, h]).any())]
    if not wrong or all(inputs[name].shape[0] * inputs[name].shape[1] == 1 for name in names):
        return None
    # Each wrong slice costs one recomputation per candidate source: search as many as the budget allows.
    per_slice = sum(inputs[name].shape[0] * inputs[name].shape[1] for name in names) * 2
    searched_slices = max(1, min(_MAX_SLICES, _MAX_RECOMPUTATIONS // max(per_slice, 1)))
    found: list[tuple[int, int, str, int, int]] = []  # (b, h, input or ALL, source b, source h)
    for b, h in wrong[:searched_slices]:
        sources = _sources(inputs, names, compute, own, b, h, out[b, h], tolerance.atol, tolerance.rtol)
        if len(sources) == 1:
            found.append((b, h, *sources[0]))
    searched = min(len(wrong), searched_slices)
    if not found:
        return _wrong_stride_note(inputs, names, compute, own, wrong[:searched_slices], out, tolerance.atol, tolerance.rtol)
    if len(found) < _MIN_SHARE * searched:
        return None
    moved = {entry[2] for entry in found}
    if len(moved) != 1:
        return None
    name = moved.pop()
    first = names[0] if name == ALL else name.split(" and ")[0].strip("`")
    owns = [own(first, b, h) for b, h, *_ in found]
    batch_rule = relation([o[0] for o in owns], [entry[3] for entry in found])
    head_rule = relation([o[1] for o in owns], [entry[4] for entry in found])
    what = "every input" if name == ALL else name
    reads = f"{what} {'are' if ' and ' in what else 'is'} read at the wrong (batch, head)"
    parts = []
    fitting = [text for text, rule in (head_rules or {}).items() if all(rule(entry[1]) == entry[4] for entry in found)]
    if head_rule not in ("same", None) and fitting:
        # A formula that fits every head found says more than "head 0" where both fit; where several
        # fit, the heads found cannot tell them apart, so each is named.
        right = right_rule(name) if right_rule is not None else "h, its own"
        formula = fitting[0] if len(fitting) == 1 else " or ".join(fitting) + " (each fits every head found)"
        parts.append(f"output head h reads head {formula}; it must read {right}")
        head_rule = "same"  # said
    if batch_rule == "first:0":
        parts.append("every batch reads batch 0: the batch offset is missing")
    elif batch_rule not in ("same", None):
        parts.append("the batch index is wrong")
    if head_rule == "first:0":
        parts.append("every head reads head 0: the head offset is missing")
    elif head_rule not in ("same", None):
        pairs = sorted({(entry[1], entry[4]) for entry in found})
        shown = ", ".join(f"{h}->{source}" for h, source in pairs[:8])
        expected = sorted({(entry[1], o[1]) for entry, o in zip(found, owns)})
        right = ", ".join(f"{h}->{target}" for h, target in expected[:8])
        parts.append(f"output head -> the head it read: {shown}; it must read {right}")
    if batch_rule is None or head_rule is None or not parts:
        return None
    example = found[0]
    source = f"(batch {example[3]}, head {example[4]})"
    return f"likely: {reads}: output slice (batch {example[0]}, head {example[1]}) is computed from {source}; " + "; ".join(parts)


def _sources(
    inputs: Slices,
    names: tuple[str, ...],
    compute: Callable[[Slices], "torch_types.Tensor"],
    own: Callable[[str, int, int], tuple[int, int]],
    b: int,
    h: int,
    target: "torch_types.Tensor",
    atol: float,
    rtol: float,
) -> list[tuple[str, int, int]]:
    """Every (input, source b, source h) whose substitution reproduces `target`; ALL for all at once."""
    base = {name: inputs[name][own(name, b, h)] for name in names}
    matches: list[tuple[str, int, int]] = []

    def agrees(slices: Slices) -> bool:
        return evidence.close_to(target, compute(slices), 2 * atol, 2 * rtol)

    # One input moved, or two of the same layout moved together (k and v from one wrong kv head).
    groups = [(name,) for name in names] + [
        (first, second)
        for index, first in enumerate(names)
        for second in names[index + 1 :]
        if len(names) > 2 and inputs[first].shape[:2] == inputs[second].shape[:2]
    ]
    for group in groups:
        tensor = inputs[group[0]]
        for b2 in range(tensor.shape[0]):
            for h2 in range(tensor.shape[1]):
                if (b2, h2) == own(group[0], b, h):
                    continue
                if agrees({**base, **{name: inputs[name][b2, h2] for name in group}}):
                    matches.append((" and ".join(f"`{name}`" for name in group), b2, h2))
    first = inputs[names[0]]
    for b2 in range(first.shape[0]):
        for h2 in range(first.shape[1]):
            if (b2, h2) == (b, h):
                continue
            moved = {name: inputs[name][own(name, b2, h2)] for name in names}
            if agrees(moved):
                matches.append((ALL, b2, h2))
    return matches


# The strides of a contiguous (B, H, S, D) tensor a (batch, head) offset may wrongly multiply.
_STRIDE_NAMES = {2: "row", 3: "element"}


def _wrong_stride_note(
    inputs: Slices,
    names: tuple[str, ...],
    compute: Callable[[Slices], "torch_types.Tensor"],
    own: Callable[[str, int, int], tuple[int, int]],
    wrong: list[tuple[int, int]],
    out: "torch_types.Tensor",
    atol: float,
    rtol: float,
) -> str | None:
    """A (batch, head) offset that multiplies the wrong stride: slice i = b * H + h of an input read
    from element i * stride(2) (its row stride) or i * stride(3) on, instead of i * S * D. Named when
    that one window, of one input, reproduces most wrong slices; each window is recomputed once."""
    hits: list[tuple[int, int, str, int, int]] = []  # (b, h, input, stride dim, the input's slice index)
    for b, h in wrong:
        base = {name: inputs[name][own(name, b, h)] for name in names}
        found = []
        for name in names:
            tensor = inputs[name]
            if tensor.dim() != 4 or not tensor.is_contiguous():
                continue
            S, D = tensor.shape[-2:]
            ob, oh = own(name, b, h)
            index = ob * tensor.shape[1] + oh
            flat = tensor.flatten()
            for dim in _STRIDE_NAMES:
                start = index * tensor.stride(dim)
                if index == 0 or start + S * D > flat.numel():
                    continue
                window = flat[start : start + S * D].view(S, D)
                if evidence.close_to(out[b, h], compute({**base, name: window}), 2 * atol, 2 * rtol):
                    found.append((name, dim, index))
        if len(found) == 1:
            hits.append((b, h, *found[0]))
    kinds = {(name, dim) for _, _, name, dim, _ in hits}
    if not hits or len(kinds) != 1 or len(hits) < _MIN_SHARE * len(wrong):
        return None
    b, h, name, dim, index = hits[0]
    step, whole = inputs[name].stride(dim), inputs[name].stride(1)
    return (
        f"likely: `{name}` is read from the wrong offset: the (batch, head) offset multiplies its "
        f"{_STRIDE_NAMES[dim]} stride ({step}) where the head stride ({whole}) belongs; output slice (batch {b}, "
        f"head {h}) reads `{name}` from element {index} * {step} = {index * step} on, not {index * whole}"
    )

