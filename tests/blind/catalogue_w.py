"""Blind-written mistakes, levels 4, 5, 10, 11, author w."""

ENTRIES = [
    dict(level=4, file="level4/w_batch_head_split.py",
         bug="The flat program index bh is split into batch and head the wrong way round (b = bh % H, h = bh // H), "
             "so most programs read q/k of the wrong (batch, head) pair and write their tile into the wrong matrix.",
         expect=("batch and head", "batch index", "head index", "wrong head", "wrong batch"),
         wrong=("scale", "column mask", "dtype", "transposed"),
         fails_today=True),
    dict(level=4, file="level4/w_explicit_scale_ignored.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting a scale the caller passed, so any explicit scale is ignored.",
         expect=("explicit scale", "scale argument", "ignores the scale", "scale is overwritten", "always 1/sqrt"),
         wrong=("mask", "stride", "transpose", "grid"),
         fails_today=True),
    dict(level=4, file="level4/w_keys_indexed_by_query_rows.py",
         bug="The key tile is loaded at the query row indices (rows) instead of the key column indices (cols), so every "
             "key tile of a program is the same block of keys and the scores are wrong outside the diagonal blocks.",
         expect=("key rows", "query rows", "key index", "key offsets", "same key tile", "rows instead of cols"),
         wrong=("scale", "dtype", "grid size", "store mask"),
         fails_today=True),
    dict(level=4, file="level4/w_store_mask_rows_only.py",
         bug="The store is masked only on rows < S, not on columns < S, so the padded columns of the last key tile are "
             "written past the end of each row into the start of the next row, overwriting real scores.",
         expect=("column mask", "cols < s", "columns >= s", "store mask", "next row", "out-of-bounds columns"),
         wrong=("scale", "dtype", "head index", "load mask"),
         fails_today=True),
    dict(level=4, file="level4/w_grid_floor_division.py",
         bug="The grid uses S // BLOCK_M instead of cdiv(S, BLOCK_M), so the last partial block of query rows gets no program "
             "(and for S < BLOCK_M nothing is computed): those rows keep uninitialised memory.",
         expect=("cdiv", "floor division", "last row block", "last query tile", "grid too small", "rows never written"),
         wrong=("scale", "key loop", "column mask", "dtype"),
         fails_today=True),
    dict(level=4, file="level4/w_key_loop_stops_early.py",
         bug="The loop over key tiles runs range(0, S - BLOCK_N, BLOCK_N), which skips the last key tile (and all of them "
             "when S <= BLOCK_N), so the rightmost columns of the score matrix are never written.",
         # The last phrase added (eighth session) when a right headline said it so.
         expect=("loop bound", "last key tile", "s - block_n", "columns never written", "off by one", "column loop stops early"),
         wrong=("grid size", "scale", "dtype", "batch index"),
         fails_today=True),
    dict(level=4, file="level4/w_output_in_input_dtype.py",
         bug="The output is allocated in q's dtype instead of float32, so float16 inputs give a float16 score tensor "
             "(wrong dtype and rounded values).",
         expect=("float32", "fp32", "output dtype", "q.dtype", "float16 output", "input dtype"),
         wrong=("scale", "mask", "stride", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/w_out_uses_q_strides.py",
         bug="The launch passes q's strides for the output, so tiles are stored with a row stride of D and a head stride of "
             "S*D instead of S and S*S: rows overlap and land in the wrong places of the score matrix.",
         expect=("output strides", "out strides", "q's strides", "stride of q", "row stride", "out.stride"),
         wrong=("scale", "dtype", "causal", "key loop"),
         fails_today=True),
    dict(level=5, file="level5/w_diagonal_hidden.py",
         bug="The future test is cols >= rows instead of cols > rows, so the diagonal (a token looking at itself) is set to -inf too.",
         expect=("diagonal", ">=", "j >= i", "j == i", "off by one"),
         wrong=("stride", "tile offset", "in place", "head index"),
         fails_today=True),
    dict(level=5, file="level5/w_tile_local_columns.py",
         bug="The mask compares the tile-local column offsets (0..BLOCK_N-1) with the global row indices, forgetting the "
             "tile start n0, so from the second column tile on future keys are left visible.",
         expect=("local column", "tile start", "n0", "global column", "column index", "offs_n"),
         wrong=("in place", "strides", "head index", "dtype"),
         fails_today=True),
    dict(level=10, file="level10/w_kv_head_modulo.py",
         bug="The kv head is computed as h % Hkv instead of h // (Hq // Hkv), an interleaved mapping: query heads read "
             "the wrong key/value head whenever 1 < Hkv < Hq.",
         expect=("h // group", "h % hkv", "kv head", "head mapping", "modulo", "query group"),
         wrong=("batch offset", "scale", "causal", "online softmax"),
         fails_today=True),
    dict(level=10, file="level10/w_kv_row_uses_query_heads.py",
         bug="The row of k and v is b * Hq + hk instead of b * Hkv + hk, so for every batch after the first the kernel "
             "reads another batch's (or out-of-range) keys and values when Hkv < Hq.",
         expect=("b * hkv", "b * h_kv", "batch offset", "kv row", "hq instead of hkv", "wrong batch"),
         wrong=("h % hkv", "modulo", "causal", "scale"),
         fails_today=True),
    dict(level=10, file="level10/w_scale_after_rowmax.py",
         bug="The row max is taken on the unscaled q.k and multiplied by the scale afterwards; with a negative scale that "
             "is the smallest scaled score (and masked -inf scores become +inf), so exp2 overflows and the output is inf/NaN.",
         expect=("negative scale", "row max", "before scaling", "unscaled", "sign of the scale"),
         wrong=("kv head", "batch offset", "causal diagonal", "dtype"),
         fails_today=True),
    dict(level=11, file="level11/w_block_table_row_missing.py",
         bug="The block table is read at block_table[pg] without the b * stride_table row offset, so every sequence uses "
             "sequence 0's pages.",
         # The last phrase added (eighth session) when a right headline said it so.
         expect=("block table row", "row of the block table", "stride_table", "sequence 0", "page table row", "b * stride", "row 0 of the block table"),
         wrong=("tail mask", "exp2", "kv head", "rescale"),
         fails_today=True),
    dict(level=11, file="level11/w_tail_slots_keep_score.py",
         bug="Tokens past seq_len in the last page are masked on load but their scores are not set to -inf: they score 0 "
             "and still get softmax weight, diluting the output.",
         expect=("-inf", "past seq_len", "tail", "partial page", "padding tokens", "masked scores"),
         wrong=("block table", "natural exp", "kv head", "alpha"),
         fails_today=True),
    dict(level=11, file="level11/w_reduce_weights_natural_exp.py",
         bug="The reduce kernel weights the pieces with exp(m - M) although m is in log2 units (base-2 online softmax), "
             "so the pieces of a split sequence are merged with wrong weights.",
         expect=("exp2", "base 2", "natural exp", "log2", "tl.exp"),
         wrong=("block table", "tail mask", "kv head", "denominator rescale"),
         fails_today=True),
    dict(level=11, file="level11/w_denominator_not_rescaled.py",
         bug="In the online softmax the running sum l is not multiplied by alpha when the max grows, so the normaliser "
             "keeps stale terms and the output is too small.",
         expect=("alpha", "rescale", "normaliser", "denominator", "l_i", "running sum"),
         wrong=("block table", "natural exp", "tail mask", "kv head"),
         fails_today=True),
]

CORRECT = ["level4/correct_w.py", "level5/correct_w.py", "level10/correct_w.py", "level11/correct_w.py"]
