"""Blind-written mistakes, levels 2, 3 and 4, author ag."""

ENTRIES = [
    dict(level=2, file="level2/ag_k_mask_ignores_step.py",
         bug="The K mask compares the lane index against the whole K instead of the K left after this step's offset, "
             "so the last partial K tile reads past the end of each row of a and b and adds garbage products into c.",
         expect=("k mask", "remaining k", "k offset", "past k", "last k tile", "inner dimension"),
         wrong=("row stride", "program id", "accumulator dtype", "grid size"),
         fails_today=True),
    dict(level=2, file="level2/ag_tile_decode_uses_m_count.py",
         bug="The flat program id is split into (tile row, tile column) using the number of tiles along M instead of "
             "along N, so when the tile counts differ some tiles of c are computed twice or at the wrong place and others never.",
         expect=("program id", "pid", "tile index", "tiles along n", "decod", "tile column"),
         wrong=("k mask", "float32 accumulator", "stride", "transpose"),
         fails_today=True),
    dict(level=3, file="level3/ag_wide_sum_not_rescaled.py",
         bug="In the wide-row pass the running sum is never multiplied by exp(old max - new max) when the max grows, "
             "so terms computed against an older, smaller max stay too large and wide rows come out with wrong, too-small probabilities.",
         expect=("rescale", "running sum", "exp(m - m_new)", "correction factor", "online softmax", "old max"),
         wrong=("padding", "row stride", "overflow", "dtype"),
         fails_today=True),
    dict(level=3, file="level3/ag_pad_lanes_zero.py",
         bug="The single-block kernel loads the lanes past N as 0.0 instead of -inf, so each padding lane adds exp(0 - max) "
             "to the denominator (and can become the max for very negative rows), making rows whose width is not a power of two sum to less than 1.",
         expect=("-inf", "padding", "masked lanes", "other=", "lanes past n", "pad"),
         wrong=("rescale", "running max", "row stride", "wide block"),
         fails_today=True),
    dict(level=4, file="level4/ag_out_missing_head_offset.py",
         bug="The output pointer never adds head * stride_oh, so every (batch, head) pair writes its tile into head 0's "
             "matrix and the other heads' scores are left as uninitialised memory.",
         expect=("head offset", "stride_oh", "batch offset", "output base", "every head writes", "(batch, head)"),
         wrong=("scale", "mask", "transpose", "grid rounding"),
         fails_today=True),
    dict(level=4, file="level4/ag_explicit_scale_ignored.py",
         bug="The wrapper always sets scale to 1/sqrt(D), overwriting a scale the caller passed, so scores are right only "
             "when scale is None and wrong by a constant factor otherwise.",
         expect=("explicit scale", "scale argument", "ignores scale", "overwrit", "scale=none", "1/sqrt(d)"),
         wrong=("mask", "stride", "head offset", "tile decoding"),
         fails_today=True),
    dict(level=4, file="level4/ag_grid_rounds_down.py",
         bug="The number of tiles is computed with floor division S // BLOCK instead of cdiv, so too few programs are "
             "launched and the ragged tiles at the end of the S x S matrix are never written, leaving uninitialised values.",
         expect=("cdiv", "round up", "floor division", "last tile", "partial tile", "too few programs"),
         wrong=("scale", "head offset", "stride", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/ag_k_strides_swapped.py",
         bug="The transposed k tile is addressed with the sequence stride and the feature stride swapped, so it reads "
             "k at the wrong elements (and past the head's block) and every score is a dot product with garbage keys.",
         expect=("stride_ks", "stride_kd", "swapped strides", "k stride", "k pointer", "key addressing"),
         wrong=("scale", "head offset", "grid", "padding"),
         fails_today=True),
]

CORRECT = ["level2/correct_ag.py", "level3/correct_ag.py", "level4/correct_ag.py"]
