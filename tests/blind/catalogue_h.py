"""Blind-written mistakes, levels 3, 5, 7, 8, 9, 10, 11, author h."""

ENTRIES = [
    # ---- level 3: softmax
    dict(level=3, file="level3/h_wide_sum_not_rescaled.py",
         bug="In the wide-row kernel the running sum l is never multiplied by exp(m - m_new) when the running "
             "max grows, so blocks summed before the max increased are overweighted and every wide row sums to "
             "less than 1.",
         expect=("rescale", "running sum", "exp(m - m_new)", "online softmax", "correction factor"),
         wrong=("padding", "row stride", "dtype", "overflow"),
         fails_today=True),
    dict(level=3, file="level3/h_padding_loaded_as_zero.py",
         bug="The single-block kernel loads the lanes past N as 0.0 instead of -inf, so the padding lanes "
             "add exp(0 - max) to the denominator; harmless for large positive logits but badly wrong for "
             "negative logits and non-power-of-two widths.",
         expect=("-inf", "padding", "other=", "masked lanes", "padded lanes"),
         wrong=("rescale", "row stride", "wide rows", "max subtraction"),
         fails_today=True),
    dict(level=3, file="level3/h_narrow_row_no_max.py",
         bug="The single-block kernel exponentiates x directly without subtracting the row maximum, so "
             "large logits overflow exp to inf and the row becomes NaN.",
         expect=("subtract the max", "row max", "overflow", "nan", "numerically stable"),
         wrong=("padding", "rescale", "row stride", "wide rows"),
         fails_today=True),
    dict(level=3, file="level3/h_wide_ragged_tail_dropped.py",
         bug="The wide-row kernel loops over N // BLOCK blocks, dropping the last partial block: its columns "
             "are left out of the max and the sum and are never written (the output keeps garbage there).",
         expect=("last block", "partial block", "cdiv", "tail", "loop bound", "n // block"),
         wrong=("rescale", "-inf", "overflow", "dtype"),
         fails_today=True),

    # ---- level 5: causal mask
    dict(level=5, file="level5/h_diagonal_masked_too.py",
         bug="The mask uses cols >= rows, so the diagonal (a token looking at itself) is also set to -inf.",
         expect=("diagonal", ">=", "j == i", "off-by-one", "strict"),
         wrong=("grid", "stride", "in place", "past"),
         fails_today=True),
    dict(level=5, file="level5/h_masks_past_not_future.py",
         bug="The comparison is reversed (cols < rows): it hides the past (below the diagonal) and leaves the "
             "future visible.",
         expect=("reversed", "below the diagonal", "lower triangle", "past", "direction", "transposed"),
         wrong=("grid", "stride", "in place", "tile offset"),
         fails_today=True),
    dict(level=5, file="level5/h_mask_from_local_tile_index.py",
         bug="The future test compares tile-local indices (arange) instead of global row and column indices, "
             "so every tile gets the diagonal pattern of tile (0, 0): off-diagonal tiles are masked wrongly "
             "once S exceeds one tile.",
         expect=("local", "global", "pid_m", "tile offset", "block offset"),
         wrong=("diagonal only", "grid", "stride", "in place"),
         fails_today=True),
    dict(level=5, file="level5/h_grid_floor_division.py",
         bug="The grid uses S // BLOCK (at least 1) instead of cdiv, so for ragged S larger than a tile the "
             "last partial row and column of tiles is never launched and that part of the output is "
             "uninitialised.",
         expect=("grid", "cdiv", "ceil", "floor division", "last tile", "not launched"),
         wrong=("diagonal", "mask direction", "stride", "in place"),
         fails_today=True),
    dict(level=5, file="level5/h_writes_into_input.py",
         bug="The kernel is launched with the input as its output and the function returns the input's view, "
             "so the caller's scores tensor is modified in place instead of a new tensor being returned.",
         expect=("in place", "in-place", "new tensor", "input was modified", "overwrit", "aliases"),
         wrong=("diagonal", "grid", "mask direction", "stride"),
         fails_today=True),

    # ---- level 7: fused attention
    dict(level=7, file="level7/h_acc_not_rescaled.py",
         bug="The running normaliser l is rescaled by alpha but the output accumulator acc is not, so "
             "contributions from earlier key blocks keep their old scale and the output is wrong whenever "
             "the row max grows across blocks.",
         expect=("acc", "accumulator", "rescale", "alpha", "online softmax"),
         wrong=("scale", "causal mask", "padding", "exp2"),
         fails_today=True),
    dict(level=7, file="level7/h_explicit_scale_overwritten.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting an explicit scale argument, so results "
             "are right only for the default scale.",
         expect=("explicit scale", "scale argument", "ignored", "1/sqrt(d)", "overwrit"),
         wrong=("online softmax", "causal mask", "padding", "rescale"),
         fails_today=True),
    dict(level=7, file="level7/h_padded_keys_not_masked.py",
         bug="Keys past S are only hidden by the causal mask; in non-causal attention with ragged S the "
             "zero-loaded padding keys score 0 and get softmax weight, inflating the denominator.",
         expect=("padding", "padded keys", "j >= s", "ragged", "non-causal", "out-of-range keys"),
         wrong=("rescale", "scale", "diagonal", "exp2"),
         fails_today=True),

    # ---- level 8: flash attention
    dict(level=8, file="level8/h_exp_with_log2e_scale.py",
         bug="The scale already has log2(e) folded in, but the kernel uses natural exp instead of exp2, so "
             "the softmax runs at the wrong temperature (scores effectively multiplied by log2(e)).",
         expect=("exp2", "log2(e)", "base", "natural exp", "log2e"),
         wrong=("causal mask", "rescale", "padding", "stage"),
         fails_today=True),
    dict(level=8, file="level8/h_diagonal_stage_one_key_tile.py",
         bug="The causal masked stage ends at start_m * BLOCK_M + BLOCK_N instead of (start_m + 1) * BLOCK_M, "
             "so with BLOCK_M > BLOCK_N the second half of the diagonal tile is skipped and later rows miss "
             "keys they should see.",
         expect=("diagonal", "hi_end", "stage 2", "loop bound", "block_m", "skipped keys"),
         wrong=("exp2", "rescale", "padding", "scale"),
         fails_today=True),
    dict(level=8, file="level8/h_running_max_not_returned.py",
         bug="attend_block returns the old running max m_i instead of m_new, so the max never leaves -inf, "
             "alpha is always 0 (or NaN) and earlier tiles are thrown away or poisoned.",
         expect=("running max", "m_new", "m_i", "not updated", "return"),
         wrong=("exp2", "causal mask", "padding", "scale"),
         fails_today=True),

    # ---- level 9: flash attention backward
    dict(level=9, file="level9/h_dk_not_scaled.py",
         bug="dk is stored without the final multiplication by scale (dK = scale * dS^T @ Q), so dk is off by a "
             "factor of 1/scale while dq and dv are right.",
         expect=("dk", "scale", "factor", "missing scale", "sm_scale"),
         wrong=("dv", "delta", "causal mask", "lse"),
         fails_today=True),
    dict(level=9, file="level9/h_lse_natural_log_in_exp2.py",
         bug="The dK/dV kernel subtracts the natural-log lse inside exp2 without converting it to base 2 "
             "(times log2(e)), so the recomputed probabilities are wrong and dk, dv are wrong.",
         expect=("lse", "log2(e)", "base", "natural log", "exp2", "log2e"),
         wrong=("delta", "scale on dk", "causal mask", "dq"),
         fails_today=True),
    dict(level=9, file="level9/h_dkdv_mask_direction.py",
         bug="In the transposed dK/dV tile the causal mask keeps key >= query instead of key <= query, so on "
             "the diagonal tiles the future queries are counted and the past ones dropped: dk and dv wrong "
             "in causal mode.",
         expect=("causal mask", "transposed", "direction", "diagonal", "key <= query"),
         wrong=("lse", "delta", "scale", "dq"),
         fails_today=True),
    dict(level=9, file="level9/h_dkdv_diagonal_counted_twice.py",
         bug="In causal mode the unmasked query loop of the dK/dV kernel starts at start_n instead of "
             "start_n + BLOCK_N, so the diagonal query tiles are visited twice (once masked, once unmasked), "
             "double-counting them and leaking future queries into dk and dv.",
         expect=("twice", "double", "loop bound", "start_n + block_n", "diagonal", "overlap"),
         wrong=("lse", "delta", "scale", "dq"),
         fails_today=True),
    dict(level=9, file="level9/h_dq_without_delta.py",
         bug="The dQ kernel computes ds = p * dp, forgetting to subtract delta = rowsum(dO * O), so dq is wrong "
             "(dk and dv are right).",
         expect=("delta", "rowsum", "softmax backward", "ds", "dp - delta"),
         wrong=("lse", "scale on dk", "causal mask", "dv"),
         fails_today=True),

    # ---- level 10: GQA attention
    dict(level=10, file="level10/h_kv_head_modulo.py",
         bug="The kv head is computed as h % Hkv (interleaved) instead of h // group, so query heads are paired "
             "with the wrong key/value heads whenever 1 < Hkv < Hq.",
         expect=("kv head", "h // group", "modulo", "head mapping", "group"),
         wrong=("batch offset", "causal mask", "scale", "stride"),
         fails_today=True),
    dict(level=10, file="level10/h_kv_row_ignores_batch.py",
         bug="The row of k and v is taken as the kv head alone, without adding b * Hkv, so every batch element "
             "attends to batch 0's keys and values.",
         expect=("batch", "b * h_kv", "batch offset", "kv_row", "batch 0"),
         wrong=("head mapping", "modulo", "causal mask", "scale"),
         fails_today=True),
    dict(level=10, file="level10/h_scale_after_mask.py",
         bug="The scores are masked with -inf before being multiplied by the scale; with a negative scale the "
             "masked entries become +inf (and the max of raw scores is the smallest scaled one), so the output "
             "is NaN for negative scales.",
         expect=("negative scale", "sign", "+inf", "scale after", "mask before scale"),
         wrong=("head mapping", "batch offset", "exp2", "rescale"),
         fails_today=True),

    # ---- level 11: paged decode
    dict(level=11, file="level11/h_block_table_skipped.py",
         bug="The page is computed as t // page_size directly instead of looking it up in block_table, so the "
             "kernel reads the pool as if pages were contiguous and in order and attends to garbage pages.",
         expect=("block_table", "block table", "page table", "page lookup", "physical page"),
         wrong=("seq_len", "tail mask", "reduce", "gqa"),
         fails_today=True),
    dict(level=11, file="level11/h_tail_scores_not_masked.py",
         bug="Tokens past the end are masked on load (k = 0) but their scores are not set to -inf, so the "
             "padding tokens of the last tile get weight exp2(0 - m) and dilute the softmax.",
         expect=("-inf", "past seq_len", "tail", "padding tokens", "scores not masked"),
         wrong=("block table", "reduce", "gqa head", "stride"),
         fails_today=True),
    dict(level=11, file="level11/h_reduce_reads_every_split.py",
         bug="The reduce kernel merges all num_splits partials instead of only the first "
             "cdiv(seq_len, tokens_per_split), so for short sequences it reads uninitialised m, l and acc "
             "scratch from pieces that never wrote anything.",
         # "never written" added by the team after scoring: the engine's words for uninitialised scratch.
         expect=("uninitialised", "uninitialized", "unused splits", "n_used", "num_splits", "pieces that wrote", "never written"),
         wrong=("block table", "tail mask", "exp2", "gqa"),
         fails_today=True),
    dict(level=11, file="level11/h_reduce_natural_exp.py",
         bug="The split kernel keeps m in base 2 (qk_scale has log2(e)), but the reduce weights pieces with "
             "exp(m - M) instead of exp2, so pieces are merged with the wrong weights when a sequence spans "
             "several pieces.",
         expect=("exp2", "base", "log2", "reduce", "merge weights"),
         wrong=("block table", "tail mask", "gqa", "stride"),
         fails_today=True),
    dict(level=11, file="level11/h_slot_and_head_strides_swapped.py",
         bug="The cache offset multiplies the slot by the head stride and the kv head by the slot stride, so "
             "with Hkv > 1 it reads the wrong tokens and heads (only Hkv = 1 comes out right).",
         expect=("stride", "swapped", "stride_slot", "stride_kvh", "cache layout"),
         wrong=("block table", "reduce", "tail mask", "exp2"),
         fails_today=True),
]

CORRECT = [
    "level3/correct_h.py",
    "level5/correct_h.py",
    "level7/correct_h.py",
    "level8/correct_h.py",
    "level9/correct_h.py",
    "level10/correct_h.py",
    "level11/correct_h.py",
]
