"""Held-out learner mistakes, levels 1 to 11, author i (written blind to the diagnosis engine)."""

ENTRIES = [
    dict(level=1, file="level1/i_grid_floor_division.py",
         bug="The grid is n // BLOCK_SIZE instead of a ceiling division, so the last partial block never gets a program "
             "(and vectors shorter than one block get no program at all): those elements of the output are never written.",
         expect=("grid", "cdiv", "ceil", "last block", "too few programs", "tail"),
         wrong=("mask", "dtype", "wrong pointer offset"),
         fails_today=True),
    dict(level=2, file="level2/i_k_loop_drops_tail.py",
         bug="The loop over K runs K // BLOCK_K times, so when K is not a multiple of BLOCK_K the last partial slice of K "
             "is never accumulated (for K < 32 the result is all zeros).",
         expect=("k loop", "loop bound", "remainder of k", "last k tile", "cdiv", "partial tile"),
         wrong=("grid", "stride", "store mask", "float16 accumulator"),
         fails_today=True),
    dict(level=3, file="level3/i_running_sum_not_rescaled.py",
         bug="In the wide-row kernel the running sum l is not multiplied by exp(m - m_new) when the maximum grows, so "
             "the earlier blocks' terms stay measured against an old, smaller max and the denominator is too big for wide rows.",
         expect=("rescale", "online softmax", "exp(m - m_new)", "running sum", "correction factor", "wide row"),
         wrong=("padding", "-inf", "overflow", "stride"),
         fails_today=True),
    dict(level=3, file="level3/i_padding_loaded_as_zero.py",
         bug="The single-block kernel loads the padding lanes past N as 0.0 instead of -inf, so they join the max and add "
             "exp(0 - max) terms to the sum: rows whose width is not a power of two come out too small (or NaN for very negative rows).",
         expect=("padding", "other=", "-inf", "masked lanes", "load fill value", "power of two"),
         wrong=("rescale", "online softmax", "wide rows", "overflow"),
         fails_today=True),
    dict(level=4, file="level4/i_key_tile_uses_query_rows.py",
         bug="The key tile is loaded with the query row indices (rows) instead of the key column indices (cols), so every "
             "column tile repeats the diagonal tile: correct only when S fits one tile.",
         expect=("key index", "cols", "rows instead of cols", "k tile", "pid_n", "column tile"),
         wrong=("scale", "transpose", "head offset", "store mask"),
         fails_today=True),
    dict(level=5, file="level5/i_diagonal_hidden.py",
         bug="The mask uses j >= i instead of j > i, so the diagonal is also set to -inf: a token is hidden from itself.",
         expect=("diagonal", "off-by-one", ">=", "j == i", "strict"),
         wrong=("local index", "grid", "head", "in place"),
         fails_today=True),
    dict(level=5, file="level5/i_tile_local_comparison.py",
         bug="The future test compares the tile-local aranges instead of the global row and column indices, so every tile "
             "gets its own little triangle: off-diagonal tiles are wrongly masked or unmasked once S exceeds one tile.",
         expect=("global index", "local index", "tile offset", "pid_m", "pid_n", "arange"),
         wrong=("diagonal", "grid", "batch head", "in-bounds mask"),
         fails_today=True),
    dict(level=5, file="level5/i_grid_missing_heads.py",
         bug="The grid has only the two tile axes and no B*H axis, so only the first (batch, head) matrix is processed; "
             "the other heads of the output are never written.",
         expect=("grid", "third axis", "b*h", "batch", "head", "program_id(2)"),
         wrong=("diagonal", "local index", "stride"),
         fails_today=True),
    dict(level=6, file="level6/i_softmax_without_max.py",
         bug="The softmax exponentiates the raw scores without subtracting the row maximum, so large logits overflow exp "
             "to inf and the probabilities become NaN.",
         expect=("row max", "subtract the max", "overflow", "inf", "nan", "numerically stable"),
         wrong=("causal mask", "scale", "p @ v", "padding"),
         fails_today=True),
    dict(level=7, file="level7/i_acc_not_rescaled.py",
         bug="The output accumulator is not multiplied by alpha when the running max grows (only l is), so contributions "
             "from earlier key blocks are over-weighted when scores grow along the keys.",
         expect=("acc", "accumulator", "alpha", "rescale", "online softmax"),
         wrong=("padding", "causal mask", "scale", "exp2"),
         fails_today=True),
    dict(level=7, file="level7/i_padded_keys_unmasked.py",
         bug="Padded keys (j >= S) are only hidden by the causal mask; without causality they score 0 and add exp(0 - m) "
             "to the normaliser, so non-causal outputs are too small when S is not a multiple of the block.",
         expect=("padding", "j >= s", "keys past s", "ragged", "non-causal", "key mask"),
         wrong=("rescale", "alpha", "diagonal", "scale"),
         fails_today=True),
    dict(level=8, file="level8/i_natural_exp_with_log2_scale.py",
         bug="qk_scale already contains log2(e) but the kernel uses tl.exp instead of tl.exp2, so every score is "
             "effectively multiplied by log2(e) and the softmax is too sharp.",
         expect=("exp2", "log2(e)", "log2e", "base", "natural exp", "temperature"),
         wrong=("mask", "stage bound", "rescale", "padding"),
         fails_today=True),
    dict(level=8, file="level8/i_diagonal_stage_one_key_tile.py",
         bug="In causal mode the masked (diagonal) stage ends at start_m * BLOCK_M + BLOCK_N instead of "
             "(start_m + 1) * BLOCK_M, so when BLOCK_M > BLOCK_N the later rows of a query tile never see the keys in the second half of their diagonal block.",
         expect=("hi_end", "diagonal", "stage 2", "loop bound", "block_m", "block_n"),
         wrong=("exp2", "log2", "padding", "rescale"),
         fails_today=True),
    dict(level=9, file="level9/i_dk_missing_scale.py",
         bug="dk is stored without the final multiplication by the softmax scale, so dK is off by a factor of 1/scale "
             "while dQ and dV are right.",
         expect=("dk", "scale", "missing factor", "dk * scale", "chain rule"),
         wrong=("delta", "lse", "mask", "dv"),
         fails_today=True),
    dict(level=9, file="level9/i_lse_left_in_natural_log.py",
         bug="The natural-log lse is subtracted inside exp2 without being converted to base 2 (times log2(e)), so the "
             "recomputed probabilities are wrong and all three gradients are off.",
         expect=("lse", "log2", "log2(e)", "base 2", "natural log", "exp2"),
         wrong=("delta", "causal mask", "dk scale", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/i_transposed_mask_flipped.py",
         bug="In the dK/dV kernel, where the tile is transposed (keys on rows), the causal test is written query <= key "
             "instead of query >= key, so on the diagonal tiles the future pairs are kept and the visible ones dropped: dK and dV are wrong in causal mode.",
         expect=("causal mask", "transposed", "diagonal", "dkdv", "mask direction", "i >= j"),
         wrong=("lse", "scale", "delta", "dq"),
         fails_today=True),
    dict(level=10, file="level10/i_kv_head_modulo.py",
         bug="The kv head of query head h is taken as h % Hkv instead of h // (Hq // Hkv), so heads are interleaved "
             "across kv heads instead of grouped: wrong whenever 1 < Hkv < Hq.",
         expect=("kv head", "h // group", "modulo", "head mapping", "group"),
         wrong=("batch offset", "causal", "scale", "rescale"),
         fails_today=True),
    dict(level=10, file="level10/i_max_taken_before_scaling.py",
         bug="The running max is taken on the unscaled q.k and multiplied by qk_scale afterwards, and masked scores are "
             "-inf before scaling; with a negative scale that gives the smallest score instead of the max and -inf * negative = +inf, producing overflow / NaN.",
         expect=("negative scale", "max before scaling", "scaled max", "sign of scale", "inf", "nan"),
         wrong=("kv head", "group", "padding", "exp2"),
         fails_today=True),
    dict(level=10, file="level10/i_max_updated_before_alpha.py",
         bug="m_i is overwritten with m_new before alpha = exp2(m_i - m_new) is computed, so alpha is always 1 and "
             "earlier key tiles are never rescaled when the max grows.",
         expect=("alpha", "rescale", "order", "m_i updated", "online softmax", "running max"),
         wrong=("kv head", "negative scale", "padding mask", "base 2"),
         fails_today=True),
    dict(level=11, file="level11/i_block_table_row_offset.py",
         bug="The block table entry is read at block_table_ptr + b + page_index, without multiplying b by the row stride, "
             "so every sequence after the first reads the wrong pages.",
         expect=("block table", "stride_table", "row stride", "page table", "wrong page"),
         wrong=("garbage", "split merge", "kv head", "scale"),
         fails_today=True),
    dict(level=11, file="level11/i_values_loaded_past_end.py",
         bug="The value rows are loaded without the t < end mask, relying on p = 0 for dead tokens; but the garbage "
             "(NaN) past seq_len then enters p @ v as 0 * NaN = NaN.",
         expect=("mask", "v load", "garbage", "nan", "0 * nan", "past seq_len"),
         wrong=("block table stride", "merge weights", "kv head", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/i_merge_normaliser_unweighted.py",
         bug="The reduction weights each piece's accumulator by exp2(m_p - M) but sums the normalisers l_p unweighted, "
             "so sequences split into several pieces get the wrong denominator.",
         expect=("reduce", "merge", "weight", "l_p", "normaliser", "exp2(m_p - m)"),
         wrong=("page", "garbage", "kv head", "scale"),
         fails_today=True),
]

CORRECT = [
    "level1/correct_i.py", "level2/correct_i.py", "level3/correct_i.py", "level4/correct_i.py",
    "level5/correct_i.py", "level6/correct_i.py", "level7/correct_i.py", "level8/correct_i.py",
    "level9/correct_i.py", "level10/correct_i.py", "level11/correct_i.py",
]
