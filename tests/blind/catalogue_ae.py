"""Blind-written mistakes, levels 5, 6, 8, author ae."""

ENTRIES = [
    # ---- level 5 ----
    dict(level=5, file="level5/ae_mask_includes_diagonal.py",
         bug="The future test uses j >= i instead of j > i, so the diagonal is hidden too: every token loses "
             "its own score, and with S = 1 the whole output is -inf.",
         expect=("diagonal", ">=", "j == i", "off-by-one", "itself"),
         wrong=("row stride", "head offset", "tile index", "transposed"),
         fails_today=True),
    dict(level=5, file="level5/ae_tile_local_indices.py",
         bug="The mask compares tile-local arange indices instead of the global row and column indices, so "
             "every tile gets a little triangle of its own: tiles off the diagonal are masked wrongly.",
         expect=("global", "local", "tile offset", "pid", "program id"),
         wrong=("stride", "inclusive", "dtype", "zero instead"),
         fails_today=True),
    dict(level=5, file="level5/ae_head_offset_row_stride.py",
         bug="The input's head stride is passed as the row stride (x.stride(1) instead of x.stride(0)), so "
             "every head after the first reads a shifted piece of head 0's scores.",
         expect=("head stride", "stride(0)", "head offset", "batch", "wrong head"),
         wrong=("diagonal", "-inf", "column mask", "tile index"),
         fails_today=True),
    dict(level=5, file="level5/ae_zero_instead_of_neg_inf.py",
         bug="The future scores are replaced by 0.0 instead of -inf, so after a softmax they would still get "
             "weight exp(0); the output's upper triangle holds zeros.",
         expect=("-inf", "inf", "zero", "fill value", "0.0"),
         wrong=("off-by-one", "stride", "out of bounds", "head"),
         fails_today=True),
    dict(level=5, file="level5/ae_output_strides_swapped.py",
         bug="The output's row and column strides are passed in swapped order, so each tile is stored "
             "transposed: the -inf end up below the diagonal and the kept scores are mirrored.",
         expect=("transpos", "swapped", "stride order", "output stride", "mirror"),
         wrong=("diagonal included", "head offset", "fill value", "program id"),
         fails_today=True),
    # ---- level 6 ----
    dict(level=6, file="level6/ae_softmax_no_max_subtraction.py",
         bug="The softmax exponentiates the raw scores without subtracting the row maximum, so large logits "
             "overflow exp to inf and the probabilities become nan.",
         expect=("maximum", "row max", "overflow", "stable", "subtract"),
         wrong=("causal", "explicit scale", "head", "program id"),
         fails_today=True),
    dict(level=6, file="level6/ae_causal_hides_diagonal.py",
         bug="The causal test keeps only keys j < i, hiding each query's own key: query 0 sees nothing and "
             "gets a zero output, and every other row misses its diagonal term.",
         expect=("diagonal", "j < i", "off-by-one", "itself", "strict"),
         wrong=("overflow", "scale", "rescale", "head stride"),
         fails_today=True),
    dict(level=6, file="level6/ae_explicit_scale_ignored.py",
         bug="The function always uses 1/sqrt(D) and throws away an explicit scale argument, so calls with "
             "a scale of their own get the default softmax temperature.",
         expect=("explicit scale", "scale argument", "ignored", "overwrit", "scale=none"),
         wrong=("overflow", "diagonal", "chunk", "program id"),
         fails_today=True),
    dict(level=6, file="level6/ae_running_sum_not_rescaled.py",
         bug="The one-pass softmax adds each chunk's exp sum without rescaling the running sum when the "
             "running maximum grows, so rows longer than one chunk get a wrong normaliser.",
         expect=("rescale", "running sum", "online", "correction", "chunk"),
         wrong=("diagonal", "explicit scale", "head stride", "program id"),
         fails_today=True),
    dict(level=6, file="level6/ae_pv_program_ids_swapped.py",
         bug="The P @ V kernel reads the head from program_id(0) and the query tile from program_id(1), but "
             "the grid is (query tiles, heads): heads and tiles are mixed up and parts of out stay unwritten.",
         expect=("program id", "program_id", "grid", "swapped", "pid"),
         wrong=("overflow", "diagonal", "explicit scale", "rescale"),
         fails_today=True),
    # ---- level 8 ----
    dict(level=8, file="level8/ae_log2e_not_folded.py",
         bug="The kernel uses exp2 but the launch passes the plain scale without log2(e), so every exponent "
             "is too small by a factor ln 2 and the softmax comes out too flat.",
         expect=("log2", "log2e", "ln 2", "exp2", "base"),
         wrong=("diagonal", "padding", "rescale acc", "loop bound"),
         fails_today=True),
    dict(level=8, file="level8/ae_acc_not_rescaled.py",
         bug="When the running max grows, l is multiplied by alpha but the accumulator is not, so older key "
             "tiles keep too much weight relative to newer ones.",
         expect=("acc", "accumulator", "alpha", "rescale", "correction"),
         wrong=("log2", "diagonal", "padding", "loop bound"),
         fails_today=True),
    dict(level=8, file="level8/ae_diagonal_tile_causal_off.py",
         bug="The diagonal stage is called with CAUSAL=False, so only padding is masked there: queries see "
             "the future keys inside their own diagonal tile.",
         expect=("diagonal", "causal mask", "future", "j > i", "causal"),
         wrong=("log2", "alpha", "ragged tail", "head stride"),
         fails_today=True),
    dict(level=8, file="level8/ae_causal_diagonal_range_short.py",
         bug="The masked causal stage ends at start_m*BLOCK_M + BLOCK_N instead of (start_m+1)*BLOCK_M, so "
             "only the first key tile of the diagonal block is visited and later rows miss visible keys.",
         expect=("loop bound", "hi_end", "upper bound", "range", "block_m"),
         wrong=("log2", "alpha", "padding", "transposed"),
         fails_today=True),
    dict(level=8, file="level8/ae_padding_keys_not_masked.py",
         bug="In the masked stage keys j >= S are loaded as zeros but their scores are not set to -inf, so "
             "when non-causal the ragged last tile gives padding keys weight and shrinks every output.",
         expect=("padding", "j >= s", "ragged", "out of range", "cols >= s"),
         wrong=("log2", "diagonal", "alpha", "head stride"),
         fails_today=True),
]

CORRECT = ["level5/correct_ae.py", "level6/correct_ae.py", "level8/correct_ae.py"]
