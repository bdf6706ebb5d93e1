"""The diagnosis rules of the fused attention levels, 7 (one kernel, online softmax) and 8 (Flash
Attention): both levels compute the same function from one launch, so a learner's kernel at either
level can carry the same bugs. Each rule replays a known bug in float64 (a missing rescale, a
skipped or unmasked diagonal tile, exp2 without log2(e), padded keys scored 0, ...) and fires only
when the learner's output matches that replay, not merely when something is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .._lazy import torch
from .attention_reference import attention64, float64, scale_of, visible
from .base import Failure, default_scale

if TYPE_CHECKING:
    import torch as torch_types

# Key block widths a kernel may use (tl.dot needs >= 16); diagnosis replays known bugs with each.
_BLOCK_WIDTHS = (16, 32, 64, 128)
_LOG2E = 1.4426950408889634


def diagnose_fused_attention(failure: Failure) -> list[str]:
    """Likely bugs of a fused attention kernel (levels 7 and 8), each replayed in float64 on the first
    (batch, head) slice and named only when the learner's output matches the replay."""
    out, ref, inputs = failure.out, failure.ref, failure.inputs
    params = failure.case.params
    causal: bool = inputs["causal"]
    scale = scale_of(inputs)
    S, D = ref.shape[-2], ref.shape[-1]
    notes: list[str] = []

    # --- NaN or inf where the answer is finite ---
    broken = ~torch.isfinite(out) & torch.isfinite(ref)
    if bool(broken.any()):
        rows = sorted(set(broken.any(dim=-1).nonzero()[:, -1].tolist()))
        notes.extend(_non_finite_notes(rows, S, causal, bool(params.get("large") or params.get("growing"))))

    # --- answers to slightly different questions, on the first (batch, head) slice ---
    q, k, v = (t[:1, :1] for t in float64(inputs))
    first, first_ref = out[:1, :1], ref[:1, :1]
    tolerance = failure.tolerance

    def close(a: "torch_types.Tensor", b: "torch_types.Tensor") -> "torch_types.Tensor":
        return (a - b).abs() <= 5 * (tolerance.atol + tolerance.rtol * b.abs())

    def resembles(candidate: "torch_types.Tensor", from_row: int = 0) -> bool:
        mine, theirs = first[..., from_row:, :], candidate[..., from_row:, :]
        if mine.numel() == 0 or not bool(torch.isfinite(mine).all()) or not bool(torch.isfinite(theirs).all()):
            return False
        # A candidate that matches the right answer explains nothing.
        if bool(close(theirs, first_ref[..., from_row:, :]).all()):
            return False
        return bool(close(mine, theirs).all())

    mask = "causal" if causal else "all"
    if S > 1:
        if resembles(attention64(q, k, v, visible(S, "all" if causal else "causal"), scale)):
            if causal:
                notes.append("likely: the causal mask is not applied: with causal=True, keys j > i must get weight 0")
            else:
                notes.append("likely: the causal mask is applied although causal=False: mask only when causal is True")
        if (
            causal
            and _DIAGONAL_MASKED not in notes
            and resembles(attention64(q, k, v, visible(S, "strict"), scale), from_row=1)
        ):
            notes.append("likely: the diagonal is masked too (j >= i): query i must see keys 0..i; hide only j > i")
    already_skipped = any("diagonal tile is skipped" in note for note in notes)
    notes.extend(_block_bugs(q, k, v, causal, scale, S, resembles, already_skipped))
    if scale != 1.0 and resembles(attention64(q, k, v, visible(S, mask), 1.0)):
        notes.append("likely: the scale is not applied: multiply q @ k^T by scale (1 / sqrt(D) when scale is None)")
    elif "scale" in inputs and resembles(attention64(q, k, v, visible(S, mask), default_scale(D))):
        notes.append("likely: the explicit `scale` argument is ignored: use 1 / sqrt(D) only when scale is None")
    if resembles(attention64(q, k, v, visible(S, mask), scale / _LOG2E)):
        notes.append(
            "likely: exp2 is used without log2(e) folded into the scale: exp(x) = exp2(x * log2(e)), so "
            "multiply the scale by 1.4426950408889634 once"
        )
    elif resembles(attention64(q, k, v, visible(S, mask), scale * _LOG2E)):
        notes.append(
            "likely: the scores are multiplied by log2(e) but exponentiated with exp (or log2(e) is applied "
            "twice): use exp2 with the log2(e) factor, or exp without it"
        )

    if not any("rescaled" in note or "diagonal" in note for note in notes):
        notes.extend(_late_rows_note(failure, causal))
    return notes

