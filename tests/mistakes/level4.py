"""Level 4 (attention scores): learner mistakes, as edits of solutions_hidden/level4_attention_scores.py."""

from . import Mistake

MISTAKES = [
    Mistake(
        name="missing_head_offset",
        bug="The q and k pointers leave out bh * stride: every (batch, head) reads the q and k of head 0.",
        expect="head",
        wrong=("transposed", "scale is", "partial block", "without a mask"),
        issue="13.3",
        edits=(
            ("q_ptrs = q_ptr + bh * stride_qh + rows", "q_ptrs = q_ptr + rows"),
            ("k_ptrs = k_ptr + bh * stride_kh + cols", "k_ptrs = k_ptr + cols"),
        ),
    ),
    Mistake(
        name="scale_applied_twice",
        bug="The wrapper pre-scales q by the scale and the kernel multiplies the scores by it again.",
        expect="twice",
        wrong=("transposed", "not applied", "ignored", "partial block"),
        edits=(("    q3 = q.reshape(B * H, S, D)\n", "    q3 = q.reshape(B * H, S, D) * scale  # scale the queries once, up front\n"),),
    ),
    Mistake(
        name="divides_by_scale",
        bug="The scores are divided by the scale (as if it were sqrt(D)) instead of multiplied by it.",
        expect="divided",
        wrong=("transposed", "not applied", "ignored", "partial block"),
        edits=(("scores = tl.dot(q, tl.trans(k)) * scale", "scores = tl.dot(q, tl.trans(k)) / scale"),),
    ),
    Mistake(
        name="q_strides_swapped",
        bug="q's sequence and head-dim strides are passed in the wrong order: each q tile is read transposed.",
        expect="stride",
        wrong=("scale is", "partial block", "k @ q^T"),
        edits=(("q3.stride(0), q3.stride(1), q3.stride(2),", "q3.stride(0), q3.stride(2), q3.stride(1),"),),
    ),
    Mistake(
        name="dot_without_trans",
        bug="tl.dot(q, k) without tl.trans: the shapes only fit when D == BLOCK_N, and then compute q @ k.",
        expect="tl.trans",
        wrong=("scale is", "partial block", "without a mask"),
        edits=(("scores = tl.dot(q, tl.trans(k)) * scale", "scores = tl.dot(q, k) * scale"),),
    ),
    Mistake(
        name="k_mask_from_rows",
        bug="Copy-paste: the k tile is masked with the query rows (rows < S) instead of its own key columns.",
        expect="cols",
        wrong=("scale is", "transposed", "partial block"),
        edits=(
            (
                "k = tl.load(k_ptrs, mask=cols[:, None] < S, other=0.0)",
                "k = tl.load(k_ptrs, mask=rows[:, None] < S, other=0.0)",
            ),
        ),
    ),
    Mistake(
        name="rows_tile_local",
        bug="rows = tl.arange(0, BLOCK_M): tile-local query indices, so every row tile recomputes and rewrites rows 0..63.",
        expect="pid_m * BLOCK_M",
        wrong=("scale is", "transposed", "without a mask"),
        edits=(("rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)", "rows = tl.arange(0, BLOCK_M)"),),
    ),
]
