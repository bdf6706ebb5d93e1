"""Blind-written mistakes, levels 4 and 11, author z."""

ENTRIES = [
    # ---------------------------------------------------------------- level 4
    dict(level=4, file="level4/z_tile_decode_swapped.py",
         bug="The flat tile index is decoded with % for the row tile and // for the column tile (swapped), "
             "so programs compute tiles at the wrong (row, column) position and some tiles are never written.",
         expect=("program id", "tile index", "decode", "swapped", "row tile", "column tile"),
         wrong=("scale", "head offset", "dtype", "exp2"),
         fails_today=True),
    dict(level=4, file="level4/z_default_scale_over_d.py",
         bug="The default scale is 1 / D instead of 1 / sqrt(D), so every score is too small whenever scale=None.",
         expect=("sqrt", "default scale", "1 / d", "scale"),
         wrong=("mask", "stride", "head offset", "grid"),
         fails_today=True),
    dict(level=4, file="level4/z_scale_applied_twice.py",
         bug="The query tile is multiplied by the scale and the dot product is scaled again afterwards, "
             "so the scores carry scale squared.",
         expect=("twice", "scale squared", "double", "scaled again", "scale"),
         wrong=("mask", "stride", "grid", "head offset"),
         fails_today=True),
    dict(level=4, file="level4/z_k_head_offset_missing.py",
         bug="The key pointer never adds head * stride_kh, so every (batch, head) program reads the keys of "
             "head 0 and only the first head's scores are right.",
         expect=("head offset", "head stride", "k pointer", "first head", "key base"),
         wrong=("scale", "mask", "dtype", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/z_key_tile_wrong_block.py",
         bug="The key rows start at tj * TILE_I instead of tj * TILE_J, mixing the two block sizes, so column "
             "tiles read the wrong keys (and some keys are skipped) and columns get the wrong scores.",
         expect=("block size", "tile_j", "key offset", "column offset", "wrong keys", "block_n"),
         wrong=("scale", "head offset", "dtype", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/z_keys_loaded_from_q.py",
         bug="Copy-paste slip: the key tile is loaded from the query pointer, so the kernel computes q @ q^T "
             "instead of q @ k^T.",
         # The last phrase added (ninth session) when a right headline said it so.
         expect=("q @ q", "query pointer", "copy", "loads q", "instead of k", "uses the wrong pointer"),
         wrong=("scale", "mask", "head offset", "dtype"),
         fails_today=True),
    dict(level=4, file="level4/z_output_transposed.py",
         bug="The store uses the column stride for rows and the row stride for columns, so each tile lands "
             "transposed: the result is k @ q^T instead of q @ k^T.",
         expect=("transpose", "output stride", "swapped", "store", "k @ q"),
         wrong=("scale", "head offset", "dtype", "exp2"),
         fails_today=True),
    dict(level=4, file="level4/z_scores_in_q_dtype.py",
         bug="The output buffer is allocated in q's dtype instead of float32, so half-precision inputs return "
             "float16 scores rounded to half precision.",
         expect=("float32", "dtype", "float16", "half"),
         wrong=("mask", "scale", "head offset", "grid"),
         fails_today=True),
    dict(level=4, file="level4/z_grid_square_tiles.py",
         bug="The grid launches n_i * n_i tiles per head although the kernel decodes n_i * n_j (the column "
             "tiles are smaller), so the trailing tiles are never computed and keep uninitialised memory.",
         expect=("grid", "too few", "never written", "uninitialised", "number of tiles", "launch"),
         wrong=("scale", "head offset", "dtype", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/z_key_bound_off_by_one.py",
         bug="The key mask is offs_j < S - 1, an off-by-one that never stores the last key column, which "
             "keeps uninitialised memory.",
         expect=("off-by-one", "off by one", "last column", "mask", "s - 1"),
         wrong=("scale", "head offset", "dtype", "transpose"),
         fails_today=True),
    # ---------------------------------------------------------------- level 11
    dict(level=11, file="level11/z_v_load_unmasked.py",
         bug="The value rows are loaded without the token mask, so tokens past the sequence end bring garbage "
             "(NaN) values into p @ v; a zero probability does not cancel NaN, and the output becomes NaN.",
         expect=("mask", "unmasked", "nan", "garbage", "value load"),
         wrong=("rescale", "scale", "exp2", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/z_slot_head_strides_swapped.py",
         bug="The cache address uses slot * head stride + head * slot stride (the two strides swapped), so keys "
             "and values are read from the wrong slots and heads of the page whenever Hkv > 1.",
         expect=("stride", "swapped", "slot", "cache layout", "address"),
         wrong=("rescale", "exp2", "block table", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/z_group_heads_interleaved.py",
         bug="The query heads of kv head hk are taken as r * Hkv + hk (interleaved) instead of hk * group + r, "
             "so query heads attend to the wrong kv head whenever the group size and Hkv are both above 1.",
         expect=("group", "head mapping", "kv head", "gqa", "interleaved"),
         wrong=("rescale", "exp2", "mask", "block table"),
         fails_today=True),
    dict(level=11, file="level11/z_reduce_no_rescale.py",
         bug="The reduce kernel adds the pieces' acc and l directly, without weighting each by exp2(m_p - M), "
             "so pieces computed against different maxima are mixed on different scales.",
         expect=("rescale", "weight", "exp2(m", "max", "merge"),
         wrong=("mask", "block table", "stride", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/z_reduce_exp_base_e.py",
         bug="The reduce kernel weights the pieces with exp(m - M) although m is in base 2 (scores multiplied "
             "by log2(e)), so the pieces get the wrong relative weights.",
         expect=("exp2", "base 2", "base", "log2", "natural exp"),
         wrong=("mask", "block table", "stride", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/z_acc_not_rescaled.py",
         bug="In the split kernel's online softmax the accumulator is not multiplied by the correction "
             "exp2(m_old - m_new) when the running max grows (l is), so earlier tiles keep too much weight.",
         expect=("rescale", "accumulator", "correction", "alpha", "online softmax"),
         wrong=("mask", "block table", "stride", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/z_table_row_offset_missing.py",
         bug="The page lookup forgets b * block_table.stride(0), so every sequence reads the pages of "
             "sequence 0 instead of its own.",
         expect=("block table", "row", "sequence 0", "page lookup", "table stride"),
         wrong=("rescale", "exp2", "head mapping", "scale"),
         fails_today=True),
]

CORRECT = ["level4/correct_z.py", "level11/correct_z.py"]
