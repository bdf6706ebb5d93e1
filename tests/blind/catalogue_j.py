"""Blind-written mistakes, levels 1, 2, 3, 4, 5, 6, 9, 11, author j."""

ENTRIES = [
    # level 1
    dict(level=1, file="level1/j_offsets_missing_block_stride.py",
         bug="The offsets are pid + arange(BLOCK_SIZE) instead of pid * BLOCK_SIZE + arange(BLOCK_SIZE), so the "
             "programs overlap on the first elements and everything after the first block plus a few is never written.",
         expect=("block_size", "pid * block", "block start", "offset", "overlap", "never written"),
         wrong=("mask", "dtype", "grid too small", "wrong operation"),
         fails_today=True),
    dict(level=1, file="level1/j_grid_floor_division.py",
         bug="The grid is n // BLOCK_SIZE (rounded down), so the last partial block has no program: its elements are "
             "never written, and for n < BLOCK_SIZE no program runs at all.",
         expect=("grid", "cdiv", "round up", "floor", "last block", "tail"),
         wrong=("mask", "offset", "dtype", "wrong operation"),
         fails_today=True),
    # level 2
    dict(level=2, file="level2/j_tile_index_uses_m_count.py",
         bug="The flat program id is split into (tile_m, tile_n) with the number of row tiles instead of the number "
             "of column tiles, so when the two counts differ some tiles of c are computed twice and others never.",
         expect=("program id", "pid", "tile index", "number of tiles", "never written", "tile mapping"),
         wrong=("accumulator", "k loop", "stride", "dtype"),
         fails_today=True),
    dict(level=2, file="level2/j_k_mask_off_by_one.py",
         bug="The K masks use <= instead of <, so on a ragged last K tile one extra lane past K is loaded from a and b "
             "and adds a garbage product to every element.",
         expect=("off-by-one", "off by one", "k mask", "ragged k", "<=", "past k"),
         wrong=("grid", "accumulator dtype", "store mask", "program id"),
         fails_today=True),
    dict(level=2, file="level2/j_acc_overwritten_each_k_step.py",
         bug="Inside the K loop the accumulator is assigned (acc = tl.dot(...)) instead of added to, so only the last "
             "K tile's product survives.",
         expect=("accumulat", "overwrit", "+=", "last k tile", "only the last"),
         wrong=("mask", "stride", "grid", "dtype"),
         fails_today=True),
    dict(level=2, file="level2/j_output_always_float32.py",
         bug="The output is allocated as float32 whatever the input dtype, so float16 inputs get a float32 result "
             "instead of one in a's dtype.",
         expect=("dtype", "float32 output", "float16", "in a's dtype", "wrong dtype"),
         wrong=("accumulator", "mask", "stride", "k loop"),
         fails_today=True),
    # level 3
    dict(level=3, file="level3/j_wide_sum_not_rescaled.py",
         bug="In the wide-row pass the running sum is not multiplied by exp(m_old - m_new) when the maximum grows, so "
             "the terms accumulated against a smaller max stay too large and the normaliser is wrong for wide rows.",
         expect=("rescale", "online softmax", "running sum", "exp(m", "correction", "wide row"),
         wrong=("padding", "narrow row", "tail", "max not subtracted"),
         fails_today=True),
    dict(level=3, file="level3/j_narrow_padding_zero.py",
         bug="The narrow kernel loads the padding lanes as 0.0 instead of -inf, so they join the max and add "
             "exp(0 - max) to the sum: rows whose width is not a power of two get a wrong normaliser.",
         expect=("padding", "other=0", "-inf", "masked lanes", "padded lanes", "fill value"),
         wrong=("rescale", "online", "wide row", "tail block"),
         fails_today=True),
    dict(level=3, file="level3/j_wide_tail_block_not_stored.py",
         bug="The store pass of the wide kernel loops N // BLOCK times (rounded down), so the last partial block of "
             "each wide row is never written.",
         expect=("tail", "last block", "partial block", "never written", "floor", "loop bound"),
         wrong=("rescale", "padding", "max", "narrow"),
         fails_today=True),
    # level 4
    dict(level=4, file="level4/j_default_scale_seq_len.py",
         bug="When scale is None it is set to 1/sqrt(S) (the sequence length) instead of 1/sqrt(D) (the head "
             "dimension), so default-scale scores are off by a constant factor; an explicit scale is fine.",
         expect=("default scale", "1/sqrt(d)", "sqrt(s)", "sequence length", "head dim", "scale"),
         wrong=("mask", "stride", "transpose", "grid"),
         fails_today=True),
    dict(level=4, file="level4/j_store_cols_without_tile_start.py",
         bug="The store uses tl.arange(0, BLOCK_N) for the columns instead of start_n + arange, so every key tile is "
             "written over the first BLOCK_N columns and the rest of the row is never written.",
         expect=("column offset", "start_n", "tile start", "never written", "overwrit", "first columns"),
         wrong=("scale", "head offset", "grid", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/j_key_loop_starts_at_query_tile.py",
         bug="The key loop starts at the query tile's row (as if causal) instead of 0, so the scores left of the "
             "diagonal tiles (keys before the query block) are never computed or written.",
         expect=("loop start", "starts at", "causal", "lower triangle", "never written", "skipped tiles"),
         wrong=("scale", "stride", "transpose", "dtype"),
         fails_today=True),
    dict(level=4, file="level4/j_grid_batch_only.py",
         bug="The second grid axis is B instead of B*H, so only the first B (batch, head) slices are computed and the "
             "other heads are never written.",
         expect=("grid", "b * h", "heads", "never written", "batch*head", "missing heads"),
         wrong=("scale", "mask", "stride", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/j_k_head_offset_row_stride.py",
         bug="The key pointer's head offset uses the row stride (bh * stride_ks) instead of the head stride, so every "
             "head but the first reads its keys from the wrong place (shifted rows of head 0).",
         expect=("head offset", "head stride", "stride_kh", "wrong head", "k pointer", "stride"),
         wrong=("scale", "mask", "grid", "transpose"),
         fails_today=True),
    # level 5
    dict(level=5, file="level5/j_diagonal_masked_too.py",
         bug="The mask uses j >= i instead of j > i, so the diagonal is set to -inf too.",
         expect=("diagonal", "off-by-one", "off by one", ">=", "j == i"),
         wrong=("head", "stride", "grid", "in place"),
         fails_today=True),
    dict(level=5, file="level5/j_mask_uses_flat_row_id.py",
         bug="The causal comparison uses the flat program id (row across all heads) instead of the row within the "
             "head, so for every head after the first nothing is masked.",
         expect=("row index", "within the head", "per head", "program id", "flat", "pid % s"),
         wrong=("diagonal", "stride", "grid size", "in place"),
         fails_today=True),
    dict(level=5, file="level5/j_column_loop_stops_at_diagonal.py",
         bug="The column loop only runs up to the diagonal (range(0, i + 1)), so the column blocks wholly to the "
             "right of the diagonal are never written: the output holds uninitialised memory there instead of -inf.",
         expect=("never written", "uninitialised", "uninitialized", "loop bound", "skipped", "above the diagonal"),
         wrong=("diagonal masked", "head offset", "scale", "in place"),
         fails_today=True),
    # level 6
    dict(level=6, file="level6/j_causal_mask_tile_local_indices.py",
         bug="The causal mask in the scores kernel compares tile-local indices (tl.arange) instead of global row and "
             "column indices, so every tile, even off the diagonal, gets a triangular mask.",
         expect=("local indices", "global index", "tile-local", "causal mask", "arange", "off-diagonal tiles"),
         wrong=("softmax", "scale", "pv", "dtype"),
         fails_today=True),
    dict(level=6, file="level6/j_softmax_without_max_shift.py",
         bug="The softmax kernel exponentiates the scores without subtracting the row maximum, so large logits "
             "overflow exp to inf and the probabilities become NaN.",
         expect=("row max", "subtract the max", "overflow", "nan", "inf", "stability"),
         wrong=("causal mask", "scale", "stride", "pv"),
         fails_today=True),
    # level 9
    dict(level=9, file="level9/j_dk_missing_scale.py",
         bug="dk is stored without the final multiplication by scale, so dK is off by the factor scale while dq "
             "and dv are right.",
         expect=("dk", "scale", "missing scale", "factor", "not scaled"),
         wrong=("dq", "dv", "lse", "causal mask"),
         fails_today=True),
    dict(level=9, file="level9/j_dq_skips_diagonal_tile.py",
         bug="With causal, the dq kernel's key loop stops at start_m instead of start_m + BLOCK_M, so the diagonal "
             "key tile is skipped and dq loses the contributions of keys near the diagonal (the first query tile "
             "gets dq = 0).",
         expect=("dq", "diagonal", "loop bound", "skipped", "start_m", "causal"),
         wrong=("dk", "dv", "scale", "lse"),
         fails_today=True),
    dict(level=9, file="level9/j_dkdv_causal_mask_flipped.py",
         bug="In the transposed dK/dV kernel the causal condition is written query <= key instead of query >= key, "
             "so on the diagonal tiles the wrong triangle is kept and dk and dv are wrong.",
         expect=("causal mask", "flipped", "transposed", "dk", "dv", "wrong triangle"),
         wrong=("dq", "scale", "lse", "delta"),
         fails_today=True),
    dict(level=9, file="level9/j_exp2_with_natural_lse.py",
         bug="The probabilities are recomputed with exp2 on scores scaled by log2(e), but lse is subtracted still in "
             "natural-log units (not multiplied by log2(e)), so every recomputed P is off and all three gradients "
             "are wrong.",
         expect=("log2", "exp2", "lse", "base 2", "natural log", "log2(e)"),
         wrong=("causal mask", "delta", "missing scale", "stride"),
         fails_today=True),
    # level 11
    dict(level=11, file="level11/j_kv_head_modulo.py",
         bug="The kv head of query head h is h % Hkv instead of h // (Hq // Hkv), so with GQA groups larger than one "
             "most query heads attend to another group's keys and values.",
         expect=("gqa", "kv head", "head mapping", "h // group", "modulo", "group"),
         wrong=("page table", "mask", "rescale", "scale"),
         fails_today=True),
    dict(level=11, file="level11/j_block_table_row_stride_one.py",
         bug="The block table's row stride is passed as block_table.stride(1) (1) instead of stride(0), so sequence "
             "b reads its page list from the wrong (shifted) row and every sequence but the first uses the wrong pages.",
         expect=("block table", "page table", "row stride", "stride(0)", "wrong pages", "wrong row"),
         wrong=("gqa", "seq_len mask", "reduce", "scale"),
         fails_today=True),
    dict(level=11, file="level11/j_valid_mask_slot_not_token.py",
         bug="The token validity mask compares the slot within the page with seq_len instead of the global token "
             "index, so the unused slots of the last partial page (garbage, possibly NaN) are read and included.",
         expect=("garbage", "slot", "token index", "seq_len", "mask", "partial page"),
         wrong=("gqa", "block table", "rescale", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/j_acc_not_rescaled.py",
         bug="In the online softmax the accumulator is not multiplied by alpha = exp(m_old - m_new) when the max "
             "grows (only l is), so values seen before a new maximum are over-weighted.",
         expect=("rescale", "alpha", "accumulator", "online softmax", "acc", "correction"),
         wrong=("page table", "gqa", "mask", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/j_reduce_ignores_split_sums.py",
         bug="The reduce kernel normalises each split separately and averages them weighted by exp(m - M) only, "
             "instead of sum(w * acc) / sum(w * l): splits are not weighted by their sums l, so multi-split "
             "sequences get a wrong result.",
         expect=("reduce", "merge", "split", "weight", "sum of l", "combine"),
         wrong=("gqa", "page table", "mask", "online rescale"),
         fails_today=True),
    dict(level=11, file="level11/j_page_count_floor.py",
         bug="The number of pages is seq_len // page_size (rounded down), so the last partial page is dropped: those "
             "tokens are ignored, and a sequence shorter than one page has no tokens at all (NaN).",
         expect=("cdiv", "round up", "floor", "last page", "partial page", "dropped tokens"),
         wrong=("gqa", "garbage", "rescale", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/j_running_max_starts_at_zero.py",
         bug="The running max starts at 0 instead of -inf, so it never drops below 0: with very negative scores "
             "exp(s - m) underflows to 0 and l becomes 0 (NaN or lost precision).",
         expect=("running max", "initial", "-inf", "starts at 0", "underflow", "initialis"),
         wrong=("gqa", "page table", "mask", "reduce"),
         fails_today=True),
]

CORRECT = [
    "level1/correct_j.py", "level2/correct_j.py", "level3/correct_j.py", "level4/correct_j.py",
    "level5/correct_j.py", "level6/correct_j.py", "level9/correct_j.py", "level11/correct_j.py",
]
