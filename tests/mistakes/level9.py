"""Level 9 (Flash Attention backward): learner mistakes, as edits of solutions_hidden/level9_flash_backward.py.

The solution's shape is the template's (a delta kernel, a dK/dV kernel walking query tiles, a dQ
kernel walking key tiles, plain pointer loads); its only extras are autotuning and the loops moved
into helpers, which no mistake here depends on. So each mistake is its own edits, with no shared
"learner shape" edits first (compare level 8's LEARNER_LOADS).

They are different bugs from the planted mutants of tests/mutants/level9.py, or the same area written
the way a learner would write it (the mutants drop the scale; here the wrong constant is used).
"""

from . import Mistake

# The causal mask of each walk, as the solution writes it (tl.where, j <= i).
DKDV_MASK = "pT = tl.where(keys[:, None] <= rows[None, :], pT, 0.0)"
DQ_CAUSAL = "visible = visible & (keys[None, :] <= rows[:, None])"
# The scores, recomputed in base 2 in each walk.
DKDV_P = "tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - lse2[None, :])"
DQ_P = "tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None])"
# The two launches' scale arguments: (scale, qk_scale).
DKDV_SCALES = "q, k, v, do, lse, delta, dk, dv,\n        S, scale, scale * LOG2E,"
DQ_SCALES = "q, k, v, do, lse, delta, dq,\n        S, scale, scale * LOG2E,"

MISTAKES = [
    Mistake(
        name="delta_without_head_offset",
        bug="delta is stored at delta_ptr + rows, without the (batch, head) offset bh * S: every head writes head 0's slots, and the others read memory nobody wrote.",
        expect="head",
        wrong=("it needs o", "not subtracted", "without lse", "diagonal", "not multiplied by the scale"),
        issue="22",
        edits=(("tl.store(delta_ptr + bh.to(tl.int64) * S + rows,", "tl.store(delta_ptr + rows,"),),
    ),
    Mistake(
        name="grads_scaled_by_qk_scale",
        bug="dq and dk are multiplied by qk_scale (which carries log2(e)) instead of scale before they are stored.",
        expect="log2(e)",
        wrong=("natural-log", "without lse", "delta is not", "dS = P * (dP - delta)", "diagonal", "not multiplied by the scale"),
        issue="22",
        edits=(
            ("(dk * scale).to(dk_ptr.dtype.element_ty)", "(dk * qk_scale).to(dk_ptr.dtype.element_ty)"),
            ("(dq * scale).to(dq_ptr.dtype.element_ty)", "(dq * qk_scale).to(dq_ptr.dtype.element_ty)"),
        ),
    ),
    Mistake(
        name="p_recomputed_with_exp",
        bug="P is recomputed with tl.exp although the scores and lse are in log2 units (qk_scale and lse * log2(e)): exp for exp2.",
        expect="exp2",
        wrong=("natural-log", "without lse", "delta is not", "diagonal", "not multiplied by the scale"),
        issue="22",
        edits=(
            (DKDV_P, DKDV_P.replace("tl.exp2(", "tl.exp(")),
            (DQ_P, DQ_P.replace("tl.exp2(", "tl.exp(")),
        ),
    ),
    Mistake(
        name="qk_scale_without_log2e",
        bug="The wrapper passes scale as qk_scale (LOG2E forgotten): the scores are in natural-log units while lse2 and exp2 are in log2 units.",
        expect="qk_scale",
        wrong=("lse is used in natural-log", "without lse", "delta is not", "diagonal", "not multiplied by the scale"),
        issue="22",
        edits=(
            (DKDV_SCALES, DKDV_SCALES.replace("scale * LOG2E,", "scale,")),
            (DQ_SCALES, DQ_SCALES.replace("scale * LOG2E,", "scale,")),
        ),
    ),
    Mistake(
        name="causal_mask_strict",
        bug="Both walks mask with j < i instead of j <= i: the diagonal (query i with key i) is hidden in the backward pass.",
        expect="diagonal is masked",
        wrong=("skipped", "without lse", "delta is not", "not multiplied by the scale"),
        issue="22",
        edits=(
            (DKDV_MASK, DKDV_MASK.replace("<=", "<")),
            (DQ_CAUSAL, DQ_CAUSAL.replace("<=", "<")),
        ),
    ),
    Mistake(
        name="mask_by_multiplication",
        bug="Hidden entries are zeroed by multiplying P by the mask: a hidden score above lse overflows exp2 to inf, and inf * 0 = NaN.",
        expect="tl.where",
        wrong=("without lse", "delta is not", "diagonal", "not multiplied by the scale"),
        issue="22",
        edits=(
            (DKDV_MASK, "pT = pT * (keys[:, None] <= rows[None, :])"),
            ("p = tl.where(visible, p, 0.0)", "p = p * visible"),
        ),
    ),
    Mistake(
        name="grads_returned_out_of_order",
        bug="The wrapper returns (dk, dq, dv) instead of (dq, dk, dv).",
        expect="order",
        wrong=("diagonal", "without lse", "delta is not", "dS = P * (dP - delta)", "not multiplied by the scale"),
        issue="22",
        edits=(("return dq, dk, dv", "return dk, dq, dv"),),
    ),
    Mistake(
        name="dkdv_tile_start_block_m",
        bug="The dK/dV program's key tile starts at program_id * BLOCK_M (the query tile's size) instead of * BLOCK_N: the tiles overlap and the last keys are never computed.",
        expect="BLOCK_N",
        wrong=("diagonal", "without lse", "delta is not", "not multiplied by the scale"),
        issue="22",
        edits=(("start_n = tl.program_id(0) * BLOCK_N", "start_n = tl.program_id(0) * BLOCK_M"),),
    ),
    Mistake(
        name="dkdv_diagonal_one_query_tile",
        bug="Causal dK/dV: the masked stage covers only BLOCK_M queries from start_n (BLOCK_M for BLOCK_N), so the rest of the diagonal rows run unmasked and future keys leak.",
        expect="start_n + BLOCK_N",
        wrong=("without lse", "delta is not", "not multiplied by the scale", "dv is multiplied"),
        issue="22",
        edits=(
            ("diagonal_end = tl.minimum(start_n + BLOCK_N, S)", "diagonal_end = tl.minimum(start_n + BLOCK_M, S)"),
            ("lo = start_n + BLOCK_N  # every later query", "lo = start_n + BLOCK_M  # every later query"),
        ),
    ),
    Mistake(
        name="noncausal_dkdv_skips_earlier_queries",
        bug="Non-causal dK/dV starts the query walk at start_n as in the causal case: the queries before the key tile never reach dk and dv.",
        expect="causal=False",
        wrong=("diagonal", "without lse", "delta is not", "not multiplied by the scale"),
        issue="22",
        edits=(("        lo = 0\n", "        lo = start_n  # earlier queries see none of these keys\n"),),
    ),
    Mistake(
        name="dv_scaled",
        bug="dv is multiplied by the scale before it is stored, like dk: only dq and dk carry the scale.",
        expect="dv is multiplied by the scale",
        wrong=("not multiplied", "without lse", "delta is not", "diagonal"),
        issue="22",
        edits=(("dv.to(dv_ptr.dtype.element_ty)", "(dv * scale).to(dv_ptr.dtype.element_ty)"),),
    ),
]