def _block_bugs(
    q: "torch_types.Tensor",
    k: "torch_types.Tensor",
    v: "torch_types.Tensor",
    causal: bool,
    scale: float,
    S: int,
    resembles: Callable[..., bool],
    already_skipped: bool,
) -> list[str]:
    """Replay the classic bugs of a blocked online softmax with each plausible block width."""
    notes: list[str] = []
    mask = "causal" if causal else "all"
    seen = visible(S, mask)
    for width in (w for w in _BLOCK_WIDTHS if w < S):
        if resembles(_online64(q, k, v, seen, scale, width, rescale_acc=False, rescale_l=True)):
            notes.append(
                "likely: the accumulator is not rescaled when the running max grows: before adding "
                "p @ v, multiply acc by alpha = exp(m_old - m_new)"
            )
        if resembles(_online64(q, k, v, seen, scale, width, rescale_acc=True, rescale_l=False)):
            notes.append(
                "likely: the normaliser is not rescaled when the running max grows: "
                "l = l * alpha + rowsum(p), with alpha = exp(m_old - m_new)"
            )
        if resembles(_online64(q, k, v, seen, scale, width, rescale_acc=False, rescale_l=False)):
            notes.append(
                "likely: neither the accumulator nor the normaliser is rescaled when the running max "
                "grows: multiply both acc and l by alpha = exp(m_old - m_new) before adding a new block"
            )
        if causal:
            if not already_skipped and resembles(
                attention64(q, k, v, visible(S, "below_tile", width), scale), from_row=width
            ):
                notes.append(
                    "likely: the diagonal tile is skipped: each query block must also attend to its own "
                    "key block (keys up to row i), with the causal mask applied there"
                )
            if resembles(attention64(q, k, v, visible(S, "whole_tile", width), scale)):
                notes.append(
                    "likely: the diagonal tile is processed without the causal mask: inside it, keys "
                    "j > i leak into query i; mask that tile with cols <= rows"
                )
    # Padding exists whenever S is not a multiple of the width, also when S fits in one block.
    for width in (w for w in _BLOCK_WIDTHS if S % w):
        if not causal and resembles(_padded_as_zero64(q, k, v, scale, width)):
            notes.append(
                "likely: padded keys (j >= S) in the last block score 0 instead of -inf, so they take "
                "weight: set their scores to -inf with tl.where(cols < S, s, float('-inf'))"
            )
    return list(dict.fromkeys(notes))


# ----- float64 references for the right answer and for known wrong ones -------------------------------








def _online64(
    q: "torch_types.Tensor",
    k: "torch_types.Tensor",
    v: "torch_types.Tensor",
    visible: "torch_types.Tensor",
    scale: float,
    width: int,
    rescale_acc: bool,
    rescale_l: bool,
) -> "torch_types.Tensor":
    """The online softmax over key blocks of `width`, with the alpha rescaling of acc or l optionally
    left out: what a kernel with that bug computes."""
    scores = ((q @ k.transpose(-1, -2)) * scale).masked_fill(~visible, float("-inf"))
    S = scores.shape[-1]
    m = torch.full(scores.shape[:-1], float("-inf"), dtype=torch.float64)
    l = torch.zeros(scores.shape[:-1], dtype=torch.float64)
    acc = torch.zeros(q.shape, dtype=torch.float64)
    for start in range(0, S, width):
        block = scores[..., start : start + width]
        m_new = torch.maximum(m, block.amax(dim=-1))
        alpha = torch.exp(m - m_new)  # 0 in the first block (m = -inf); key 0 keeps m_new finite
        p = torch.exp(block - m_new[..., None])
        l = (l * alpha if rescale_l else l) + p.sum(dim=-1)
        acc = (acc * alpha[..., None] if rescale_acc else acc) + p @ v[..., start : start + width, :]
        m = m_new
    return acc / l[..., None]


