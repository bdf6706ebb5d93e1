"""The diagnosis rules of the attention levels: 6 (naive), 7 (one kernel, online softmax) and 8 (Flash
Attention). All three compute the same function of q, k, v, causal and scale, so one set of replays
serves them: each known bug (a mask that hides the wrong keys, a stage bound off by a tile, a missing
rescale, a scale in the wrong place, ...) is recomputed in float64 on the first (batch, head) slice, and
a bug is named only when the learner's output matches its replay, NaNs and infinities included, and no
other replay matches too. When the output says too little (all NaN, or several replays fit), the
kernel is run once more on ordinary inputs (a probe) and the replays are compared there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from .._lazy import torch
from . import evidence
from .attention_reference import attention64, float64, scale_of
from .base import Failure, OutOfBounds, default_scale
from .slice_sources import slice_source_note
from ..model import Case, ProbeRun, Tolerance

if TYPE_CHECKING:
    import torch as torch_types

# Tile sizes a kernel may use (tl.dot needs >= 16); replays of tile-shaped bugs try each.
_BLOCK_WIDTHS = (16, 32, 64, 128)
_SOFTMAX_WIDTHS = (*_BLOCK_WIDTHS, 256)
_LOG2E = 1.4426950408889634
# The probe of a failure whose own output says too little: one head of ordinary, growing scores.
_PROBE_S = 160
# Longer sequences (GPU cases) get no replays: their cost grows with S^2 per replay.
_MAX_REPLAY_S = 512


# ----- what the tests see -----------------------------------------------------------------------------
def diagnose_attention(failure: Failure) -> list[str]:
    """Likely bug of an attention kernel (levels 6 to 8), from replays, the store map and a probe."""
    inputs = failure.inputs
    causal: bool = inputs["causal"]
    tolerance = failure.tolerance
    if failure.stores is not None:
        stored = _store_notes(failure)
        if stored:
            return stored
    q, k, v = float64(inputs)
    # Replays run on the (batch, head) slice with the most wrong elements; NaN in memory no kernel
    # wrote would match any replay that predicts NaN, so such a slice is never replayed.
    B, H = failure.out.shape[:2]
    if evidence.unwritten_among(failure, failure.bad):
        return []
    worst = int(failure.bad.reshape(B * H, -1).sum(dim=1).argmax())
    b, h = divmod(worst, H)
    pick = (slice(b, b + 1), slice(h, h + 1))
    first_out = failure.out[pick]
    p_dtype = _p_dtype(failure.case)
    notes = _replay_notes(
        q[pick], k[pick], v[pick], causal, scale_of(inputs), "scale" in inputs, first_out, tolerance, p_dtype, failure.ruled_out
    )
    if not notes:
        kernels = len({launch.kernel for launch in failure.launches})
        notes = _head_offset_notes(q, k, v, causal, scale_of(inputs), failure.out, tolerance, kernels)
    if not notes:
        seen = _visible(q.shape[-2], "causal" if causal else "all")
        scale = scale_of(inputs)
        moved = slice_source_note(failure, ("q", "k", "v"), lambda s: attention64(s["q"], s["k"], s["v"], seen, scale))
        notes = [moved] if moved else []
    informative = bool(torch.isfinite(first_out).any())
    if failure.probe is None or (len(notes) <= 1 and informative):
        return notes
    return _probed_notes(failure.probe, failure.case, causal, notes, tolerance)


def diagnose_attention_out_of_bounds(stray: OutOfBounds, tolerance: Tolerance) -> list[str]:
    """A stray access: first the same call on one head of S = 128 (no ragged edge at any tile size up to
    128). If that is right, the ragged edge is at fault and the stray tensor names the missing mask;
    if it is wrong, its replays name the bug."""
    access = stray.stray
    if stray.probe is None or access.argument is None or not evidence.past_the_end(stray):
        return []
    if access.wholly_past_the_end:
        return []  # a whole tile outside is a wrong start (a batch or head offset), never a ragged edge's mask
    causal: bool = stray.inputs["causal"]
    B, H, S, _ = stray.inputs["q"].shape
    grid = evidence.grid_of(stray)
    if access.numel == B * H * S * S and grid is not None and grid[1] == grid[2] == 1 and access.program_id[0] < grid[0] - 1:
        # A program of a 1-D grid over the rows of an S x S buffer, not the last one, reads past the end
        # of the buffer: its rows lie inside, so the row addressing is wrong, not a mask.
        return [
            f"likely: program {access.program_id[0]} of `{access.kernel}` (not the last) reads past the end of "
            f"`{access.argument}`: its rows start at the wrong place; a row of the S x S buffer starts at row * S "
            "(its row stride), not at a multiple of the block width"
        ]
    # The same call on one head of S = 128 and of S = 192: no ragged edge for tiles up to 64, and none
    # up to 128 in the first. Right on both: the ragged edge is at fault. Wrong: its replays say why.
    for size in (128, 192):
        probed = _probe(stray.probe, stray.case, causal, size, "")
        if probed is None:
            return []
        run, (q, k, v), scale = probed
        if run.out is None:
            return []
        right = attention64(q, k, v, _visible(size, "causal" if causal else "all"), scale)
        if not evidence.close_to(run.out, right, tolerance.atol, tolerance.rtol):
            return _replay_notes(q, k, v, causal, scale, False, run.out, tolerance, _p_dtype(stray.case)) if size == 128 else []
    name = access.argument
    if access.access == "store":
        return [f"likely: the store mask lets query rows past S through: mask the store of `{name}` with rows < S"]
    what = "the last, partial (ragged) block of keys" if name.lower().startswith(("k", "v")) else "the last, partial block"
    if access.masked:
        return [
            f"likely: `{name}` is loaded with a mask that lets lanes past S through on {what}: they read "
            "outside it; mask the load with keys < S (other=0.0) and give those keys the score -inf"
        ]
    return [
        f"likely: `{name}` is loaded without a mask on {what}: its lanes past S read outside it; mask the load "
        "with keys < S (other=0.0) and give those keys the score -inf"
    ]


# ----- replays --------------------------------------------------------------------------------------
def _probabilities64(q: "torch_types.Tensor", k: "torch_types.Tensor", visible: "torch_types.Tensor", scale: float) -> "torch_types.Tensor":
    """softmax(q @ k^T * scale) over the visible keys, in float64."""
    return torch.softmax(((q @ k.transpose(-1, -2)) * scale).masked_fill(~visible, float("-inf")), dim=-1)


def _zero_filled_attention64(
    q: "torch_types.Tensor", k: "torch_types.Tensor", v: "torch_types.Tensor", visible: "torch_types.Tensor", scale: float
) -> "torch_types.Tensor":
    """Attention whose hidden scores are 0 rather than -inf (after the scale): they keep a weight."""
    scores = ((q @ k.transpose(-1, -2)) * scale).masked_fill(~visible, 0.0)
    return torch.softmax(scores, dim=-1) @ v


def _visible(S: int, kind: str, bm: int = 0, bn: int = 0) -> "torch_types.Tensor":
    """(S, S) bool: which keys j (columns) query i (rows) sees, for the right mask and for known bugs.

    all / causal: the right masks; strict: j < i (diagonal hidden); future: j > i (tl.where swapped);
    flipped: j >= i (the comparison turned round, the diagonal kept);
    below_tile: only keys before the query's tile of bm rows (diagonal tile skipped); below_tile_rounded:
    the same loop bound walked in key tiles of bn > bm, which reach past it to a multiple of bn; whole_tile: every
    key up to the end of the query's tile (diagonal tile unmasked, or causal stage bounds without the
    mask); ends_early: the diagonal stage stops bn keys after the tile start; too_far: the unmasked
    stage runs bn keys into the tile; local_rows: the diagonal stage compares global keys with
    tile-local rows; tile_local: the causal mask compares positions inside the (bm, bn) tiles;
    local_keys: the diagonal stage compares tile-local keys (inside tiles of bn) with global rows.
    """
    i = torch.arange(S)[:, None]
    j = torch.arange(S)[None, :]
    tile_start = (i // bm) * bm if bm else i
    table: dict[str, Callable[[], "torch_types.Tensor"]] = {
        "all": lambda: torch.ones(S, S, dtype=torch.bool),
        "causal": lambda: j <= i,
        "strict": lambda: j < i,
        "future": lambda: j > i,
        "flipped": lambda: j >= i,
        "below_tile": lambda: j < tile_start,
        "below_tile_rounded": lambda: (j <= i) & (j < -(-tile_start // bn) * bn),
        "whole_tile": lambda: j < tile_start + bm,
        "ends_early": lambda: (j <= i) & (j < tile_start + bn),
        "too_far": lambda: (j <= i) | (j < tile_start + bn),
        "local_rows": lambda: (j < tile_start) | ((j <= i - tile_start) & (j >= tile_start)),
        "tile_local": lambda: (j % bn) <= (i % bm),
        "local_keys": lambda: (j < tile_start) | ((j < tile_start + bm) & ((j % bn) <= i)),
    }
    return table[kind]() & torch.ones(S, S, dtype=torch.bool)


def _repeated_tile(S: int, bm: int, bn: int, stage: str, causal: bool = True) -> "torch_types.Tensor":
    """(S, S) float64: how many times query i sums key j when one stage of the two-stage loop loads
    the same key tile at every step (its start, not start_n). "diagonal": the masked stage of query
    tiles of bm repeats its first tile of bn, once per step; the unmasked stage is right. "first":
    the unmasked stage (every full key tile below the query tile, or below S when not causal) repeats
    keys 0..bn-1; the masked stage is right."""
    i = torch.arange(S)[:, None]
    j = torch.arange(S)[None, :]
    start = (i // bm) * bm
    end = torch.clamp(start + bm, max=S)
    if stage == "diagonal":
        steps = (end - start + bn - 1) // bn
        below = (j < start).double()
        first = ((j >= start) & (j < start + bn) & (j <= i)).double() * steps
        return below + first
    lo_end = start if causal else torch.full_like(i, (S // bn) * bn)
    steps = lo_end // bn
    masked = ((j >= lo_end) & ((j <= i) if causal else (j < S))).double()
    return ((j < bn) & (j < lo_end)).double() * steps + masked


def _repeated64(
    q: "torch_types.Tensor", k: "torch_types.Tensor", v: "torch_types.Tensor", times: "torch_types.Tensor", scale: float
) -> "torch_types.Tensor":
    """softmax attention in float64 where key j counts `times[i, j]` times for query i (0: hidden)."""
    scores = (q @ k.transpose(-1, -2)) * scale + torch.log(times)  # log(0) = -inf hides the key
    return torch.softmax(scores, dim=-1) @ v


def _online64(
    q: "torch_types.Tensor",
    k: "torch_types.Tensor",
    v: "torch_types.Tensor",
    seen: "torch_types.Tensor",
    scale: float,
    width: int,
    bug: str,
    p_dtype: "torch_types.dtype | None" = None,
) -> "torch_types.Tensor":
    """The online softmax over key blocks of `width`, with one known bug, in float32's exp range (exp
    of more than ~88 is inf, as in a kernel): what a kernel with that bug computes. `p_dtype`: the
    dtype p is cast to before p @ v (float16 overflows above 65504, e.g. exp(s) without a max)."""
    scores = ((q @ k.transpose(-1, -2)) * scale).masked_fill(~seen, float("-inf"))
    S = scores.shape[-1]

    def exp(values: "torch_types.Tensor") -> "torch_types.Tensor":
        return torch.exp(values.to(torch.float32)).to(torch.float64)

    m = torch.full(scores.shape[:-1], 0.0 if bug == "max_starts_at_zero" else float("-inf"), dtype=torch.float64)
    l = torch.zeros(scores.shape[:-1], dtype=torch.float64)
    acc = torch.zeros(q.shape, dtype=torch.float64)
    for start in range(0, S, width):
        block = scores[..., start : start + width]
        values = v[..., start : start + width, :] if bug != "v_not_advanced" else v[..., : block.shape[-1], :]
        m_new = torch.maximum(m, block.amax(dim=-1))
        alpha = exp(m_new - m) if bug == "alpha_inverted" else exp(m - m_new)
        if bug == "alpha_unscaled":  # the max kept on unscaled scores (scale > 0): alpha without the scale
            alpha = exp((m - m_new) / scale)
        p = exp(block - (m if bug == "stale_max" else m_new)[..., None])
        if bug == "no_max":
            p, alpha = exp(block), torch.ones_like(alpha)
        l = (l if bug in ("no_l_rescale", "no_rescale") else l * alpha) + p.sum(dim=-1)
        if bug == "p_divided_in_loop":
            p = p / l[..., None]
        if p_dtype is not None:
            p = p.to(p_dtype).to(torch.float64)
        if bug == "acc_rescaled_after_dot":
            acc = (acc + p @ values) * alpha[..., None]
        elif bug in ("no_acc_rescale", "no_rescale"):
            acc = acc + p @ values
        else:
            acc = acc * alpha[..., None] + p @ values
        if bug != "max_not_updated":
            m = m_new
    if bug == "p_divided_in_loop":
        return acc
    return acc / l[..., None]


def _stepped_by_elements(x: "torch_types.Tensor", bn: int) -> "torch_types.Tensor":
    """Rows of a (..., S, D) slice as a key loop reads them when its pointer moves BLOCK_N elements per
    tile: key n = t * bn + j starts at element t * bn + j * D of the slice. Elements past the slice
    (another slice's memory, unknown here) are NaN, so no replay claims them."""
    S, D = x.shape[-2], x.shape[-1]
    flat = x.reshape(*x.shape[:-2], S * D)
    n = torch.arange(S)
    index = ((n // bn) * bn + (n % bn) * D)[:, None] + torch.arange(D)[None, :]
    inside = index < S * D
    rows = flat[..., index.clamp(max=S * D - 1)]
    return rows.masked_fill(~inside, float("nan"))


def _padded_as_zero64(
    q: "torch_types.Tensor", k: "torch_types.Tensor", v: "torch_types.Tensor", seen: "torch_types.Tensor", scale: float, pad: int
) -> "torch_types.Tensor":
    """Attention whose `pad` padding keys after the last one score 0 (not -inf) and carry v = 0."""
    scores = ((q @ k.transpose(-1, -2)) * scale).masked_fill(~seen, float("-inf"))
    zeros = torch.zeros(*scores.shape[:-1], pad, dtype=torch.float64)
    weights = torch.softmax(torch.cat([scores, zeros], dim=-1), dim=-1)[..., : scores.shape[-1]]
    return weights @ v


def _unnormalised64(q: "torch_types.Tensor", k: "torch_types.Tensor", v: "torch_types.Tensor", seen: "torch_types.Tensor", scale: float) -> "torch_types.Tensor":
    """sum_j exp(s_ij - max_j s_ij) v_j: the weights never divided by their sum."""
    scores = ((q @ k.transpose(-1, -2)) * scale).masked_fill(~seen, float("-inf"))
    return torch.exp(scores - scores.amax(dim=-1, keepdim=True)) @ v


_ONLINE_NOTES = {
    "no_acc_rescale": "likely: the accumulator is not rescaled when the running max grows: before adding p @ v, "
    "multiply acc by alpha = exp(m_old - m_new)",
    "no_l_rescale": "likely: the normaliser is not rescaled when the running max grows: l = l * alpha + rowsum(p), "
    "with alpha = exp(m_old - m_new)",
    "no_rescale": "likely: neither the accumulator nor the normaliser is rescaled when the running max grows: "
    "multiply both acc and l by alpha = exp(m_old - m_new) before adding a new block",
    "alpha_inverted": "likely: alpha is inverted, exp(m_new - m_old): the rescale factor is alpha = exp(m_old - m_new), "
    "at most 1",
    "max_not_updated": "likely: the running max is never updated (m_i = m_new is missing): every block starts "
    "afresh and wipes what came before; set m_i = m_new at the end of each block",
    "max_starts_at_zero": "likely: the running max starts at 0 instead of -inf: a row whose visible scores are all "
    "far below 0 sums exp(s - 0) = 0 and gives 0 / 0; start m at float('-inf')",
    "stale_max": "likely: exp(s - m) with a max m that is stale (still -inf in the first block): compute m_new = "
    "maximum(m_old, rowmax(s)) FIRST and use it in p = exp(s - m_new)",
    "acc_rescaled_after_dot": "likely: acc is rescaled after this block's p @ v is added, so the new block is scaled "
    "too: multiply acc by alpha before adding p @ v",
    "p_divided_in_loop": "likely: p is divided by the running l inside the loop: l is not final until the last "
    "block; divide acc by l once, after the loop",
    "v_not_advanced": "likely: every block of keys is paired with the first block of v: the v pointers (v_ptrs) "
    "must move BLOCK_N rows down with the k pointers at every step",
    "alpha_unscaled": "likely: alpha misses the scale: with the running max kept on unscaled scores, p = exp((s - "
    "m_new) * scale) but alpha = exp(m_old - m_new) must be exp((m_old - m_new) * scale) too (or scale the scores "
    "once, before the max)",
    "no_max": "likely: exp overflows on large scores (inf / inf = NaN): subtract the row max before exp (in a fused "
    "kernel the running max: p = exp(s - m_new), with m_new = maximum(m_old, rowmax(s)))",
}
_FIRST_BLOCK_INF = {_ONLINE_NOTES["alpha_inverted"], _ONLINE_NOTES["stale_max"]}
_FIRST_BLOCK_NOTE = (
    "likely: exp(+inf) in the first block, where m_old is still -inf: either alpha is inverted (it must be "
    "alpha = exp(m_old - m_new), at most 1) or p uses a stale max (p = exp(s - m_new), with m_new = "
    "maximum(m_old, rowmax(s)) computed first)"
)
# Bugs that show only on large or very negative scores: a kernel with them is right on ordinary inputs.
_MAGNITUDE_NOTES = (_ONLINE_NOTES["no_max"], _ONLINE_NOTES["max_starts_at_zero"])
NO_MAX_NOTE = _ONLINE_NOTES["no_max"]


def magnitude_replays(failure: Failure) -> list[tuple["torch_types.Tensor", str]]:
    """(replay, note) of the bugs that show only on large or very negative scores, on the whole
    output. Neither depends on the kernel's block width: on ordinary scores both give the right
    answer, and where every visible score of a row is far below 0 both give 0 / 0."""
    inputs = failure.inputs
    q, k, v = float64(inputs)
    seen = _visible(q.shape[-2], "causal" if inputs["causal"] else "all")
    scale = scale_of(inputs)
    return [(_online64(q, k, v, seen, scale, _BLOCK_WIDTHS[0], bug), _ONLINE_NOTES[bug]) for bug in ("max_starts_at_zero", "no_max")]


def _replay_notes(
    q: "torch_types.Tensor",
    k: "torch_types.Tensor",
    v: "torch_types.Tensor",
    causal: bool,
    scale: float,
    explicit_scale: bool,
    out: "torch_types.Tensor",
    tolerance: Tolerance,
    p_dtype: "torch_types.dtype | None" = None,
    ruled_out: set[str] | None = None,
    harmful: set[str] | None = None,
) -> list[str]:
    """The known bugs whose float64 replay on this (1, 1, S, D) slice gives `out`; those whose replay
    `out` is far from go into `ruled_out` (a near miss must hold on every failing case). With
    `harmful` (some lines), for a right `out`: those of them whose replay is wrong at this size, which
    a kernel right here cannot have (a line not tried here, such as a ragged tail where S is whole
    tiles, is not); only their replays are computed."""
    S, D = q.shape[-2], q.shape[-1]
    if S > _MAX_REPLAY_S:
        return []  # dozens of float64 replays of a long sequence would take longer than the case
    mask = "causal" if causal else "all"
    seen = _visible(S, mask)

    right = attention64(q, k, v, seen, scale)
    if evidence.close_to(out, right, tolerance.atol, tolerance.rtol) and harmful is None:
        return []  # right on this slice: no replay can tell anything

    def matches(candidate: "torch_types.Tensor") -> bool:
        # Within twice the tolerance of the replay (a right kernel is within once of the right answer),
        # and the replay itself would fail: a replay that passes explains no failure. A query that sees
        # no key is NaN in the replay (0 / 0); a kernel that never entered its key loop for it, or that
        # guards the division, writes 0 there: either is that same query seeing nothing.
        empty = torch.isnan(candidate).all(dim=-1, keepdim=True) & (out == 0).all(dim=-1, keepdim=True)
        candidate = candidate.masked_fill(empty, 0.0)
        if not evidence.close_to(out, candidate, 2 * tolerance.atol, 2 * tolerance.rtol):
            return False
        return not evidence.close_to(candidate, right, tolerance.atol, tolerance.rtol)
    candidates: list[tuple[Callable[[], "torch_types.Tensor"], str]] = []
    # Lines whose replay the line itself pins down (no tile width or chunk the kernel may not use):
    # only these can be ruled out by a case whose output their replay is far from.
    exact: set[str] = set()

    def add(replay: Callable[[], "torch_types.Tensor"], note: str, pinned: bool = False) -> None:
        candidates.append((replay, note))
        if pinned:
            exact.add(note)

    if S > 1:
        if causal:
            add(lambda: attention64(q, k, v, _visible(S, "all"), scale),
                "likely: the causal mask is not applied: with causal=True, keys j > i must get weight 0", pinned=True)
            add(lambda: attention64(q, k, v, _visible(S, "strict"), scale),
                "likely: the diagonal is masked too (j >= i): query i must see keys 0..i, so row 0 has no key "
                "left (0 / 0 = NaN); hide only j > i", pinned=True)
            add(lambda: attention64(q, k, v, _visible(S, "future"), scale),
                "likely: the tl.where arguments are swapped: each query keeps only its future keys (the last row "
                "has none: NaN); write tl.where(cols > rows, float('-inf'), s)", pinned=True)
            add(lambda: attention64(q, k, v, _visible(S, "flipped"), scale),
                "likely: the causal comparison is the wrong way round: each query keeps itself and its future keys "
                "(j >= i) and hides its past; keep keys j <= i and hide j > i", pinned=True)
            add(lambda: _zero_filled_attention64(q, k, v, _visible(S, "causal"), scale),
                "likely: the hidden (future) scores are set to 0 instead of -inf: softmax still gives them weight "
                "exp(0 - max); hide them with tl.where(cols > rows, float('-inf'), s)", pinned=True)
        else:
            add(lambda: attention64(q, k, v, _visible(S, "causal"), scale),
                "likely: the causal mask is applied although causal=False: mask only when causal is True", pinned=True)
    for bm in (w for w in _BLOCK_WIDTHS if w < S):
        if causal:
            add(lambda bm=bm: attention64(q, k, v, _visible(S, "below_tile", bm), scale), _DIAGONAL_SKIPPED)
            for bn in (w for w in _BLOCK_WIDTHS if w > bm and w < S):
                add(lambda bm=bm, bn=bn: attention64(q, k, v, _visible(S, "below_tile_rounded", bm, bn), scale), _DIAGONAL_SKIPPED)
            add(lambda bm=bm: attention64(q, k, v, _visible(S, "whole_tile", bm), scale),
                "likely: the diagonal tile is processed without the causal mask: inside it, keys j > i leak into "
                "query i; mask that tile with cols <= rows")
            add(lambda bm=bm: attention64(q, k, v, _visible(S, "local_rows", bm), scale),
                "likely: the diagonal stage compares global key indices with tile-local query rows: only the "
                "first query tile is masked right; pass the global rows, start_m * BLOCK_M + tl.arange(0, BLOCK_M)")
        else:
            add(lambda bm=bm: attention64(q, k, v, _visible(S, "whole_tile", bm), scale),
                "likely: with causal=False the keys after each query tile are never visited: the stage bounds are "
                "the causal ones; when causal=False every key tile, up to S, must be visited")
        for bn in (w for w in _BLOCK_WIDTHS if w <= bm):
            if causal and bn < bm:
                add(lambda bm=bm, bn=bn: attention64(q, k, v, _visible(S, "ends_early", bm, bn), scale),
                    "likely: the diagonal stage stops BLOCK_N keys after the tile's first query: the keys up to its "
                    "last query are never visited; run it to hi_end = min((start_m + 1) * BLOCK_M, S)")
            if causal and bn < bm:  # with bn == bm this is the diagonal tile left unmasked, named above
                add(lambda bm=bm, bn=bn: attention64(q, k, v, _visible(S, "too_far", bm, bn), scale),
                    "likely: the unmasked stage runs into the diagonal tile, so future keys leak in: it must stop at "
                    "lo_end = start_m * BLOCK_M, where the masked stage begins")
            if causal and bn < bm:
                add(lambda bm=bm, bn=bn: _repeated64(q, k, v, _repeated_tile(S, bm, bn, "diagonal"), scale),
                    "likely: the diagonal stage never advances: every step loads its first key tile again (the "
                    "tile's start, not start_n), so those keys count several times and the rest of the diagonal "
                    "tile never; pass start_n to the tile's loads")
            if bn < S:
                add(lambda bm=bm, bn=bn: _repeated64(q, k, v, _repeated_tile(S, bm, bn, "first", causal), scale),
                    "likely: the unmasked stage never advances: every step loads the first key tile again (its "
                    "start, not start_n), so keys 0..BLOCK_N-1 count once per step and the later ones never; pass "
                    "start_n to the tile's loads")
            if causal:
                add(lambda bm=bm, bn=bn: attention64(q, k, v, _visible(S, "local_keys", bm, bn), scale),
                    "likely: the causal mask compares each key's place inside its tile with the query's global row: "
                    "use the global key index, cols = start_n + tl.arange(0, BLOCK_N), in cols <= rows")
            if causal:  # a tile-local comparison is wrong with equal tiles too (every tile but the first)
                add(lambda bm=bm, bn=bn: attention64(q, k, v, _visible(S, "tile_local", bm, bn), scale),
                    "likely: the causal mask compares positions inside the tiles: use the global indices, "
                    "cols <= rows, with rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M) and cols = start + offs_n")
                local_and_skipped = _visible(S, "tile_local", bm, bn) & _visible(S, "whole_tile", bm)
                add(lambda seen_here=local_and_skipped: attention64(q, k, v, seen_here, scale),
                    "likely: the causal mask compares positions inside the tiles: use the global indices, "
                    "cols <= rows, with rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M) and cols = start + offs_n")
    # A row softmax taken in chunks (level 6's softmax kernel) uses wider chunks than a fused tile.
    for width in (w for w in _SOFTMAX_WIDTHS if w < S):
        for bug, note in _ONLINE_NOTES.items():
            if bug != "no_max" and (bug != "alpha_unscaled" or scale > 0):
                add(lambda width=width, bug=bug: _online64(q, k, v, seen, scale, width, bug), note)
    for width in (w for w in _BLOCK_WIDTHS if w < S):
        # P right (normalised over every visible key), then P @ V summed over the key blocks up to the
        # end of each query tile only: the loop bound of a separate P @ V kernel.
        add(lambda width=width: _probabilities64(q, k, seen, scale).masked_fill(~_visible(S, "whole_tile", width), 0.0) @ v,
            "likely: the P @ V loop stops at the end of each query tile: P is right, but the key blocks after the "
            "query's tile are never summed" + ("" if causal else "; with causal=False every key block, up to S, must be summed"))
        whole = (S // width) * width
        if whole not in (0, S):  # a loop over whole tiles only: the ragged tail of keys never visited
            tail_cut = seen & (torch.arange(S) < whole)[None, :]
            add(lambda tail_cut=tail_cut: attention64(q, k, v, tail_cut, scale),
                f"likely: the last, partial tile of keys is never visited: "
                f"{f'key {whole} gets' if whole == S - 1 else f'keys {whole}..{S - 1} get'} no weight; the "
                "key loop must reach S (triton.cdiv(S, BLOCK_N) tiles), with the keys j >= S masked in the last one", pinned=True)
        last = ((S - 1) // width) * width
        add(lambda last=last: torch.softmax(((q @ k.transpose(-1, -2)) * scale).masked_fill(~seen, float("-inf")), dim=-1)[..., last:] @ v[..., last:, :],
            "likely: only the last block of keys reaches the output: the P @ V accumulator is overwritten at every "
            "step; add to it, acc += tl.dot(p, v)")
    for bn in (w for w in _BLOCK_WIDTHS if w < S and D > 1):
        # Pointers moved by BLOCK_N elements after each key tile, where BLOCK_N rows belong.
        stepped_k, stepped_v = _stepped_by_elements(k, bn), _stepped_by_elements(v, bn)
        for names, k_read, v_read in (("k and v", stepped_k, stepped_v), ("k", stepped_k, v), ("v", k, stepped_v)):
            add(lambda k_read=k_read, v_read=v_read: attention64(q, k_read, v_read, seen, scale),
                f"likely: the {names} pointers advance by BLOCK_N elements after each key tile, not BLOCK_N rows: "
                "every tile after the first reads the wrong keys; step by BLOCK_N * the row stride (stride(2))")
    add(lambda: _online64(q, k, v, seen, scale, S, "no_max", p_dtype), _ONLINE_NOTES["no_max"], pinned=True)
    for pad in sorted({1, *(-S % w for w in _BLOCK_WIDTHS), _next_power_of_2(S) - S} - {0}):
        add(lambda pad=pad: _padded_as_zero64(q, k, v, seen, scale, pad),
            "likely: padded keys (j >= S) in the last block score 0 instead of -inf, so they take weight: load "
            "the padding as -inf, or set it with tl.where(cols < S, s, float('-inf'))")
    add(lambda: _unnormalised64(q, k, v, seen, scale),
        "likely: the weights are never divided by their sum: divide by the normaliser, out = acc / l "
        "(or p = exp(s - m) / sum(exp(s - m)))", pinned=True)
    if scale != 1.0:
        add(lambda: attention64(q, k, v, seen, 1.0),
            "likely: the scale is not applied: multiply q @ k^T by scale (1 / sqrt(D) when scale is None)", pinned=True)
        add(lambda: attention64(q, k, v, seen, 1.0) * scale,
            "likely: the scale multiplies the output after the softmax: multiply the scores, s = q @ k^T * scale, "
            "before it", pinned=True)
    if explicit_scale:
        add(lambda: attention64(q, k, v, seen, default_scale(D)),
            "likely: the explicit `scale` argument is ignored: use 1 / sqrt(D) only when scale is None", pinned=True)
    elif D > 1:
        add(lambda: attention64(q, k, v, seen, 1.0 / D),
            "likely: the default scale is 1 / D: it is 1 / sqrt(D) (D ** -0.5) when scale is None", pinned=True)
        add(lambda: attention64(q, k, v, seen, math.sqrt(D)),
            "likely: the scores are multiplied by sqrt(D): the default scale is 1 / sqrt(D), a division", pinned=True)
    add(lambda: attention64(q, k, v, seen, scale / _LOG2E),
        "likely: exp2 is used without log2(e) folded into the scale: exp(x) = exp2(x * log2(e)), so multiply the "
        "scale by 1.4426950408889634 once", pinned=True)
    add(lambda: attention64(q, k, v, seen, scale * _LOG2E),
        "likely: the scores are multiplied by log2(e) but exponentiated with exp (or log2(e) is applied twice): "
        "use exp2 with the log2(e) factor, or exp without it", pinned=True)
    if harmful is not None:
        wrong_here = (note for replay, note in candidates if note in harmful and not evidence.close_to(replay(), right, tolerance.atol, tolerance.rtol))
        return list(dict.fromkeys(wrong_here))
    replayed = [(replay(), note) for replay, note in candidates]
    notes = list(dict.fromkeys(note for candidate, note in replayed if matches(candidate)))
    if ruled_out is not None:
        ruled_out.update(
            note for candidate, note in replayed
            if note in exact and note not in notes and evidence.rules_out(out, candidate, tolerance.atol, tolerance.rtol)
        )
    if set(notes) == _FIRST_BLOCK_INF:
        # Both put exp(+inf) in the first block (m_old = -inf) and give the same all-NaN output.
        return [_FIRST_BLOCK_NOTE]
    return notes


_DIAGONAL_SKIPPED = (
    "likely: the diagonal tile is skipped: each query block must also attend to its own key block (keys up to row i), "
    "with the causal mask applied there"
)


def _next_power_of_2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _head_offset_notes(
    q: "torch_types.Tensor",
    k: "torch_types.Tensor",
    v: "torch_types.Tensor",
    causal: bool,
    scale: float,
    out: "torch_types.Tensor",
    tolerance: Tolerance,
    kernels: int = 1,
) -> list[str]:
    """Slice [0, 0] is right and others are not: do the other heads read head 0's q and k (or all three)?

    Outputs cannot tell q and k of slice [0, 0] from the weights computed from them: with several
    kernels, the weights may have been stored and read back at slice [0, 0]'s place, so both are named."""
    if out.shape[0] * out.shape[1] < 2:
        return []
    seen = _visible(q.shape[-2], "causal" if causal else "all")
    shared_qk = attention64(q[:1, :1].expand_as(q), k[:1, :1].expand_as(k), v, seen, scale)
    shared_all = attention64(q[:1, :1], k[:1, :1], v[:1, :1], seen, scale).expand_as(out)
    for candidate in (shared_qk, shared_all):
        if not evidence.close_to(out, candidate, 5 * tolerance.atol, 5 * tolerance.rtol):
            continue
        if kernels > 1 and candidate is shared_qk:
            return [
                "likely: every (batch, head) weighs its own v with the attention weights of slice [0, 0]: a pointer "
                "leaves out the batch and head offset, bh * stride, where q and k are read or where the "
                "scores or weights are stored and read back"
            ]
        return [
            "likely: every (batch, head) uses the q and k of slice [0, 0]: a pointer leaves out the batch and head "
            "offset, bh * stride (q.stride(1) per head of a contiguous (B, H, S, D) tensor)"
        ]
    return []


# ----- the store map ----------------------------------------------------------------------------------
def _store_notes(failure: Failure) -> list[str]:
    """Query rows of every head that no program stored, while a launched program stored nothing: the
    map from program id to query tile misses tiles (and computes one past the end)."""
    stores = failure.stores
    assert stores is not None
    nothing = evidence.nothing_stored_note(stores, failure.launches, "launch triton.cdiv(S, BLOCK_M) query tiles per head")
    if nothing is not None:
        return [nothing]
    counts = evidence.store_counts(stores).reshape(failure.ref.shape)
    never = (counts == 0).all(dim=-1).all(dim=0).all(dim=0)  # query rows that no head got
    silent = evidence.silent_programs(stores, failure.launches)
    if bool(never.any()) and not bool(never.all()) and silent:
        rows = never.nonzero().flatten().tolist()
        return [
            f"likely: query rows {rows[0]}..{rows[-1]} are never stored while {evidence.programs_text(silent)} "
            "stored nothing: the map from program id to query tile misses a tile and computes one past S; check "
            "how start_m is computed from tl.program_id(0) (and tl.num_programs(0))"
        ]
    return []


# ----- probes -----------------------------------------------------------------------------------------
def _probe(probe: Any, case: Case, causal: bool, S: int, special: str) -> tuple[ProbeRun, tuple[Any, ...], float] | None:
    """One head of S keys, D as in the case, ordinary (or growing) scores, the default scale."""
    from .attention_inputs import AttentionRow, attention_inputs

    row = AttentionRow(case.dtype, B=1, H=1, S=S, D=case.params["D"], causal=causal, purpose="probe", special=special)
    inputs = attention_inputs(row.case(), torch.Generator().manual_seed(S))
    run = probe.run(inputs)
    return run, float64(inputs), scale_of(inputs)


def _probed_notes(probe: Any, case: Case, causal: bool, notes: list[str], tolerance: Tolerance) -> list[str]:
    """The output said too little (all NaN, or several replays fit): replay on a probe of ordinary,
    growing scores over several key blocks. A kernel right there fails only on large or very negative
    scores: of the candidates, keep those that do."""
    probed = _probe(probe, case, causal, _PROBE_S, "growing")
    if probed is None:
        return []
    run, (q, k, v), scale = probed
    if run.out is None:
        return []
    right = attention64(q, k, v, _visible(_PROBE_S, "causal" if causal else "all"), scale)
    if evidence.close_to(run.out, right, tolerance.atol, tolerance.rtol):
        # Right on the probe: of the candidates, only a bug that changes nothing at the probe's size
        # (a ragged tail, where S = 160 is whole tiles) or on ordinary scores (a magnitude) can be it.
        harmful = set(_replay_notes(q, k, v, causal, scale, False, run.out, tolerance, _p_dtype(case), harmful=set(notes)))
        at_size = [note for note in notes if note not in harmful and note not in _MAGNITUDE_NOTES]
        if len(at_size) == 1:
            return at_size
        kept = [note for note in notes if note in _MAGNITUDE_NOTES]
        if len(kept) > 1:
            # exp without a max overflows on large scores; a running max that starts at 0 is right there.
            large = _probe(probe, case, causal, 64, "large")
            if large is None or large[0].out is None:
                return []
            run_large, (ql, kl, vl), scale_large = large
            right_large = attention64(ql, kl, vl, _visible(64, "causal" if causal else "all"), scale_large)
            fine = evidence.close_to(run_large.out, right_large, tolerance.atol, tolerance.rtol)
            kept = [_ONLINE_NOTES["max_starts_at_zero"] if fine else _ONLINE_NOTES["no_max"]]
        return kept if len(kept) == 1 else []
    return _replay_notes(q, k, v, causal, scale, False, run.out, tolerance, _p_dtype(case))


def _p_dtype(case: Case) -> "torch_types.dtype | None":
    """Half-precision cases cast p to v's dtype before p @ v, where exp of a large score overflows."""
    return None if case.dtype == "fp32" else case.torch_dtype
