"""Blind-written mistakes, levels 4, 5, 9, 10, 11, author u."""

ENTRIES = [
    dict(level=4, file="level4/u_default_scale_over_d.py",
         bug="When no scale is given the kernel uses 1 / D instead of 1 / sqrt(D), so every default-scale "
             "score is too small by a factor of sqrt(D); an explicit scale still works.",
         expect=("1 / d", "sqrt(d)", "default scale", "scale=none", "square root"),
         wrong=("transposed", "mask", "out of bounds", "head index"),
         fails_today=True),
    dict(level=4, file="level4/u_tile_split_by_row_count.py",
         bug="The flat tile id is split into (tile row, tile column) with the number of row tiles "
             "(cdiv(S, BLOCK_M)) instead of the number of column tiles; since BLOCK_M != BLOCK_N, tiles "
             "land in the wrong place and some parts of the score matrix are never written.",
         expect=("tile index", "program id", "pid", "number of tiles", "tile row", "never written"),
         wrong=("scale", "dtype", "head dim loop", "transposed k"),
         fails_today=True),
    dict(level=4, file="level4/u_store_mask_rows_only.py",
         bug="The store masks only the rows (i < S), not the columns, so a ragged last column tile writes "
             "past the end of each row into the start of the next row (and past the tensor).",
         expect=("column mask", "columns >= s", "store mask", "ragged", "out of bounds", "j < s"),
         wrong=("scale", "transposed", "head dim", "float16"),
         fails_today=True),
    dict(level=4, file="level4/u_head_dim_loop_short.py",
         bug="The loop over the head dimension stops one chunk early (range(0, D - BLOCK_D, BLOCK_D)), "
             "so the last BLOCK_D features never enter the dot product (and for D = 16 nothing does).",
         expect=("head dim", "reduction loop", "last chunk", "loop bound", "off by one", "partial dot"),
         wrong=("scale", "store mask", "batch", "transposed"),
         fails_today=True),
    dict(level=4, file="level4/u_grid_heads_only.py",
         bug="The grid's second axis has H programs instead of B * H, so only batch 0 is computed and the "
             "other batches keep the uninitialised contents of torch.empty.",
         expect=("grid", "batch", "b * h", "uninitialised", "only the first batch"),
         wrong=("scale", "transposed", "column mask", "head dim loop"),
         fails_today=True),
    dict(level=4, file="level4/u_store_swapped_out_strides.py",
         bug="The row and column strides of the output are swapped in the store, so each tile is written "
             "transposed: the result is k @ q^T (scores[j, i]) instead of q @ k^T.",
         expect=("transposed", "swapped strides", "k @ q^t", "out stride", "row and column"),
         wrong=("scale", "batch", "head dim loop", "float16"),
         fails_today=True),
    dict(level=5, file="level5/u_diagonal_hidden.py",
         bug="The future test is cols >= i instead of cols > i, so the diagonal (a token looking at itself) "
             "is also set to -inf.",
         expect=("diagonal", ">=", "j == i", "off by one", "strict"),
         wrong=("in place", "zero", "stride", "lower triangle"),
         fails_today=True),
    dict(level=5, file="level5/u_future_set_to_zero.py",
         bug="The future scores are replaced with 0.0 instead of -inf, so after a softmax they would still "
             "get weight instead of being hidden.",
         expect=("0.0", "-inf", "zero instead", "fill value"),
         wrong=("diagonal", "in place", "stride", "ragged"),
         fails_today=True),
    dict(level=5, file="level5/u_masks_input_in_place.py",
         bug="The output buffer is the input itself (out = x), so the kernel overwrites the caller's scores "
             "instead of returning a new tensor.",
         expect=("in place", "input modified", "new tensor", "aliases", "same tensor", "overwrites the input"),
         wrong=("diagonal", "zero", "ragged", "lower triangle"),
         fails_today=True),
    dict(level=9, file="level9/u_dk_unscaled.py",
         bug="dK is stored without the final multiplication by scale, so dk is off by the factor 1/scale "
             "(dq and dv are right).",
         expect=("dk", "scale", "missing factor", "not multiplied"),
         wrong=("delta", "lse", "causal mask", "diagonal tile"),
         fails_today=True),
    dict(level=9, file="level9/u_dq_skips_diagonal_tile.py",
         bug="In the causal dQ kernel the key loop stops at start_m, skipping the diagonal key tile, so "
             "each query misses the gradient through itself and the keys of its own tile (dq wrong, "
             "dk and dv right).",
         expect=("diagonal", "dq", "loop bound", "key tile", "start_m"),
         wrong=("negative scale", "delta", "lse", "log2(e)"),
         fails_today=True),
    dict(level=9, file="level9/u_lse_natural_in_exp2.py",
         bug="The probabilities are recomputed with exp2 of base-2 scores, but lse is subtracted as a "
             "natural log without multiplying by log2(e), so every recomputed P is off by a row-dependent "
             "factor and all three gradients are wrong.",
         expect=("lse", "log2(e)", "base 2", "exp2", "natural log"),
         wrong=("delta", "diagonal", "head index", "dk scale"),
         fails_today=True),
    dict(level=10, file="level10/u_kv_head_modulo.py",
         bug="The kv head of query head h is taken as h % Hkv instead of h // (Hq // Hkv), so with Hkv > 1 "
             "and a group larger than one, query heads read the wrong key/value head (interleaved instead of "
             "consecutive groups).",
         expect=("kv head", "h % hkv", "h // group", "head mapping", "group"),
         wrong=("rescale", "scale", "causal", "ragged"),
         fails_today=True),
    dict(level=10, file="level10/u_l_not_rescaled.py",
         bug="In the online softmax the running normaliser l is not multiplied by alpha when the max "
             "grows (acc is), so the denominator mixes sums taken against different maxima and the "
             "output rows are mis-normalised.",
         expect=("alpha", "rescale", "normaliser", "online softmax", "running sum"),
         wrong=("kv head", "causal", "qk_scale", "dtype"),
         fails_today=True),
    dict(level=10, file="level10/u_scale_after_rowmax.py",
         bug="The scores are masked before scaling and the row max is taken of the unscaled scores then "
             "scaled; with a negative scale the -inf of hidden keys becomes +inf and the max is really the "
             "minimum, giving inf/NaN or overflow.",
         expect=("negative scale", "+inf", "row max", "before scaling", "nan"),
         wrong=("kv head", "alpha", "ragged", "dtype"),
         fails_today=True),
    dict(level=11, file="level11/u_block_table_skipped.py",
         bug="The page of token t is computed as b * max_pages + t // page_size instead of being looked up "
             "in block_table, so shuffled pages are read from the wrong places in the pool.",
         expect=("block table", "block_table", "page lookup", "page index", "contiguous pages"),
         wrong=("exp2", "kv head", "merge", "last token"),
         fails_today=True),
    dict(level=11, file="level11/u_merge_weights_natural_exp.py",
         bug="The reduce kernel weights each piece by exp(m - M) although m was kept in base-2 units, so "
             "pieces are merged with the wrong weights whenever a sequence spans more than one piece.",
         expect=("exp2", "base 2", "merge", "reduce", "weights", "log2"),
         wrong=("block table", "kv head", "garbage", "last token"),
         fails_today=True),
    dict(level=11, file="level11/u_group_heads_strided.py",
         bug="The query heads of kv head hk are taken as r * Hkv + hk instead of hk * group + r, so query "
             "heads are paired with the wrong kv head (and their results stored under the wrong heads).",
         expect=("query head", "kv head", "group", "head mapping", "hk * group"),
         wrong=("block table", "exp2", "garbage", "seq_len"),
         fails_today=True),
    dict(level=11, file="level11/u_cache_loads_unmasked.py",
         bug="The key and value loads are not masked for tokens past the end of the piece; their scores are "
             "set to -inf, but the garbage (NaN) values still enter p * v as 0 * NaN = NaN.",
         expect=("nan", "unmasked load", "garbage", "0 * nan", "mask the load"),
         wrong=("block table", "exp2", "kv head", "last token"),
         fails_today=True),
    dict(level=11, file="level11/u_seq_end_minus_one.py",
         bug="The token range is cut at seq_len - 1 instead of seq_len, so the newest cached token is "
             "never attended to (and a sequence of length 1 has no tokens at all, giving NaN).",
         expect=("seq_len - 1", "last token", "off by one", "seq_lens", "newest token"),
         wrong=("block table", "exp2", "kv head", "garbage"),
         fails_today=True),
]

CORRECT = ["level4/correct_u.py", "level5/correct_u.py", "level9/correct_u.py", "level10/correct_u.py",
           "level11/correct_u.py"]