def _padded_as_zero64(
    q: "torch_types.Tensor", k: "torch_types.Tensor", v: "torch_types.Tensor", scale: float, width: int
) -> "torch_types.Tensor":
    """Non-causal attention whose padded keys (up to a multiple of `width`) score 0 and carry v = 0."""
    S = q.shape[-2]
    pad = -S % width
    scores = (q @ k.transpose(-1, -2)) * scale
    scores = torch.cat([scores, torch.zeros(*scores.shape[:-1], pad, dtype=torch.float64)], dim=-1)
    v_padded = torch.cat([v, torch.zeros(*v.shape[:-2], pad, v.shape[-1], dtype=torch.float64)], dim=-2)
    return torch.softmax(scores, dim=-1) @ v_padded


_OVERFLOW = (
    "likely: exp overflows on large scores (inf / inf = NaN): subtract the running row max before exp, "
    "p = exp(s - m_new), where m_new = maximum(m_old, rowmax(s))"
)
_DIAGONAL_MASKED = (
    "likely: the diagonal is masked too (j >= i): row 0 is left with no visible key and 0 / 0 = NaN; "
    "hide only j > i"
)
_STALE_MAX = (
    "likely: exp(s - m) with a max m that is -inf or stale: compute m_new = maximum(m_old, rowmax(s)) "
    "FIRST and use it in p = exp(s - m_new) and alpha = exp(m_old - m_new); padded keys must be -inf "
    "but every row needs one real key (0 / 0 = NaN)"
)


def _diagonal_tile_skipped(rows: int, S: int) -> str:
    who = "no query row has a key" if rows >= S else f"the first {rows} query rows have no key"
    return (
        f"likely: the diagonal tile is skipped: {who} left (0 / 0 = NaN); each query block must "
        "also attend to its own key block, with the causal mask"
    )


def _non_finite_notes(rows: list[int], S: int, causal: bool, big_scores: bool) -> list[str]:
    """Which bugs leave NaN or inf in these output rows (sorted row indices, any batch and head)."""
    if causal and rows == list(range(len(rows))):
        # A prefix of rows with no visible key: the diagonal, or the whole diagonal tile, is missing.
        if len(rows) == 1 and S > 1:
            return [_DIAGONAL_MASKED]
        if len(rows) < S and len(rows) in _BLOCK_WIDTHS:
            return [_diagonal_tile_skipped(len(rows), S)]
        if len(rows) == S and S <= _BLOCK_WIDTHS[-1] and not big_scores:
            # Every row of a short causal sequence: these causes cannot be told apart here.
            return ([_DIAGONAL_MASKED] if S == 1 else []) + [_diagonal_tile_skipped(S, S), _STALE_MAX]
    return [_OVERFLOW] if big_scores else [_STALE_MAX]


def _late_rows_note(failure: Failure, causal: bool) -> list[str]:
    """Causal rows whose keys all fit in the first block are right, later rows wrong: the state carried
    from one key block to the next is off."""
    wrong_rows = failure.bad.any(dim=-1).reshape(-1, failure.bad.shape[-2]).any(dim=0)
    if not causal or not bool(wrong_rows.any()):
        return []
    first_wrong = int(wrong_rows.nonzero()[0])
    if first_wrong < _BLOCK_WIDTHS[0] or bool(torch.isnan(failure.out).any()):
        return []
    return [
        f"likely: rows 0..{first_wrong - 1} are right and the error starts after them, where a row's keys span "
        "more than one block: the running state is not carried correctly from block to block; rescale acc "
        "and l by alpha = exp(m_old - m_new) whenever the max grows"
    ]
