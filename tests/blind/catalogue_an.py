"""Blind-written mistakes, levels 2, 5, 6 and 8, author an."""

ENTRIES = [
    # ---- level 2: matmul ----
    dict(level=2, file="level2/an_tile_decode_divides_by_row_tiles.py",
         bug="The flat program id is split into (tile row, tile column) using the number of tiles along M "
             "instead of along N, so some tiles of c are computed twice and others never written, leaving garbage.",
         expect=("program id", "tile index", "tiles along n", "pid decoding", "number of column tiles", "grid mapping"),
         wrong=("k mask", "accumulator dtype", "stride", "tf32"),
         fails_today=True),
    dict(level=2, file="level2/an_k_steps_floor_division.py",
         bug="The K loop runs K // BLOCK_K times instead of cdiv(K, BLOCK_K), so the ragged last slice of K is "
             "never multiplied in (and K < BLOCK_K gives all zeros).",
         expect=("k loop", "last k", "ragged k", "cdiv", "floor", "k tail"),
         wrong=("column offset", "program id", "store mask", "float16 accumulator"),
         fails_today=True),
    dict(level=2, file="level2/an_col_offset_uses_block_m.py",
         bug="The tile's column offsets are computed as tile_col * BLOCK_M instead of tile_col * BLOCK_N; with "
             "BLOCK_M != BLOCK_N the column tiles land in the wrong place, leaving some columns of c unwritten.",
         expect=("block_n", "block_m", "column offset", "column tile", "cols"),
         wrong=("k loop", "accumulator", "k mask", "transpose"),
         fails_today=True),
    # ---- level 5: causal mask ----
    dict(level=5, file="level5/an_diagonal_also_hidden.py",
         bug="The mask uses j >= i instead of j > i, so the diagonal (a token attending to itself) is also set to -inf.",
         expect=("diagonal", ">=", "off-by-one", "j == i", "itself"),
         wrong=("head offset", "stride", "local index", "unwritten"),
         fails_today=True),
    dict(level=5, file="level5/an_mask_from_tile_local_indices.py",
         bug="The j > i test compares tile-local aranges instead of the global row and column indices, so every "
             "tile gets the same triangle: off-diagonal tiles are wrongly masked or left unmasked.",
         expect=("global", "local", "tile offset", "pid_n * block_n", "absolute index"),
         wrong=("diagonal included", "head offset", "stride", "dtype"),
         fails_today=True),
    dict(level=5, file="level5/an_head_offset_missing_factor_s.py",
         bug="The head's base offset is head * S instead of head * S * S (the head stride), so heads after the "
             "first read and write overlapping wrong regions of the scores.",
         expect=("head offset", "head stride", "stride_xh", "batch offset", "s * s"),
         wrong=("diagonal", "off-by-one", "local index", "-1e9"),
         fails_today=True),
    dict(level=5, file="level5/an_tiles_past_diagonal_never_written.py",
         bug="The column loop stops at the diagonal block, skipping the tiles above it; but those tiles must still be "
             "written as -inf, so they keep the uninitialised contents of torch.empty.",
         expect=("never written", "uninitialised", "uninitialized", "skipped", "above the diagonal", "torch.empty"),
         wrong=("diagonal included", "head offset", "local index", "scale"),
         fails_today=True),
    # ---- level 6: naive attention ----
    dict(level=6, file="level6/an_softmax_exp_without_max_shift.py",
         bug="The softmax computes exp(x) without subtracting the row maximum, so large logits overflow to inf "
             "and the probabilities become nan.",
         expect=("row max", "maximum", "overflow", "subtract the max", "numerically stable"),
         wrong=("scale ignored", "padding", "causal mask", "head stride"),
         fails_today=True),
    dict(level=6, file="level6/an_explicit_scale_overwritten.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting an explicit scale argument, so calls that pass "
             "a scale get the default temperature.",
         expect=("scale", "explicit", "1/sqrt", "overwritten", "ignored"),
         wrong=("row max", "overflow", "padding", "causal"),
         fails_today=True),
    dict(level=6, file="level6/an_softmax_sum_counts_padding.py",
         bug="In the softmax's sum sweep the padding columns past S are loaded with other=0.0 instead of -inf, so "
             "each adds exp(-max) to the denominator and the probabilities of ragged rows are too small.",
         expect=("padding", "other=0", "-inf", "denominator", "ragged", "out-of-range columns"),
         wrong=("overflow", "scale", "diagonal", "head offset"),
         fails_today=True),
    # ---- level 8: flash attention ----
    dict(level=8, file="level8/an_output_not_rescaled_by_new_max.py",
         bug="When the running max grows, the row sums are rescaled by alpha but the output accumulator is not, "
             "so earlier key tiles keep weights relative to a stale max.",
         expect=("rescale", "alpha", "accumulator", "acc * alpha", "stale max", "correction factor"),
         wrong=("exp base", "head offset", "loop bound", "log2"),
         fails_today=True),
    dict(level=8, file="level8/an_natural_exp_with_log2_scale.py",
         bug="The scale has log2(e) folded in but the kernel uses tl.exp instead of tl.exp2, so the softmax runs "
             "at the wrong temperature (scores effectively multiplied by log2(e)).",
         expect=("exp2", "log2", "base", "natural exp", "log2e"),
         wrong=("rescale", "head offset", "diagonal tile", "mask"),
         fails_today=True),
    dict(level=8, file="level8/an_diagonal_sweep_stops_after_one_key_tile.py",
         bug="In the causal case the masked stage ends at start_m*BLOCK_M + BLOCK_N instead of (start_m+1)*BLOCK_M, "
             "so with BLOCK_M > BLOCK_N the later rows of each query tile never see their last visible keys.",
         expect=("hi_end", "upper bound", "diagonal", "stage 2", "loop bound", "block_m"),
         wrong=("exp2", "rescale", "head offset", "padding"),
         fails_today=True),
    dict(level=8, file="level8/an_head_offset_uses_row_stride.py",
         bug="The per-head base offset multiplies the batch*head index by the row stride instead of the head "
             "stride, so every head but the first reads and writes the wrong rows.",
         expect=("head offset", "head stride", "stride_bh", "batch*head", "base pointer"),
         wrong=("exp2", "rescale", "diagonal", "causal mask"),
         fails_today=True),
]

CORRECT = ["level2/correct_an.py", "level5/correct_an.py", "level6/correct_an.py", "level8/correct_an.py"]
