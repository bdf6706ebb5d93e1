"""Level 8 (Flash Attention): mutants of solutions_hidden/level8_flash_attention.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="causal_always",
        bug="The causal flag is ignored: the kernel is always compiled causal.",
        expect="although causal=False",
        edits=(("HEAD_DIM=D, CAUSAL=bool(causal),", "HEAD_DIM=D, CAUSAL=True,"),),
    ),
    Mutant(
        name="diagonal_masked",
        bug="The causal mask of the diagonal tile hides the diagonal too (j >= i).",
        expect="diagonal is masked too",
        edits=(
            (
                "visible = visible & (cols[None, :] <= rows[:, None])",
                "visible = visible & (cols[None, :] < rows[:, None])",
            ),
        ),
    ),
    Mutant(
        name="diagonal_tile_skipped",
        bug="Causal: only the tiles below the diagonal are visited; the diagonal tile is skipped.",
        expect="diagonal tile is skipped",
        edits=(
            (
                "hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)  # keys after the tile's last query: skipped",
                "hi_end = lo_end  # (bug) the diagonal tile is never visited",
            ),
        ),
    ),
    Mutant(
        name="diagonal_unmasked",
        bug="The diagonal tile is visited without the causal mask, so future keys leak in.",
        expect="without the causal mask",
        edits=(
            (
                "        if CAUSAL:\n            visible = visible & (cols[None, :] <= rows[:, None])\n",
                "",
            ),
        ),
    ),
    Mutant(
        name="exp2_without_log2e",
        bug="exp2 is used but log2(e) is not folded into the scale.",
        expect="log2(e)",
        edits=(("S, scale * LOG2E,", "S, scale,"),),
    ),
    Mutant(
        name="no_acc_rescale",
        bug="The accumulator is not rescaled by alpha when the running max grows.",
        expect="accumulator is not rescaled",
        edits=(("    acc = acc * alpha[:, None]\n", ""),),
    ),
    Mutant(
        name="no_l_rescale",
        bug="The normaliser l is not rescaled by alpha when the running max grows.",
        expect="normaliser is not rescaled",
        edits=(("l_i = l_i * alpha + tl.sum(p, axis=1)", "l_i = l_i + tl.sum(p, axis=1)"),),
    ),
    Mutant(
        name="no_max_subtraction",
        bug="exp2 of the raw scores, with no running max at all.",
        expect="exp overflows",
        edits=(
            ("        m_new = tl.maximum(m_i, tl.max(s, axis=1))\n        p = tl.exp2(s - m_new[:, None])\n", "        p = tl.exp2(s)\n"),
            (
                "        m_new = tl.maximum(m_i, tl.max(qk, axis=1) * qk_scale)\n"
                "        p = tl.exp2(qk * qk_scale - m_new[:, None])\n",
                "        p = tl.exp2(qk * qk_scale)\n",
            ),
            ("    alpha = tl.exp2(m_i - m_new)  # puts what was summed against m_i onto m_new; 0 in the first tile\n", ""),
            ("l_i = l_i * alpha + tl.sum(p, axis=1)", "l_i = l_i + tl.sum(p, axis=1)"),
            ("    acc = acc * alpha[:, None]\n", ""),
            ("return acc, l_i, m_new", "return acc, l_i, m_i"),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(
            (
                "    flash_attention_kernel[grid](",
                "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)\n"
                "    flash_attention_kernel[grid](",
            ),
        ),
    ),
    Mutant(
        name="scale_ignored",
        bug="The user's scale is dropped: only log2(e) multiplies the scores.",
        expect="the scale is not applied",
        edits=(("S, scale * LOG2E,", "S, LOG2E,"),),
    ),
    Mutant(
        name="scores_buffer",
        bug="Unfused: every score tile is also written to an S x S buffer (kept 'for later').",
        expect="S x S score matrix",
        edits=(
            # attend_block takes the buffer and stores each tile of scores into it.
            (
                "qk_scale,\n    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,\n",
                "qk_scale, scores_base,\n    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,\n",
            ),
            (
                "    qk = tl.dot(q, tl.trans(k))\n",
                "    qk = tl.dot(q, tl.trans(k))\n"
                "    all_cols = start_n + tl.arange(0, BLOCK_N)\n"
                "    tl.store(scores_base + rows[:, None] * S + all_cols[None, :], qk * qk_scale,"
                " mask=(rows[:, None] < S) & (all_cols[None, :] < S))\n",
            ),
            # attend_keys passes it through.
            (
                "lo, hi, rows, S, qk_scale,\n    MASKED: tl.constexpr, CAUSAL: tl.constexpr,\n",
                "lo, hi, rows, S, qk_scale, scores_base,\n    MASKED: tl.constexpr, CAUSAL: tl.constexpr,\n",
            ),
            (
                "start_n, rows, S, qk_scale,\n            MASKED, CAUSAL",
                "start_n, rows, S, qk_scale, scores_base,\n            MASKED, CAUSAL",
            ),
            # The kernel gets the (B*H, S, S) buffer and hands each head's slice down.
            ("    q_ptr, k_desc, v_desc, out_ptr,\n", "    q_ptr, k_desc, v_desc, out_ptr, scores_ptr,\n"),
            (
                "    row_ok = rows[:, None] < S\n",
                "    row_ok = rows[:, None] < S\n    scores_base = scores_ptr + bh.to(tl.int64) * S * S\n",
            ),
            ("bh, 0, lo_end, rows, S, qk_scale,", "bh, 0, lo_end, rows, S, qk_scale, scores_base,"),
            ("lo_end, hi_end, rows, S, qk_scale,", "lo_end, hi_end, rows, S, qk_scale, scores_base,"),
            # The wrapper allocates it.
            (
                "    out = torch.empty_like(q)\n",
                "    out = torch.empty_like(q)\n"
                '    scores = torch.full((B * H, S, S), float("-inf"), device=q.device, dtype=torch.float32)\n',
            ),
            ("        q, k_desc, v_desc, out,\n", "        q, k_desc, v_desc, out, scores,\n"),
        ),
    ),
]
