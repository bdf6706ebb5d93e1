"""Blind-written mistakes, levels 2, 4, 5, 9, 11, author t."""

ENTRIES = [
    # ---- level 2: matmul ----
    dict(level=2, file="level2/t_tile_id_divisor.py",
         bug="The flat program id is split into (pid_m, pid_n) with the number of tiles along M instead of "
             "the number along N, so when the tile grid is not square some output tiles are computed twice "
             "at the wrong place and others are never written.",
         expect=("program id", "tile index", "pid_m", "pid_n", "tiles along n", "flattened grid"),
         wrong=("accumulator dtype", "k loop", "transposed b"),
         fails_today=True),
    dict(level=2, file="level2/t_k_loop_floor.py",
         bug="The K loop runs K // BLOCK_K times (floor) instead of cdiv(K, BLOCK_K), so the ragged last "
             "chunk of K is never added, and for K < BLOCK_K the result is all zeros.",
         expect=("k loop", "last chunk of k", "cdiv", "floor division", "remainder of k", "loop bound"),
         wrong=("store mask", "program id", "accumulator dtype"),
         fails_today=True),

    # ---- level 4: attention scores ----
    dict(level=4, file="level4/t_scale_as_divisor.py",
         bug="The default scale is set to sqrt(D) and the kernel divides the dot product by scale; the "
             "default case is right, but an explicit scale is applied inverted (divided instead of multiplied).",
         # "divided by the scale" added (eighth session) when a right headline said it so.
         expect=("explicit scale", "divides by the scale", "divided by scale", "divided by the scale", "inverse of the scale", "reciprocal"),
         wrong=("transpose", "head offset", "mask"),
         fails_today=True),
    dict(level=4, file="level4/t_out_strides_swapped.py",
         bug="The output's row and column strides are passed in swapped order, so each tile is stored "
             "transposed: the result is k @ q^T instead of q @ k^T.",
         expect=("transpose", "stride", "swapped", "k @ q^t", "rows and columns"),
         wrong=("scale", "head offset", "dtype"),
         fails_today=True),
    dict(level=4, file="level4/t_k_head_offset_missing.py",
         bug="The k pointer never adds bh * stride_kh, so every (batch, head) program reads the keys of "
             "head 0; only the first head is right.",
         expect=("head offset", "batch-head offset", "first head", "head 0", "stride_kh", "bh * stride"),
         wrong=("scale", "transpose", "dtype", "ragged"),
         fails_today=True),
    dict(level=4, file="level4/t_d_chunk_overwrite.py",
         bug="The loop over the head dimension assigns acc = tl.dot(...) instead of accumulating, so only the "
             "last BLOCK_D slice of D contributes; correct only when D equals the chunk size (16).",
         expect=("accumulate", "+=", "head dimension", "last chunk", "overwrit", "partial dot"),
         wrong=("scale", "transpose", "head offset", "mask"),
         fails_today=True),
    dict(level=4, file="level4/t_out_in_input_dtype.py",
         bug="The output is allocated in q's dtype instead of float32, so float16 inputs return float16 "
             "scores (rounded), while the contract requires float32.",
         expect=("float32", "dtype", "fp16 output", "output dtype", "half precision"),
         wrong=("scale", "transpose", "head offset", "mask"),
         fails_today=True),
    dict(level=4, file="level4/t_k_not_transposed.py",
         bug="The kernel computes tl.dot(q_tile, k_tile) without transposing k, multiplying q's head "
             "dimension against the key index: the scores are not q . k.",
         expect=("transpose", "tl.trans", "k^t", "not transposed"),
         wrong=("scale", "head offset", "dtype", "store mask"),
         fails_today=True),

    # ---- level 5: causal mask ----
    dict(level=5, file="level5/t_diagonal_hidden.py",
         bug="The condition uses j >= i instead of j > i, so the diagonal is also set to -inf: a token can "
             "no longer attend to itself.",
         expect=("diagonal", ">=", "off-by-one", "j == i", "itself"),
         wrong=("stride", "head offset", "fill value", "in place"),
         fails_today=True),
    dict(level=5, file="level5/t_chunk_local_columns.py",
         bug="Within the column loop the future test compares the chunk-local offset (arange) with the row "
             "instead of the global column j0 + offset, so columns past the first chunk are masked wrongly "
             "once S exceeds the block.",
         expect=("global column", "local offset", "column index", "chunk offset", "j0", "block offset"),
         wrong=("diagonal included", "fill value", "head offset", "dtype"),
         fails_today=True),
    dict(level=5, file="level5/t_big_negative_fill.py",
         bug="Hidden scores are set to -1e9 instead of -inf; the contract requires exactly -inf above the "
             "diagonal.",
         expect=("-inf", "-1e9", "fill value", "large negative", "infinity"),
         wrong=("diagonal included", "stride", "column index", "loop bound"),
         fails_today=True),
    dict(level=5, file="level5/t_loop_stops_at_diagonal.py",
         bug="The column loop only runs up to the chunk holding the diagonal (range(0, i + 1, BLOCK)), so the "
             "later future columns are never written and keep the uninitialised values of the output buffer "
             "instead of -inf.",
         expect=("loop bound", "never written", "uninitiali", "not written", "columns after the diagonal", "torch.empty"),
         wrong=("diagonal included", "fill value", "head offset", "stride"),
         fails_today=True),

    # ---- level 9: flash attention backward ----
    dict(level=9, file="level9/t_dk_missing_scale.py",
         bug="dK is stored without the final multiplication by scale (dK = scale * dS^T @ Q), so dk is off by "
             "a factor 1/scale; dq and dv are right.",
         expect=("dk", "missing scale", "scale factor", "off by a factor", "times scale"),
         wrong=("lse", "delta", "causal mask", "loop bound"),
         fails_today=True),
    dict(level=9, file="level9/t_dkdv_lse_natural_log.py",
         bug="In the dK/dV kernel the probabilities use exp2 of base-2 scores minus the natural-log lse "
             "(not multiplied by log2(e)), so the recomputed P is wrong and dk and dv are wrong while dq is right.",
         expect=("log2", "lse", "base", "exp2", "natural log", "log2(e)"),
         wrong=("delta", "scale of dk", "loop bound", "causal mask direction"),
         fails_today=True),
    dict(level=9, file="level9/t_dq_skips_diagonal_tile.py",
         bug="In the causal dQ walk the key loop stops at start_m, skipping the diagonal key tile, so each "
             "query misses its own and nearby keys (the first query tile gets dq = 0); only causal dq is wrong.",
         expect=("diagonal", "loop bound", "dq", "key tile", "start_m", "causal"),
         wrong=("lse", "delta", "exp2 base", "padded keys"),
         fails_today=True),
    dict(level=9, file="level9/t_delta_row_offset.py",
         bug="The delta kernel stores rowsum(dO * O) at delta_ptr + rows without the bh * S offset, so every "
             "head writes head 0's slot and the other heads read uninitialised delta.",
         expect=("delta", "head offset", "bh * s", "preprocess", "rowsum", "offset"),
         wrong=("lse", "scale", "causal mask", "exp2"),
         fails_today=True),

    # ---- level 11: paged decode ----
    dict(level=11, file="level11/t_kv_head_modulo.py",
         bug="Query head h reads kv head h % Hkv instead of h // (Hq // Hkv), so with grouped heads the "
             "queries are paired with the wrong key/value heads.",
         expect=("gqa", "kv head", "head mapping", "h // group", "modulo", "group"),
         wrong=("page table", "block_table", "softmax rescale", "seq_len"),
         fails_today=True),
    dict(level=11, file="level11/t_block_table_row.py",
         bug="The page lookup reads block_table[0, p] (no b * stride_table row offset), so every sequence "
             "uses the pages of sequence 0.",
         expect=("block_table", "block table", "page table", "row offset", "sequence 0", "stride_table"),
         wrong=("gqa", "softmax rescale", "scale", "reduction"),
         fails_today=True),
    dict(level=11, file="level11/t_last_token_inclusive.py",
         bug="The token mask is tok <= seq_len instead of tok < seq_len, so one garbage slot past the end of "
             "the sequence is attended to (and may be NaN).",
         expect=("off-by-one", "<=", "seq_len", "past the end", "garbage", "extra token"),
         wrong=("gqa", "block table", "rescale", "reduction"),
         fails_today=True),
    dict(level=11, file="level11/t_v_load_unmasked.py",
         bug="Values are loaded without the token mask; the scores of tokens past seq_len are -inf, but their "
             "garbage (NaN) values get multiplied by weight 0 and NaN * 0 poisons the accumulator.",
         expect=("nan", "v load", "value load", "unmasked", "garbage", "mask on v"),
         wrong=("gqa", "block table", "rescale", "scale"),
         fails_today=True),
    dict(level=11, file="level11/t_acc_not_rescaled.py",
         bug="In the online softmax the accumulator is not multiplied by alpha = exp2(m_old - m_new) when "
             "the running max grows (only l is rescaled), so earlier pages are over-weighted.",
         expect=("rescale", "alpha", "online softmax", "running max", "accumulator"),
         wrong=("block table", "gqa", "nan", "seq_len mask"),
         fails_today=True),
    dict(level=11, file="level11/t_reduce_reads_empty_splits.py",
         bug="The reduce kernel merges all num_splits partials, including those of pieces past the sequence "
             "whose split program returned early and never wrote them, so uninitialised m, l and acc enter "
             "the result.",
         expect=("reduce", "unused split", "empty split", "uninitiali", "partials", "never written"),
         wrong=("gqa", "block table", "rescale inside the split", "off-by-one"),
         fails_today=True),
]

CORRECT = [
    "level2/correct_t.py",
    "level4/correct_t.py",
    "level5/correct_t.py",
    "level9/correct_t.py",
    "level11/correct_t.py",
]
