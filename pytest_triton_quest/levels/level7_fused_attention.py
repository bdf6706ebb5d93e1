"""Level 7: fused attention, one kernel with an online softmax and no S x S matrix in memory.

Level 8 (Flash Attention) has the same contract, so it reuses this level's cases, reference, tolerance
and diagnosis rules; the rules below therefore also know the bugs of the 2-D tiled version (exp2
without log2(e), a skipped diagonal tile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .._lazy import torch
from .attention_bench import attention_cases, attention_work, sdpa_baselines
from .attention_inputs import AttentionRow, attention_check_cases, attention_expected, attention_inputs
from .attention_reference import attention64, float64, scale_of, visible
from .base import Baseline, Case, Failure, Level, Mode, Tolerance, Work, default_scale

if TYPE_CHECKING:
    import torch as torch_types


# Key block widths a kernel may use (tl.dot needs >= 16); diagnosis replays known bugs with each.
_BLOCK_WIDTHS = (16, 32, 64, 128)
_LOG2E = 1.4426950408889634


class FusedAttention(Level):
    number = 7
    name = "Fused Attention"
    kata_file = "level7_fused_attention.py"
    function = "fused_attention"
    positional = ("q", "k", "v")
    keywords = ("causal", "scale")
    single_launch = True
    concept = (
        "Fused attention computes softmax(q @ k^T * scale) @ v in ONE kernel that never stores the S x S "
        "scores: each program owns a block of queries and streams over the keys a block at a time, keeping "
        "the scores in registers. The softmax needs the whole row's maximum and sum, which no single block "
        "knows, so each row keeps a running max m, a running normaliser l = sum(exp(s - m)) and a running "
        "accumulator acc = sum(exp(s - m) * v). When a block raises the max from m_old to m_new, "
        "multiplying l and acc by alpha = exp(m_old - m_new) puts what was summed so far on the new max; "
        "at the end out = acc / l. This online softmax is the core of Flash Attention."
    )
    hints = (
        "Give each program one block of BLOCK_M queries of one (batch, head): grid = (cdiv(S, BLOCK_M), B*H). "
        "Load its q block once, then walk the keys BLOCK_N at a time. Scores live only in registers, for one "
        "key block at a time. Ask yourself: what must a program remember about the keys it has already seen?",
        "Three running values per query row, all float32: m (the largest score so far, starting at -inf), "
        "l (the sum of exp(s - m) so far, starting at 0) and acc (the sum of exp(s - m) * v so far, a "
        "(BLOCK_M, D) block of zeros). After the last key block, out = acc / l.",
        "When a block's scores raise the row max from m_old to m_new, everything already in l and acc was "
        "computed with exp(s - m_old). Multiply both by alpha = exp(m_old - m_new) (<= 1) before adding the "
        "new block: exp(s - m_old) * alpha = exp(s - m_new). Forget it for either one and long rows go wrong.",
        "Masks: a key j >= S is padding (load k and v with other=0.0, then set its score to -inf, since 0 is "
        "not 'no weight'); when causal, a key j > i is the future and gets -inf too. Key 0 is visible to every "
        "row, so m is finite after the first block. Store only the rows i < S.",
        "Loop body: s = tl.dot(q, tl.trans(k)) * scale; s = tl.where(visible, s, float('-inf')); "
        "m_new = tl.maximum(m_i, tl.max(s, axis=1)); alpha = tl.exp(m_i - m_new); "
        "p = tl.exp(s - m_new[:, None]); l_i = l_i * alpha + tl.sum(p, axis=1); "
        "acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v); m_i = m_new.",
        "Walk the keys with `start = 0; while start < S: ...; start += BLOCK_N` (triton 3.6's interpreter "
        "cannot loop `range` over a runtime S). After the loop store (acc / l_i[:, None]).to(out_ptr.dtype."
        "element_ty) with mask rows[:, None] < S. Wrapper: scale = 1 / sqrt(D) only when scale is None, "
        "out = torch.empty_like(q), ONE launch with strides q.stride(1) (a head) and q.stride(2) (a row).",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        table: list[AttentionRow] = [
            ("fp32", 1, 1, 1, 16, True, None, "", "a single token: S = 1, query 0 attends only to itself"),
            ("fp16", 1, 2, 1, 32, False, None, "", "a single token without the causal mask"),
            ("fp32", 2, 2, 77, 32, True, None, "", "causal, ragged S (77 is not a multiple of any block), 4 heads"),
            ("fp32", 1, 3, 77, 32, False, None, "", "non-causal, ragged S: padded keys of the last block must get weight 0"),
            ("fp16", 2, 1, 150, 64, True, 0.3, "", "causal, a longer ragged S, D = 64, explicit scale"),
            ("fp16", 1, 2, 100, 16, False, 0.5, "", "non-causal in half precision with an explicit scale"),
            ("fp32", 1, 2, 64, 16, True, None, "large", "large logits (about 1000): exp overflows unless the running max is subtracted"),
            ("fp16", 1, 2, 70, 16, False, None, "large", "large logits, non-causal, half precision"),
            ("fp32", 1, 2, 160, 32, True, None, "growing", "scores grow along the keys: every key block raises the running max, so acc and l must be rescaled"),
            ("fp16", 1, 1, 160, 32, False, None, "growing", "growing scores, non-causal, half precision: the online rescaling over many key blocks"),
        ]
        if mode.on_gpu:
            table += [
                ("fp32", 2, 4, 1000, 64, True, None, "", "a long ragged causal sequence in float32 (TF32 on the GPU)"),
                ("fp16", 2, 8, 2048, 128, True, None, "", "a long causal sequence with D = 128"),
                ("fp16", 3, 5, 1537, 64, False, 0.1, "", "a long ragged non-causal sequence, explicit scale"),
                ("bf16", 2, 4, 999, 64, True, None, "", "bfloat16, long ragged causal sequence"),
                ("bf16", 1, 2, 513, 128, False, 0.2, "", "bfloat16, non-causal, D = 128, explicit scale"),
                ("fp16", 2, 2, 1024, 64, True, None, "large", "large logits on a long causal sequence"),
                ("fp16", 1, 4, 2048, 64, True, None, "growing", "growing scores over a long causal sequence (many key blocks)"),
                ("fp16", 1, 2, 1999, 128, False, None, "growing", "growing scores, non-causal, ragged, D = 128"),
            ]
        return attention_check_cases(table)

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        return attention_inputs(case, generator)

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return attention_expected(inputs)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Each output is a weighted average of v rows (|v| ~ 1), so the errors are absolute, of order
        # (error of the weights) * |v|, and an all-zero answer misses by ~1 / sqrt(keys seen) >= 0.02.
        # The online softmax adds only float32 rescalings (relative error ~1e-7 each) to level 6's error.
        # - float32: on a GPU both tl.dot calls use TF32 (inputs rounded to a 10-bit mantissa, relative
        #   error ~5e-4 per operand), which moves the weights by ~1e-3 relative at worst over many rows.
        #   The large and growing inputs use values exact in TF32, so their big scores add no rounding.
        # - float16: the output itself is rounded (2^-11 relative, ~5e-4) and p = exp(s - m) in [0, 1] is
        #   rounded to float16 before p @ v (another ~5e-4 per weight); 2e-3 leaves headroom for both.
        # - bfloat16: the same two roundings with a 3-bit shorter mantissa (2^-8, ~4e-3 each).
        return {
            "fp32": Tolerance(atol=2e-3, rtol=2e-3),
            "fp16": Tolerance(atol=2e-3, rtol=2e-3),
            "bf16": Tolerance(atol=1.6e-2, rtol=1.6e-2),
        }[case.dtype]

    def benchmark_cases(self) -> list[Case]:
        # The FlashAttention benchmark grid: a fused kernel keeps no S x S buffer, so S = 16k fits.
        return attention_cases((1024, 4096, 16384))

    def baselines(self) -> dict[str, Baseline]:
        return sdpa_baselines()

    def work(self, case: Case) -> Work:
        return attention_work(case)

    def sxs_elements(self, inputs: dict[str, Any]) -> int | None:
        B, H, S, D = inputs["q"].shape
        # Only when S > D is a tensor of B*H*S*S elements bigger than q itself, and so a tell-tale.
        return B * H * S * S if S > D else None

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
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
        notes.extend(self._block_bugs(q, k, v, causal, scale, S, resembles, already_skipped))
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
        self,
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
