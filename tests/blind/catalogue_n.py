"""Blind-written mistakes, levels 2, 3, 4, 5, 8, 9, 10, 11, author n."""

ENTRIES = [
    # level 2 - matmul
    dict(level=2, file="level2/n_matmul_k_mask_absolute.py",
         bug="The pointers are advanced by BLOCK_K each step, but the K mask still compares the tile-local "
             "offsets with K instead of with the K left (K - k0), so the last partial K tile reads past the "
             "end of each row of a and past the last row of b and adds those values into the sum.",
         expect=("k mask", "ragged k", "remaining k", "k - k0", "past the end of k", "inner dimension"),
         wrong=("accumulator dtype", "grid size", "store mask", "transposed b"),
         fails_today=True),
    dict(level=2, file="level2/n_matmul_group_order.py",
         bug="In the grouped tile ordering the column tile is pid_in_group // GROUP_M instead of dividing by "
             "the number of tile-rows actually in the group, so in the last, smaller group some tiles of c "
             "are computed twice and others are never written.",
         expect=("tile ordering", "group", "swizzle", "program id", "tiles never written", "pid to tile"),
         wrong=("k mask", "accumulator dtype", "strides of b", "scale"),
         fails_today=True),
    dict(level=2, file="level2/n_matmul_half_accumulator.py",
         bug="The accumulator is created in c's dtype instead of float32, so for float16 inputs the whole "
             "K-long sum is kept in half precision and loses its small terms.",
         expect=("accumulator", "float32", "fp32", "half precision", "float16 accumulation", "precision"),
         wrong=("k mask", "tile ordering", "store mask", "strides"),
         fails_today=True),
    # level 3 - softmax
    dict(level=3, file="level3/n_softmax_sum_not_rescaled.py",
         bug="In the first sweep the running sum is not multiplied by exp(m_old - m_new) when the running "
             "maximum grows, so on rows wider than one block the earlier terms are too large and the "
             "normaliser is wrong (narrow rows are fine).",
         expect=("rescale", "running sum", "online softmax", "wide rows", "exp(m - m_new)", "correction factor"),
         wrong=("padding", "-inf fill", "store target", "row stride"),
         fails_today=True),
    dict(level=3, file="level3/n_softmax_pad_zero.py",
         bug="In the first sweep the lanes past N are loaded as 0.0 instead of -inf, so each padding lane "
             "adds exp(0 - max) to the row sum (and can raise the max for all-negative rows): every "
             "probability comes out too small when N is not a multiple of the block.",
         expect=("padding", "other=", "-inf", "masked lanes", "out-of-range columns", "fill value"),
         wrong=("rescale", "store target", "row stride", "max subtraction"),
         fails_today=True),
    dict(level=3, file="level3/n_softmax_store_into_input.py",
         bug="The second sweep stores the probabilities through the input's row pointer instead of the "
             "output's, so the caller's x is overwritten and the returned tensor is never filled.",
         expect=("store target", "wrong pointer", "input overwritten", "output never written", "x_row", "in place", "writes into the input"),
         wrong=("rescale", "padding", "overflow", "max subtraction"),
         fails_today=True),
    # level 4 - attention scores
    dict(level=4, file="level4/n_scores_tile_decode.py",
         bug="The flattened tile index is split into (query tile, key tile) using the number of query tiles "
             "instead of the number of key tiles; with BLOCK_M != BLOCK_N many tiles of the score matrix "
             "are never computed and others are computed twice.",
         expect=("tile index", "program id", "grid", "number of key tiles", "tiles never written", "decode"),
         wrong=("scale", "stride", "output dtype", "transposed"),
         fails_today=True),
    dict(level=4, file="level4/n_scores_divide_by_scale.py",
         bug="The dot product is divided by scale instead of multiplied by it, so with the default scale "
             "the scores are multiplied by sqrt(D) instead of divided, and an explicit scale gives its inverse.",
         expect=("scale", "divide", "multiply", "inverse", "sqrt(d)", "1 / scale"),
         wrong=("stride", "tile index", "mask", "output dtype"),
         fails_today=True),
    dict(level=4, file="level4/n_scores_store_transposed.py",
         bug="The store swaps the output's row and column strides, so score (i, j) is written at (j, i): "
             "the result is k @ q^T instead of q @ k^T.",
         expect=("transposed", "strides swapped", "store stride", "k @ q^t", "(j, i)", "row and column"),
         wrong=("scale", "mask", "output dtype", "tile index"),
         fails_today=True),
    dict(level=4, file="level4/n_scores_out_dtype.py",
         bug="The output is allocated in q's dtype instead of float32, so float16 inputs give float16 "
             "scores rounded to half precision rather than the float32 tensor the level asks for.",
         expect=("dtype", "float32", "output dtype", "float16 output", "allocation"),
         wrong=("scale", "transposed", "tile index", "mask"),
         fails_today=True),
    # level 5 - causal mask
    dict(level=5, file="level5/n_causal_hides_diagonal.py",
         bug="The mask uses j >= i instead of j > i, so the diagonal (a token attending to itself) is "
             "also set to -inf.",
         expect=("diagonal", "off by one", ">=", "j >= i", "self"),
         wrong=("local index", "loop bound", "stride", "new tensor"),
         fails_today=True),
    dict(level=5, file="level5/n_causal_row_stops_at_diagonal.py",
         bug="Each row's loop only runs over the chunks up to the diagonal (range(0, i + 1, BLOCK)), so the "
             "later chunks of the row are never stored and keep whatever torch.empty left there instead of -inf.",
         expect=("loop bound", "never written", "uninitialized", "garbage", "chunks after the diagonal", "empty"),
         wrong=("diagonal is masked", "local index", "stride", "off by one"),
         fails_today=True),
    dict(level=5, file="level5/n_causal_chunk_local_index.py",
         bug="The comparison with the row index uses the chunk-local column offsets tl.arange(0, BLOCK) "
             "instead of the global column index start + arange, so in every chunk after the first the "
             "mask is wrong (rows longer than one chunk get future keys left visible and past keys hidden).",
         expect=("global index", "local index", "column offset", "start +", "chunk", "tile offset"),
         wrong=("diagonal", "loop bound", "output dtype", "stride"),
         fails_today=True),
    # level 8 - flash attention
    dict(level=8, file="level8/n_flash_exp2_without_log2e.py",
         bug="The kernel uses exp2 but the host passes the plain scale without the log2(e) factor, so the "
             "scores are effectively multiplied by ln 2 and the softmax comes out too flat.",
         expect=("log2e", "log2(e)", "exp2", "base 2", "temperature", "qk_scale"),
         wrong=("rescale", "mask", "causal bound", "normalisation"),
         fails_today=True),
    dict(level=8, file="level8/n_flash_acc_not_rescaled.py",
         bug="The output accumulator is not multiplied by alpha = exp2(m_old - m_new) when the running max "
             "grows, while l is, so contributions of earlier key tiles are overweighted.",
         expect=("rescale", "alpha", "accumulator", "online softmax", "correction factor"),
         wrong=("log2e", "mask", "padding", "loop bound"),
         fails_today=True),
    dict(level=8, file="level8/n_flash_padding_mask_only_causal.py",
         bug="The -inf mask for key columns past S is applied only inside the causal branch, so in "
             "non-causal attention with ragged S the padded keys (loaded as zeros) get score 0 and weight "
             "in the softmax denominator, shrinking the output.",
         expect=("padding", "cols >= s", "ragged", "non-causal", "key mask", "out-of-range keys"),
         wrong=("rescale", "log2e", "diagonal", "causal bound"),
         fails_today=True),
    # level 9 - flash attention backward
    dict(level=9, file="level9/n_bwd_dk_unscaled.py",
         bug="dK is stored without the final multiplication by scale (dK = scale * dS^T @ Q), so dk comes "
             "out 1/scale times too large (dq and dv are right).",
         expect=("dk", "scale", "missing scale", "dk too large", "scale factor"),
         wrong=("delta", "dq", "causal mask", "lse"),
         fails_today=True),
    dict(level=9, file="level9/n_bwd_dq_skips_diagonal_tile.py",
         bug="In the dQ kernel the causal key loop stops at the start of the query tile, skipping the "
             "diagonal key tile, so dq misses every contribution from keys j in the same tile with j <= i "
             "(and rows of the first tile get dq = 0).",
         expect=("dq", "diagonal", "loop bound", "causal", "skipped tile", "key loop end"),
         wrong=("dk", "delta", "scale", "lse"),
         fails_today=True),
    dict(level=9, file="level9/n_bwd_delta_wrong_axis.py",
         bug="In the dK/dV kernel delta is broadcast along the key axis (delta[None, :]) instead of per "
             "query row (delta[:, None]), so dS subtracts the wrong rows' delta and dk is wrong (dv and dq "
             "are right).",
         expect=("delta", "broadcast", "axis", "dk", "rowsum(do * o)", "per row"),
         wrong=("scale", "dq", "diagonal", "lse base"),
         fails_today=True),
    # level 10 - GQA
    dict(level=10, file="level10/n_gqa_kv_head_modulo.py",
         bug="The kv head is taken as h % Hkv instead of h // (Hq // Hkv), so query heads are spread over "
             "the kv heads round-robin instead of in consecutive groups (wrong whenever 1 < Hkv < Hq).",
         expect=("kv head", "head mapping", "h // group", "modulo", "group", "interleaved"),
         wrong=("scale", "causal", "batch stride", "rescale"),
         fails_today=True),
    dict(level=10, file="level10/n_gqa_max_before_scale.py",
         bug="The running max is taken on the raw q.k scores and then multiplied by the scale; with a "
             "negative scale that is the smallest scaled score, and masked -inf scores become +inf, so "
             "exp2 overflows and the output is inf/NaN.",
         expect=("negative scale", "max", "before scaling", "overflow", "nan", "sign"),
         wrong=("head mapping", "log2e", "loop bound", "padding"),
         fails_today=True),
    dict(level=10, file="level10/n_gqa_diagonal_one_key_tile.py",
         bug="In causal mode the masked stage ends at start_m * BLOCK_M + BLOCK_N instead of "
             "(start_m + 1) * BLOCK_M; since BLOCK_M is twice BLOCK_N, the second half of the query tile "
             "never sees its own diagonal keys.",
         expect=("loop bound", "diagonal", "block_m", "causal", "missing keys", "hi_end"),
         wrong=("head mapping", "negative scale", "log2e", "padding"),
         fails_today=True),
    # level 11 - paged decode
    dict(level=11, file="level11/n_paged_logical_page_offset.py",
         bug="The physical page is looked up in block_table but the cache address is built from the logical "
             "page number p, so keys and values are read from pool page p instead of the sequence's own page.",
         expect=("block_table", "page table", "physical page", "logical page", "page lookup", "shuffled pages"),
         wrong=("seq_len", "merge", "kv head", "scratch index"),
         fails_today=True),
    dict(level=11, file="level11/n_paged_seq_len_inclusive.py",
         bug="The token mask is tok <= seq_len instead of tok < seq_len, so one slot past the end of the "
             "sequence (garbage, possibly NaN) is included in the attention.",
         expect=("off by one", "seq_len", "<=", "one extra token", "garbage", "token mask"),
         wrong=("page table", "merge", "kv head", "base 2"),
         fails_today=True),
    dict(level=11, file="level11/n_paged_merge_natural_exp.py",
         bug="The reduce kernel weights the pieces with exp(m - M) although m is in base-2 units, so the "
             "partial results of different pieces are combined with the wrong weights.",
         expect=("exp2", "base 2", "merge", "reduce", "weights", "log2"),
         wrong=("page table", "seq_len", "kv head", "scratch index"),
         fails_today=True),
    dict(level=11, file="level11/n_paged_partial_index_per_sequence.py",
         bug="The split kernel stores its partial m, l, acc at b * num_splits + piece instead of "
             "(b * Hq + h) * num_splits + piece, so all heads overwrite one another's partials and most "
             "scratch slots are never written.",
         expect=("scratch index", "partials", "store index", "per-head partials", "overwrite", "b * hq + h"),
         wrong=("page table", "seq_len", "base 2", "kv head mapping"),
         fails_today=True),
    dict(level=11, file="level11/n_paged_kv_head_modulo.py",
         bug="The kv head of query head h is taken as h % Hkv instead of h // (Hq // Hkv), so grouped "
             "query heads read the wrong key/value head of the cache.",
         expect=("kv head", "head mapping", "h // group", "modulo", "gqa", "group"),
         wrong=("page table", "seq_len", "merge", "scratch index"),
         fails_today=True),
]

CORRECT = [
    "level2/correct_n.py",
    "level3/correct_n.py",
    "level4/correct_n.py",
    "level5/correct_n.py",
    "level8/correct_n.py",
    "level9/correct_n.py",
    "level10/correct_n.py",
    "level11/correct_n.py",
]
