"""Blind-written mistakes, levels 1, 2, 4, 5, 6, 7, 11, author q."""

ENTRIES = [
    # level 1
    dict(level=1, file="level1/q_grid_rounds_down.py",
         bug="The grid is n // BLOCK_SIZE (floor division, at least 1) instead of a ceiling division, so the "
             "last partial block gets no program and the tail elements of the output are never written.",
         expect=("grid", "rounds down", "ceil", "cdiv", "last block", "tail"),
         wrong=("dtype", "loads x twice", "mask compares"),
         fails_today=True),
    dict(level=1, file="level1/q_loads_x_twice.py",
         bug="The second load reads from x_ptr instead of y_ptr, so the kernel computes x + x and ignores y.",
         expect=("y_ptr", "x + x", "2 * x", "ignores y", "loads x twice", "y is never read"),
         wrong=("grid", "mask", "dtype", "offset"),
         fails_today=True),
    # level 2
    dict(level=2, file="level2/q_tile_index_uses_m.py",
         bug="The flat program id is split into (pid_m, pid_n) with the number of tiles along M instead of along "
             "N, so for non-square tile grids some tiles of c are computed twice and others never.",
         expect=("pid_m", "pid_n", "tile index", "number of tiles", "program id", "tiles along"),
         wrong=("accumulator", "k mask", "stride of b", "float16"),
         fails_today=True),
    dict(level=2, file="level2/q_k_mask_without_offset.py",
         bug="The K-loop masks compare the local index arange(BLOCK_K) with K instead of k0 + arange(BLOCK_K), so "
             "on the last, ragged K tile it reads past K (into the next row of a and beyond b) and adds garbage.",
         expect=("ragged k", "k0", "k mask", "past k", "inner dimension", "last k tile"),
         wrong=("pid_m", "swapped strides", "transpose", "store mask"),
         fails_today=True),
    dict(level=2, file="level2/q_b_strides_swapped.py",
         bug="b's two strides are passed in the wrong order (stride(1) as the K stride, stride(0) as the N stride), "
             "so b is read as if transposed and the result is wrong unless b happens to be symmetric.",
         expect=("stride", "strides of b", "swapped", "transposed", "b.stride"),
         wrong=("k mask", "grid", "accumulator dtype", "tile index"),
         fails_today=True),
    # level 4
    dict(level=4, file="level4/q_explicit_scale_ignored.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting a scale the caller passed, so results are "
             "right for scale=None and wrong for any explicit scale.",
         expect=("explicit scale", "scale argument", "ignored", "overwrit", "scale=none"),
         wrong=("store mask", "stride", "divides", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/q_store_mask_rows_only.py",
         bug="The store is masked on the query rows only, not the key columns, so the padded columns j >= S of a "
             "tile are written into the next row (and past the end), overwriting real scores with zeros.",
         expect=("column mask", "columns >= s", "store mask", "cols < s", "next row", "padded columns"),
         wrong=("scale", "tile index", "transpose", "head offset"),
         fails_today=True),
    dict(level=4, file="level4/q_out_strides_from_q.py",
         bug="The output strides passed to the kernel are q's strides (S*D, D, 1) instead of out's (S*S, S, 1), "
             "so the scores are written at the wrong places of the S x S output.",
         expect=("output stride", "strides of out", "out.stride", "q's strides", "row stride"),
         wrong=("scale", "causal", "k mask", "dtype"),
         fails_today=True),
    dict(level=4, file="level4/q_tile_split_by_row_tiles.py",
         bug="The flat tile id is split into (row tile, column tile) with the number of row tiles (BLOCK_M=32) "
             "instead of the number of column tiles (BLOCK_N=16), so some tiles are computed twice and others "
             "never written.",
         expect=("tile index", "number of column tiles", "n_row_tiles", "tile decomposition", "tiles never written"),
         wrong=("scale", "stride", "transpose", "store mask"),
         fails_today=True),
    dict(level=4, file="level4/q_divides_by_scale.py",
         bug="The dot product is divided by scale instead of multiplied, i.e. scores are multiplied by sqrt(D) "
             "(or 1/scale) rather than by the scale.",
         expect=("divide", "1 / scale", "multiplied by scale", "sqrt(d)", "inverse", "instead of multipl"),
         wrong=("mask", "stride", "tile index", "head"),
         fails_today=True),
    # level 5
    dict(level=5, file="level5/q_diagonal_hidden.py",
         bug="The condition is j >= i instead of j > i, so the diagonal (a token attending to itself) is also set "
             "to -inf.",
         expect=("diagonal", ">=", "j == i", "off by one", "itself"),
         wrong=("in place", "finite", "stride", "grid"),
         fails_today=True),
    dict(level=5, file="level5/q_big_negative_not_inf.py",
         bug="Future positions are set to -1e9, a large finite number, instead of -inf.",
         expect=("-1e9", "-inf", "finite", "large negative", "not infinity"),
         wrong=("diagonal", "in place", "stride", "mask of columns"),
         fails_today=True),
    dict(level=5, file="level5/q_masks_input_in_place.py",
         bug="The output is the input itself (out = x), so the kernel masks the caller's scores in place instead of "
             "returning a new tensor; the returned values are right but the input is modified.",
         expect=("in place", "in-place", "input modified", "new tensor", "aliases", "mutat"),
         wrong=("diagonal", "-1e9", "stride", "grid"),
         fails_today=True),
    # level 6
    dict(level=6, file="level6/q_causal_compare_flipped.py",
         bug="The causal mask compares rows > cols instead of cols > rows, so each query hides its past keys and "
             "sees the future ones (the mask is mirrored across the diagonal).",
         expect=("causal", "flipped", "inverted", "future", "past keys", "j < i"),
         wrong=("max subtraction", "overflow", "padding", "dtype"),
         fails_today=True),
    dict(level=6, file="level6/q_softmax_pad_in_sum.py",
         bug="In the softmax sum pass the padded columns are loaded as 0.0 instead of -inf, so each padding lane adds "
             "exp(-max) to the denominator and the probabilities are too small when S is not a multiple of the chunk.",
         expect=("padding", "padded", "other=0", "denominator", "sum", "-inf"),
         wrong=("causal", "overflow", "scale", "stride"),
         fails_today=True),
    dict(level=6, file="level6/q_softmax_no_max_shift.py",
         bug="The softmax exponentiates the raw scores without subtracting the row maximum, so large logits "
             "overflow exp to inf and the output becomes NaN.",
         expect=("row max", "maximum", "overflow", "large logits", "nan", "subtract"),
         wrong=("causal", "padding", "stride", "p @ v"),
         fails_today=True),
    # level 7
    dict(level=7, file="level7/q_acc_not_rescaled.py",
         bug="When the running maximum grows, l is rescaled by alpha but the output accumulator is not, so earlier "
             "key blocks keep too much weight relative to later ones.",
         expect=("rescale", "alpha", "accumulator", "acc", "online softmax", "running max"),
         wrong=("causal", "log2", "padding", "stride"),
         fails_today=True),
    dict(level=7, file="level7/q_exp2_without_log2e.py",
         bug="The kernel uses exp2 but the scale is not multiplied by log2(e), so it computes 2^(s*scale) instead of "
             "e^(s*scale): a softmax at the wrong temperature.",
         expect=("log2", "log2e", "exp2", "base", "temperature", "1.4427"),
         wrong=("causal", "rescale", "padding", "stride"),
         fails_today=True),
    dict(level=7, file="level7/q_causal_local_key_index.py",
         bug="The causal test uses the key index local to the block (arange(BLOCK_N)) instead of the global key "
             "index start + arange(BLOCK_N), so future keys in later blocks are not hidden.",
         expect=("global", "local", "key index", "start +", "causal", "future"),
         wrong=("log2", "rescale", "scale", "dtype"),
         fails_today=True),
    # level 11
    dict(level=11, file="level11/q_kv_head_modulo.py",
         bug="The kv head is h % H_kv instead of h // (Hq // Hkv), so in GQA each query head reads the wrong key/value "
             "head (correct only when Hkv is 1 or equal to Hq).",
         expect=("kv head", "gqa", "h // group", "head mapping", "modulo", "group"),
         wrong=("page table", "exp2", "garbage", "reduction"),
         fails_today=True),
    dict(level=11, file="level11/q_block_table_first_row.py",
         bug="The block table is indexed without the row offset b * stride_table, so every sequence looks up its "
             "pages in row 0 (sequence 0's pages) and reads another sequence's or garbage pages.",
         expect=("block table", "block_table", "row offset", "stride_table", "sequence 0", "page lookup"),
         wrong=("kv head", "exp2", "rescale", "split count"),
         fails_today=True),
    dict(level=11, file="level11/q_v_load_unmasked.py",
         bug="The value rows are loaded without a mask, so slots past the sequence end bring garbage (NaN) into "
             "p @ v; their weight is 0 but 0 * NaN is NaN.",
         expect=("nan", "garbage", "v load", "mask", "unmasked", "0 * nan"),
         wrong=("kv head", "log2", "split count", "block table row"),
         fails_today=True),
    dict(level=11, file="level11/q_reduce_natural_exp.py",
         bug="The reduction weights the partials with exp(m - M) although the split kernel kept m in base 2 "
             "(scores scaled by log2 e), so pieces are merged with the wrong weights.",
         expect=("exp2", "base 2", "reduce", "merge", "weights", "log2"),
         wrong=("kv head", "block table", "garbage", "mask"),
         fails_today=True),
    dict(level=11, file="level11/q_reduce_floor_pieces.py",
         bug="The reduction counts the used pieces as seq_len // tokens_per_split instead of a ceiling division, so "
             "the last, partial piece is dropped (and short sequences get no piece at all, 0/0 = NaN).",
         expect=("ceil", "cdiv", "rounds down", "last piece", "number of splits", "partial piece"),
         wrong=("kv head", "exp2", "block table", "rescale"),
         fails_today=True),
    dict(level=11, file="level11/q_l_not_rescaled.py",
         bug="In the split kernel's online softmax the normaliser l is not multiplied by alpha when the running max "
             "grows (acc is), so the denominator is too large and the output is shrunk.",
         expect=("normaliser", "normalizer", "alpha", "rescale", "running sum", "online softmax"),
         wrong=("kv head", "block table", "garbage", "exp2"),
         fails_today=True),
]

CORRECT = [
    "level1/correct_q.py",
    "level2/correct_q.py",
    "level4/correct_q.py",
    "level5/correct_q.py",
    "level6/correct_q.py",
    "level7/correct_q.py",
    "level11/correct_q.py",
]
