"""Level 7 (fused attention, online softmax): learner mistakes, as edits of
solutions_hidden/level7_fused_attention.py."""

from . import Mistake

MISTAKES = [
    Mistake(
        name="running_max_init_zero",
        bug="The running max starts at 0 instead of -inf: a row whose visible scores are all far below 0 gets exp(-900) = 0 everywhere.",
        expect="-inf",
        wrong=("rescaled", "diagonal", "causal mask", "exp overflows"),
        issue="13.12",
        edits=(('m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)', "m_i = tl.zeros([BLOCK_M], tl.float32)"),),
    ),
    Mistake(
        name="p_divided_by_l_in_loop",
        bug="Normalising as it goes: p is divided by the running l inside the loop, and acc is stored as it is.",
        expect="after the loop",
        wrong=("not rescaled", "stale", "diagonal", "causal mask", "scale is"),
        issue="13.11",
        edits=(
            (
                "        l_i = l_i * alpha + tl.sum(p, axis=1)\n",
                "        l_i = l_i * alpha + tl.sum(p, axis=1)\n        p = p / l_i[:, None]  # normalise as we go\n",
            ),
            ("    out = acc / l_i[:, None]\n", "    out = acc\n"),
        ),
    ),
    Mistake(
        name="final_division_forgotten",
        bug="The output is acc, not acc / l: the final division by the normaliser is forgotten.",
        expect="divide",
        wrong=("not rescaled", "scale is", "causal mask", "diagonal", "constant factor"),
        issue="13.11",
        edits=(("    out = acc / l_i[:, None]\n", "    out = acc\n"),),
    ),
    Mistake(
        name="padding_le_s",
        bug="visible = cols <= S: key S, one past the end, is loaded as 0 and takes weight (<= for <).",
        expect="padded key",
        wrong=("causal mask", "diagonal", "rescaled", "without a mask"),
        edits=(("        visible = cols[None, :] < S\n", "        visible = cols[None, :] <= S\n"),),
    ),
    Mistake(
        name="alpha_inverted",
        bug="alpha = exp(m_new - m_old), the inverse of the rescale factor: inf in the first block, NaN after.",
        expect="alpha",
        wrong=("diagonal", "exp overflows", "padded", "causal mask"),
        edits=(("alpha = tl.exp(m_i - m_new)", "alpha = tl.exp(m_new - m_i)"),),
    ),
    Mistake(
        name="scale_after_softmax",
        bug="The scale multiplies the output after the softmax instead of the scores before it.",
        expect="after the softmax",
        wrong=("not applied", "ignored", "constant factor", "rescaled", "causal mask"),
        edits=(
            ("s = tl.dot(q, tl.trans(k)) * scale", "s = tl.dot(q, tl.trans(k))"),
            ("    out = acc / l_i[:, None]\n", "    out = acc / l_i[:, None] * scale\n"),
        ),
    ),
    Mistake(
        name="running_max_not_updated",
        bug="m_i = m_new is forgotten: the running max stays -inf, so alpha = 0 wipes the state at every block.",
        expect="running max",
        wrong=("not rescaled", "diagonal", "causal mask", "padded"),
        edits=(("        m_i = m_new\n        k_ptrs +=", "        k_ptrs +="),),
    ),
    Mistake(
        name="v_ptrs_not_advanced",
        bug="Only k_ptrs moves to the next block: every block of keys is paired with the first block of v.",
        expect="v_ptrs",
        wrong=("not rescaled", "diagonal", "causal mask", "padded"),
        edits=(("        v_ptrs += BLOCK_N * stride_s\n", ""),),
    ),
    Mistake(
        name="causal_mask_tile_local",
        bug="The causal mask compares positions inside the tiles (offs_n <= arange(BLOCK_M)), not global indices.",
        expect="global",
        wrong=("diagonal tile is skipped", "not rescaled", "padded", "exp overflows"),
        edits=(
            (
                "visible = visible & (cols[None, :] <= rows[:, None])",
                "visible = visible & (offs_n[None, :] <= tl.arange(0, BLOCK_M)[:, None])",
            ),
        ),
    ),
]
