"""Blind-written mistakes, levels 2, 3, 4, 5, 9 and 11, author p."""

ENTRIES = [
    # ---- level 2: matmul ----
    dict(level=2, file="level2/p_tile_index_from_row_count.py",
         bug="The 1-D program id is split into (tile row, tile column) with the number of tile ROWS instead of the "
             "number of tile columns, so when the tile grid is not square some tiles of c are computed twice and "
             "others are never written.",
         expect=("program id", "tile index", "pid", "tiles along n", "grid decomposition", "never written"),
         wrong=("fp16 accumulator", "k mask", "transposed b", "wrong stride"),
         fails_today=True),
    dict(level=2, file="level2/p_k_mask_ignores_k0.py",
         bug="The K mask compares the local arange to K instead of to the K left after k0, so on the last partial "
             "K step the tile reads past the end of each row (into the next row of a, the next rows of b) instead "
             "of zeros: wrong results whenever K is not a multiple of BLOCK_K and spans more than one step.",
         expect=("k mask", "ragged k", "k0", "remaining k", "last k tile", "partial k"),
         wrong=("program id", "output mask", "accumulator dtype", "tile row index"),
         fails_today=True),
    dict(level=2, file="level2/p_accumulator_in_input_dtype.py",
         bug="The accumulator is created in c's dtype and every partial product is rounded to it, so for float16 "
             "inputs the long sum over K is accumulated in half precision and loses accuracy.",
         expect=("accumulat", "float32 acc", "fp32 acc", "half precision", "precision", "fp16 sum"),
         wrong=("k mask", "program id", "stride", "missing tile"),
         fails_today=True),
    dict(level=2, file="level2/p_b_pointer_step_wrong_stride.py",
         bug="After each K step the b pointers advance by BLOCK_K times b's column stride instead of its row stride, "
             "so from the second K step on the kernel multiplies by columns further right in the same rows of b "
             "instead of the next rows.",
         expect=("stride", "pointer advance", "pointer increment", "b pointer", "stride_bk"),
         wrong=("accumulator dtype", "k mask", "program id", "output mask"),
         fails_today=True),
    # ---- level 3: softmax ----
    dict(level=3, file="level3/p_running_sum_not_rescaled.py",
         bug="The online pass updates the running maximum but never multiplies the running sum by exp(m_old - m_new), "
             "so on rows wider than one block the normaliser is too large and the outputs too small (narrow rows are fine).",
         expect=("rescale", "online softmax", "running sum", "correction factor", "wide rows", "exp(m_old - m_new)"),
         wrong=("padding", "exp2", "row stride", "dtype"),
         fails_today=True),
    dict(level=3, file="level3/p_lane_sums_added_unscaled.py",
         bug="Each lane keeps its own max and sum, but the final combine adds the lanes' sums without rescaling each "
             "to the global maximum (exp(m_lane - m)), so the denominator is wrong for every row wider than one "
             "element and the rows do not sum to 1.",
         expect=("lane", "combine", "rescale", "denominator", "normaliser", "do not sum to 1"),
         wrong=("padding", "exp2", "row stride", "overflow"),
         fails_today=True),
    dict(level=3, file="level3/p_padding_loaded_as_zero.py",
         bug="Lanes past N are loaded as 0.0 instead of -inf in the max/sum pass, so for rows whose logits are "
             "negative the padding wins the maximum and adds exp(0 - m) terms to the sum, shrinking the outputs.",
         expect=("padding", "-inf", "masked lanes", "other=0", "out-of-bounds lanes", "negative logits"),
         wrong=("rescale", "exp2", "row stride", "accumulator dtype"),
         fails_today=True),
    dict(level=3, file="level3/p_exp2_without_log2e.py",
         bug="Every exponential uses exp2 on x - m without multiplying by log2(e), so the kernel computes a base-2 "
             "softmax (softmax of x * ln 2): too flat a distribution for every row with more than one element.",
         expect=("exp2", "log2(e)", "log2e", "base 2", "base of the exponential"),
         wrong=("padding", "rescale", "row stride", "overflow"),
         fails_today=True),
    # ---- level 4: attention scores ----
    dict(level=4, file="level4/p_tile_row_col_swapped.py",
         bug="The flattened tile id is decoded with % for the row tile and // for the column tile while the count "
             "used is the number of column tiles, so with BLOCK_M != BLOCK_N some score tiles are computed at the "
             "wrong place and others never written (garbage from torch.empty).",
         expect=("tile index", "program id", "tile decomposition", "swapped", "never written", "uncovered tiles"),
         wrong=("scale", "float32 output", "head offset", "transpose of k"),
         fails_today=True),
    dict(level=4, file="level4/p_default_scale_one_over_d.py",
         bug="When scale is None the default is 1/D instead of 1/sqrt(D), so the scores are too small by a factor "
             "sqrt(D); an explicit scale is honoured.",
         expect=("default scale", "1/sqrt(d)", "sqrt", "scale is none", "scaling factor"),
         wrong=("tile index", "mask", "head offset", "dtype"),
         fails_today=True),
    dict(level=4, file="level4/p_scores_in_input_dtype.py",
         bug="The output buffer is allocated in q's dtype instead of float32, so for float16 inputs the scores are "
             "rounded to half precision and returned as float16.",
         expect=("float32", "output dtype", "fp16 output", "half precision", "returned dtype"),
         wrong=("scale", "tile index", "mask", "head offset"),
         fails_today=True),
    dict(level=4, file="level4/p_query_rows_use_block_n.py",
         bug="The query rows of a tile start at tm * BLOCK_N instead of tm * BLOCK_M, so with BLOCK_M != BLOCK_N the "
             "row tiles overlap or leave gaps: some query rows get the wrong scores and others are never written.",
         expect=("block_m", "row offset", "query rows", "tile origin", "row index"),
         wrong=("scale", "float32 output", "transpose of k", "head offset"),
         fails_today=True),
    # ---- level 5: causal mask ----
    dict(level=5, file="level5/p_row_index_missing_mod.py",
         bug="In the flat kernel the row is computed as offs // S without % S, so for every (batch, head) after the "
             "first the row index keeps growing and no entry is masked: only the first head gets its causal mask.",
         expect=("row index", "% s", "modulo", "flat index", "first head", "other heads"),
         wrong=("diagonal", "in place", "grid size", "column index"),
         fails_today=True),
    dict(level=5, file="level5/p_diagonal_masked_too.py",
         bug="The comparison is col >= row instead of col > row, so the diagonal (a token looking at itself) is "
             "also set to -inf.",
         expect=("diagonal", ">=", "j >= i", "off-by-one", "strict"),
         wrong=("in place", "grid size", "head offset", "modulo"),
         fails_today=True),
    dict(level=5, file="level5/p_masks_scores_in_place.py",
         bug="The kernel is launched with the input as its output and the input is returned, so the caller's "
             "scores tensor is overwritten instead of a new tensor being returned.",
         expect=("in place", "in-place", "input modified", "new tensor", "overwrites the input", "aliasing"),
         wrong=("diagonal", "grid size", "row index", "modulo"),
         fails_today=True),
    dict(level=5, file="level5/p_grid_rounds_down.py",
         bug="The grid is total // BLOCK (at least 1) instead of cdiv(total, BLOCK), so the last partial block of "
             "elements is never processed and those outputs stay uninitialised.",
         expect=("grid", "cdiv", "rounds down", "last block", "not covered", "uninitialised"),
         wrong=("diagonal", "in place", "row index", "modulo"),
         fails_today=True),
    # ---- level 9: flash attention backward ----
    dict(level=9, file="level9/p_dk_missing_scale.py",
         bug="dK is stored without the final multiplication by scale (dK = scale * dS^T Q), so dk is too large by "
             "1/scale while dq and dv are correct.",
         expect=("dk", "scale", "missing scale", "softmax scale", "1/scale"),
         wrong=("delta", "causal mask", "lse", "diagonal tile"),
         fails_today=True),
    dict(level=9, file="level9/p_dkdv_lse_not_base2.py",
         bug="In the dK/dV kernel the probabilities use exp2 of the base-2 scores minus the natural-log lse, without "
             "converting lse by log2(e), so the recomputed P is wrong and both dk and dv are off (dq is fine).",
         expect=("lse", "log2(e)", "log2e", "base 2", "natural log", "recomputed probabilities"),
         wrong=("missing scale", "delta", "diagonal tile", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/p_dq_skips_diagonal_tile.py",
         bug="In the causal dQ walk the key loop stops at the start of the query tile, so the diagonal key tile is "
             "skipped and dq misses the contribution of every key within its own tile (dk and dv are fine).",
         expect=("diagonal", "dq", "loop bound", "key tiles", "own tile", "skipped"),
         wrong=("lse", "delta", "missing scale", "dv"),
         fails_today=True),
    dict(level=9, file="level9/p_delta_broadcast_over_keys.py",
         bug="In the dK/dV kernel (scores kept as queries x keys) delta is broadcast along the wrong axis "
             "(delta[None, :] instead of delta[:, None]), so dS subtracts the delta of the wrong query rows and dk "
             "is wrong.",
         expect=("delta", "broadcast", "axis", "dk", "wrong rows"),
         wrong=("lse", "missing scale", "diagonal tile", "dv"),
         fails_today=True),
    dict(level=9, file="level9/p_mask_by_multiplication.py",
         bug="The dQ kernel hides masked scores by multiplying p by the mask instead of tl.where, so where a hidden "
             "score overflows exp2 to inf, inf * 0 gives NaN in dq (with large logits).",
         expect=("nan", "tl.where", "inf * 0", "multiplying by the mask", "overflow"),
         wrong=("wrong lse", "delta", "missing scale", "diagonal tile"),
         fails_today=True),
    # ---- level 11: paged decode ----
    dict(level=11, file="level11/p_kv_head_interleaved.py",
         bug="Query head h reads kv head h % Hkv instead of h // (Hq // Hkv), so with GQA groups the query heads "
             "are paired with the wrong key/value heads (MQA and Hq == Hkv are unaffected).",
         expect=("kv head", "gqa", "head mapping", "h // group", "group"),
         wrong=("page table", "block_table", "rescale", "seq_len mask"),
         fails_today=True),
    dict(level=11, file="level11/p_logical_page_as_physical.py",
         bug="The kernel uses the logical page number as the page index in the pool instead of looking it up in "
             "block_table, so every sequence reads pages 0, 1, ... of the pool (garbage or another sequence's "
             "tokens).",
         expect=("block_table", "block table", "page table", "physical page", "page lookup", "logical page"),
         wrong=("kv head", "rescale", "seq_len mask", "scale"),
         fails_today=True),
    dict(level=11, file="level11/p_last_token_off_by_one.py",
         bug="The live-token mask is tok <= seq_len instead of tok < seq_len, so one slot past the end of the "
             "sequence (garbage, possibly NaN) is loaded and attended to.",
         expect=("off-by-one", "<=", "seq_len", "one token past", "garbage", "tail mask"),
         wrong=("kv head", "block table", "rescale", "base 2"),
         fails_today=True),
    dict(level=11, file="level11/p_acc_not_rescaled.py",
         bug="In the split kernel's online softmax the accumulator is not multiplied by alpha = exp2(m_old - m_new) "
             "when the max grows (l is), so pieces covering several pages weight earlier pages too heavily.",
         expect=("rescale", "alpha", "accumulator", "online softmax", "acc"),
         wrong=("kv head", "block table", "seq_len mask", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/p_reduce_sums_l_unweighted.py",
         bug="The reduce kernel weights the partial accumulators by exp2(m_p - M) but sums the partial normalisers "
             "l without those weights, so whenever a sequence spans more than one piece the denominator is wrong.",
         expect=("reduce", "merge", "normaliser", "weights", "denominator", "partial"),
         wrong=("kv head", "block table", "seq_len mask", "base 2"),
         fails_today=True),
    dict(level=11, file="level11/p_scale_without_log2e.py",
         bug="The kernel exponentiates with exp2 but is given scale instead of scale * log2(e), so the softmax is "
             "taken with base 2: attention weights too flat for every sequence longer than one token.",
         expect=("log2(e)", "log2e", "exp2", "base 2", "qk_scale"),
         wrong=("kv head", "block table", "seq_len mask", "reduce"),
         fails_today=True),
]

CORRECT = [
    "level2/correct_p.py",
    "level3/correct_p.py",
    "level4/correct_p.py",
    "level5/correct_p.py",
    "level9/correct_p.py",
    "level11/correct_p.py",
]
