"""Level 6 (naive attention): learner mistakes, as edits of solutions_hidden/level6_naive_attention.py."""

from . import Mistake

MISTAKES = [
    Mistake(
        name="missing_head_offset",
        bug="The scores kernel leaves out bh * stride for q and k: every head's scores are head 0's.",
        expect="head",
        wrong=("NaN", "transposed", "scale is", "causal mask"),
        issue="13.11",
        edits=(
            ("q = tl.load(q_ptr + bh * stride_qh + rows", "q = tl.load(q_ptr + rows"),
            ("k = tl.load(k_ptr + bh * stride_kh + cols", "k = tl.load(k_ptr + cols"),
        ),
    ),
    Mistake(
        name="softmax_padding_zero",
        bug="The softmax loads its padding columns (j >= S) with other=0.0 instead of -inf, in all three passes.",
        expect="instead of -inf",
        wrong=("NaN", "without a mask", "diagonal", "causal mask", "subtract the row max"),
        issue="13.11",
        edits=(
            (
                'mask=cols[None, :] < S, other=float("-inf"))\n        m = tl.maximum',
                "mask=cols[None, :] < S, other=0.0)\n        m = tl.maximum",
            ),
            (
                'mask=cols[None, :] < S, other=float("-inf"))\n        total +=',
                "mask=cols[None, :] < S, other=0.0)\n        total +=",
            ),
            ('mask=in_row, other=float("-inf"))', "mask=in_row, other=0.0)"),
        ),
    ),
    Mistake(
        name="where_args_swapped",
        bug="tl.where(future, s, -inf): the arguments are swapped, so each query keeps only its future keys.",
        expect="swapped",
        wrong=("NaN or inf from exp(-inf", "diagonal is masked", "without a mask", "exp overflows"),
        issue="13.11",
        edits=(
            (
                's = tl.where(cols[None, :] > rows[:, None], float("-inf"), s)',
                's = tl.where(cols[None, :] > rows[:, None], s, float("-inf"))',
            ),
        ),
    ),
    Mistake(
        name="softmax_row_stride_block",
        bug="The softmax steps rows by its block width (rows * BLOCK_N) instead of the row length S.",
        expect="stride",
        wrong=("without a mask", "NaN", "diagonal", "causal mask"),
        issue="13.11",
        edits=(("row_start = safe_rows.to(tl.int64) * S", "row_start = safe_rows.to(tl.int64) * BLOCK_N"),),
    ),
    Mistake(
        name="pv_acc_overwritten",
        bug="In the P @ V kernel acc = tl.dot(p, v) replaces the accumulator for each key block.",
        expect="accumulat",
        wrong=("causal mask", "diagonal", "scale is", "NaN", "without a mask"),
        edits=(("acc += tl.dot(p.to(v.dtype), v)", "acc = tl.dot(p.to(v.dtype), v)"),),
    ),
    Mistake(
        name="pv_v_unmasked",
        bug="The v load of the P @ V kernel has no mask: the last key block reads past the end of v.",
        expect="without a mask",
        wrong=("causal mask", "diagonal", "scale is"),
        edits=(
            (
                "dims[None, :], mask=keys[:, None] < S, other=0.0)",
                "dims[None, :])",
            ),
        ),
    ),
    Mistake(
        name="softmax_not_normalised",
        bug="The softmax's last pass stores exp(x - m) without dividing by the row sum.",
        expect="divide",
        wrong=("scale is", "constant factor", "causal mask", "diagonal", "NaN"),
        edits=(("p = tl.exp(x - m[:, None]) / total[:, None]", "p = tl.exp(x - m[:, None])"),),
    ),
]
