"""Level 8 (Flash Attention): learner mistakes, as edits of solutions_hidden/level8_flash_attention.py.

The solution reads k and v through tensor descriptors, which return zeros past S; the learner's kata
loads them through pointers, masked in the masked stage only (see the template's attend_block TODO).
Every mistake therefore starts from LEARNER_LOADS, which turns the solution's loads into the kata's,
so that a key tile visited by the wrong stage reads and scores exactly what the learner's kernel would.
The solution with LEARNER_LOADS alone passes every case (tests/test_mistakes.py checks it).
"""

from . import Mistake

LEARNER_LOADS: tuple[tuple[str, str], ...] = (
    (
        "    k = k_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)\n",
        "    keys = start_n + tl.arange(0, BLOCK_N)\n"
        "    kv_offsets = bh.to(tl.int64) * S * HEAD_DIM + keys[:, None] * HEAD_DIM + tl.arange(0, HEAD_DIM)[None, :]\n"
        "    if MASKED:\n"
        "        k = tl.load(k_desc + kv_offsets, mask=keys[:, None] < S, other=0.0)\n"
        "    else:\n"
        "        k = tl.load(k_desc + kv_offsets)\n",
    ),
    (
        "    v = v_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)\n",
        "    if MASKED:\n"
        "        v = tl.load(v_desc + kv_offsets, mask=keys[:, None] < S, other=0.0)\n"
        "    else:\n"
        "        v = tl.load(v_desc + kv_offsets)\n",
    ),
    (
        "k_desc, v_desc = (TensorDescriptor(t, shape=[B * H, S, D], strides=[S * D, D, 1], block_shape=[1, 16, D]) for t in (k, v))",
        "k_desc, v_desc = k, v  # plain pointers, as in the kata",
    ),
    ('        args[name].block_shape = [1, args["BLOCK_N"], args["HEAD_DIM"]]\n', "        pass  # no descriptors\n"),
)

CAUSAL_HI_END = "hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)  # keys after the tile's last query: skipped"

MISTAKES = [
    Mistake(
        name="diagonal_stage_ends_early",
        bug="The diagonal stage ends at start_m * BLOCK_M + BLOCK_N (BLOCK_N for BLOCK_M): half of the diagonal tile is never visited.",
        expect="(start_m + 1) * BLOCK_M",
        wrong=("running state is not carried", "rescale", "without a mask", "stale"),
        issue="13.11",
        edits=(*LEARNER_LOADS, (CAUSAL_HI_END, "hi_end = tl.minimum(start_m * BLOCK_M + BLOCK_N, S)")),
    ),
    Mistake(
        name="unmasked_stage_one_tile_too_far",
        bug="Stage 1 (no mask) runs to start_m * BLOCK_M + BLOCK_N: the first key tile of the diagonal is scored unmasked, future keys leak.",
        expect="start_m * BLOCK_M",
        wrong=("without a mask", "rescale", "diagonal tile is skipped", "stale"),
        issue="13.11",
        edits=(
            *LEARNER_LOADS,
            (
                "lo_end = start_m * BLOCK_M  # keys before the tile's first query",
                "lo_end = start_m * BLOCK_M + BLOCK_N  # keys before the tile's first query",
            ),
        ),
    ),
    Mistake(
        name="stage2_local_rows",
        bug="Stage 2 is given tile-local rows (tl.arange(0, BLOCK_M)): the causal mask compares global keys with local queries.",
        expect="global",
        wrong=("diagonal tile is skipped", "rescale", "stale", "without a mask"),
        issue="13.11",
        edits=(*LEARNER_LOADS, ("lo_end, hi_end, rows, S, qk_scale,", "lo_end, hi_end, tl.arange(0, BLOCK_M), S, qk_scale,")),
    ),
    Mistake(
        name="causal_bounds_when_not_causal",
        bug="The non-causal branch uses the causal stage bounds: with causal=False the keys past the diagonal are never visited.",
        expect="causal=False",
        wrong=("diagonal", "rescale", "stale", "without a mask"),
        issue="13.11",
        edits=(
            *LEARNER_LOADS,
            (
                "        lo_end = (S // BLOCK_N) * BLOCK_N  # every full key tile\n        hi_end = S  # plus the ragged last one, if any\n",
                "        lo_end = start_m * BLOCK_M\n        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)\n",
            ),
        ),
    ),
    Mistake(
        name="future_tiles_masked_not_skipped",
        bug="Causal: the masked stage runs to S, visiting every key tile past the diagonal only to mask it away (no block skipping).",
        expect="skip",
        wrong=("without a mask", "rescale", "causal mask is not applied"),
        issue="13.12",
        edits=(*LEARNER_LOADS, (CAUSAL_HI_END, "hi_end = S  # the causal mask hides the future keys anyway")),
    ),
    Mistake(
        name="exp_with_log2e",
        bug="tl.exp is used everywhere although the scale carries log2(e) (exp for exp2).",
        expect="log2(e)",
        wrong=("rescale", "diagonal", "stale", "scale is not applied"),
        edits=(
            *LEARNER_LOADS,
            ("p = tl.exp2(s - m_new[:, None])", "p = tl.exp(s - m_new[:, None])"),
            ("p = tl.exp2(qk * qk_scale - m_new[:, None])", "p = tl.exp(qk * qk_scale - m_new[:, None])"),
            ("alpha = tl.exp2(m_i - m_new)", "alpha = tl.exp(m_i - m_new)"),
        ),
    ),
    Mistake(
        name="reversed_tile_order_off_by_one",
        bug="start_m = num_programs - program_id (the - 1 is missing): query tile 0 is never computed, one past the end is.",
        expect="num_programs",
        wrong=("diagonal", "rescale", "stale", "without a mask"),
        edits=(
            *LEARNER_LOADS,
            ("start_m = tl.num_programs(0) - 1 - tl.program_id(0)", "start_m = tl.num_programs(0) - tl.program_id(0)"),
        ),
    ),
    Mistake(
        name="acc_rescaled_after_dot",
        bug="acc is multiplied by alpha after this tile's p @ v is added, so the new tile is rescaled too.",
        expect="before adding",
        wrong=("not rescaled", "diagonal", "stale", "without a mask"),
        edits=(
            *LEARNER_LOADS,
            ("    acc = acc * alpha[:, None]\n", ""),
            (
                "    acc = tl.dot(p.to(v.dtype), v, acc)\n",
                "    acc = tl.dot(p.to(v.dtype), v, acc)\n    acc = acc * alpha[:, None]\n",
            ),
        ),
    ),
    Mistake(
        name="ragged_tile_unmasked",
        bug="Non-causal: stage 1 (no mask) runs to S, so the ragged last key tile is loaded and scored without a mask.",
        expect="without a mask",
        wrong=("causal mask", "diagonal", "rescale", "stale"),
        edits=(
            *LEARNER_LOADS,
            ("lo_end = (S // BLOCK_N) * BLOCK_N  # every full key tile", "lo_end = S  # every key tile"),
        ),
    ),
]
