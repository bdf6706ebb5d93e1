"""Blind-written mistakes, levels 1, 3 to 9 and 11, seventh author."""

ENTRIES = [
    # ---------------- level 11: paged decoding ----------------
    dict(level=11, file="level11/g_kv_head_modulo.py",
         bug="The kv head of query head h is taken as h % Hkv instead of h // (Hq // Hkv), so with GQA groups "
             "the query heads are dealt round-robin to the kv heads and most of them attend to another head's keys and values.",
         expect=("kv head", "group", "h // group", "head mapping", "gqa"),
         wrong=("page table", "garbage", "scale"),
         fails_today=True),
    dict(level=11, file="level11/g_block_table_no_row_offset.py",
         bug="The page lookup reads block_table[0, p] for every sequence (the row offset b * stride_table is missing), "
             "so every sequence after the first reads the first sequence's pages, or garbage pages.",
         expect=("block_table", "row offset", "stride_table", "wrong pages", "batch offset"),
         wrong=("kv head", "rescale", "seq_len mask"),
         fails_today=True),
    dict(level=11, file="level11/g_mask_page_end_not_seq_len.py",
         bug="The validity mask only checks that the slot lies inside the page, not that the token is before seq_lens[b], "
             "so the unused tail of the last, partly filled page (garbage, possibly NaN) is loaded and attended to.",
         expect=("seq_len", "past the end", "garbage", "last page", "mask"),
         wrong=("block_table", "kv head", "merge"),
         fails_today=True),
    dict(level=11, file="level11/g_pages_floor_not_ceil.py",
         bug="The number of pages of a sequence is computed as seq_len // page_size instead of ceil(seq_len / page_size), "
             "so the last partly filled page is dropped: its tokens are ignored, and a sequence shorter than a page gets no keys at all (NaN).",
         expect=("ceil", "floor", "last page", "partial page", "cdiv"),
         wrong=("garbage", "kv head", "scale"),
         fails_today=True),
    dict(level=11, file="level11/g_merge_weight_inverted.py",
         bug="The reduction weights each piece by exp(M - lse_p) instead of exp(lse_p - M), so pieces with smaller "
             "log-sum-exp get the larger weight; the merge is wrong whenever a sequence spans more than one piece.",
         expect=("merge", "reduce", "weight", "inverted", "exp(lse - max)"),
         wrong=("page table", "seq_len mask", "kv head"),
         fails_today=True),
    # ---------------- level 9: flash attention backward ----------------
    dict(level=9, file="level9/g_dkdv_diagonal_excluded.py",
         bug="In the dK/dV kernel the causal test is query > key instead of query >= key, so each key's own query "
             "(the diagonal) is dropped from dK and dV; dQ, computed in its own kernel, stays right.",
         expect=("diagonal", ">=", "off-by-one", "causal mask", "i >= j"),
         wrong=("scale", "delta", "lse"),
         fails_today=True),
    dict(level=9, file="level9/g_dk_missing_scale.py",
         bug="dK is stored without the final multiplication by the softmax scale (dK = scale * dS^T @ Q), so every dK "
             "value is off by a factor 1/scale while dQ and dV are right.",
         expect=("scale", "dk", "missing factor", "1/sqrt(d)", "chain rule"),
         wrong=("causal mask", "delta", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/g_dq_skips_diagonal_tile.py",
         bug="The dQ kernel's causal key loop stops at the start of its own query tile instead of running through the "
             "diagonal tile, so the keys on and just below the diagonal never contribute to dQ (the first tile gets zeros).",
         expect=("diagonal tile", "loop bound", "dq", "off by a tile", "start_m"),
         wrong=("scale", "delta", "dk"),
         fails_today=True),
    dict(level=9, file="level9/g_dkdv_lse_no_head_offset.py",
         bug="In the dK/dV kernel the lse of the query rows is read without the (batch, head) offset, so every head "
             "recomputes its probabilities with head 0's log-sum-exp; dK and dV are wrong for all other heads.",
         expect=("lse", "head offset", "batch offset", "bh * s", "wrong head"),
         wrong=("causal mask", "scale", "delta"),
         fails_today=True),
    # ---------------- level 5: causal mask ----------------
    dict(level=5, file="level5/g_diagonal_masked.py",
         bug="The mask uses j >= i instead of j > i, so the diagonal is set to -inf too: a token can no longer look at itself.",
         expect=("diagonal", ">=", "off-by-one", "j > i", "itself"),
         wrong=("head offset", "stride", "in place"),
         fails_today=True),
    dict(level=5, file="level5/g_flat_row_as_query_index.py",
         bug="The query index is taken as the flat row number over all heads instead of row % S, so only the first "
             "head is masked correctly; in the other heads the index is too large and nothing is hidden.",
         expect=("row % s", "query index", "flat row", "head", "global index"),
         wrong=("diagonal", "in place", "column bound"),
         fails_today=True),
    dict(level=5, file="level5/g_writes_into_input.py",
         bug="The output buffer is the input scores themselves, so the kernel overwrites the caller's tensor in place "
             "instead of returning a new one.",
         expect=("in place", "new tensor", "input modified", "overwrite", "alias"),
         wrong=("diagonal", "head offset", "mask"),
         fails_today=True),
    # ---------------- level 3: softmax ----------------
    dict(level=3, file="level3/g_padding_loaded_as_zero.py",
         bug="Lanes past the end of the row are loaded as 0 instead of -inf, so they take part in the max and the sum: "
             "with very negative logits a padding 0 becomes the maximum and the row no longer sums to 1.",
         expect=("padding", "-inf", "other=", "masked lanes", "zero"),
         wrong=("rescale", "row stride", "overflow"),
         fails_today=True),
    dict(level=3, file="level3/g_running_sum_not_rescaled.py",
         bug="When a chunk raises a lane's running maximum, the running sum is not multiplied by exp(m_old - m_new), "
             "so earlier terms measured against a smaller max stay too large and wide rows are normalised wrongly.",
         expect=("rescale", "exp(m - m_new)", "running sum", "online softmax", "alpha"),
         wrong=("padding", "max subtraction", "row stride"),
         fails_today=True),
    dict(level=3, file="level3/g_lanes_merged_without_rescale.py",
         bug="Each lane's partial sum is relative to that lane's own max, but the final total just adds them without "
             "multiplying each by exp(m_lane - M), so the normaliser is wrong and rows no longer sum to 1.",
         expect=("rescale", "combine", "lane max", "exp(m - m_max)", "normaliser"),
         wrong=("padding", "row stride", "overflow"),
         fails_today=True),
    # ---------------- level 8: flash attention ----------------
    dict(level=8, file="level8/g_diagonal_stage_uses_block_n.py",
         bug="The masked causal stage ends at start + BLOCK_N instead of start + BLOCK_M, so the diagonal tile is only "
             "half visited (BLOCK_M = 2 * BLOCK_N): the later rows of each query tile miss their nearest keys.",
         expect=("block_n", "block_m", "loop bound", "diagonal tile", "hi_end"),
         wrong=("alpha", "log2", "padding"),
         fails_today=True),
    dict(level=8, file="level8/g_alpha_inverted.py",
         bug="The rescale factor is exp2(m_new - m_old) instead of exp2(m_old - m_new): the accumulated sum and output "
             "are blown up instead of shrunk when the max grows (inf times 0 on the first tile gives NaN).",
         expect=("alpha", "rescale", "inverted", "m_i - m_new", "sign"),
         wrong=("causal mask", "log2", "loop bound"),
         fails_today=True),
    dict(level=8, file="level8/g_exp2_without_log2e.py",
         bug="The kernel uses exp2 but the wrapper passes the plain scale, without folding in log2(e), so the softmax "
             "is computed at the wrong temperature (2^s instead of e^s): the weights are too flat.",
         expect=("log2", "log2e", "exp2", "qk_scale", "temperature"),
         wrong=("alpha", "causal mask", "padding"),
         fails_today=True),
    # ---------------- level 1: vector add ----------------
    dict(level=1, file="level1/g_block_start_not_scaled.py",
         bug="Each program's first block starts at pid instead of pid * BLOCK_SIZE, so the programs overlap by one element "
             "and most blocks past the first are never written (they keep whatever the empty output held).",
         expect=("pid * block_size", "offset", "block start", "overlap", "not covered"),
         wrong=("mask", "dtype", "grid size"),
         fails_today=True),
    dict(level=1, file="level1/g_output_always_float32.py",
         bug="The output is allocated as float32 whatever the inputs' dtype, so float16 inputs give a float32 result "
             "instead of one in the inputs' dtype.",
         expect=("dtype", "float32", "empty_like", "allocation", "output type"),
         wrong=("mask", "offset", "grid"),
         fails_today=True),
    # ---------------- level 4: attention scores ----------------
    dict(level=4, file="level4/g_explicit_scale_ignored.py",
         bug="The wrapper always sets scale = 1 / sqrt(D), overwriting a scale the caller passed, so every call with an "
             "explicit scale returns scores with the wrong factor.",
         expect=("explicit scale", "scale ignored", "scale=none", "overwrit", "default"),
         wrong=("transpose", "head offset", "mask"),
         fails_today=True),
    dict(level=4, file="level4/g_k_missing_head_offset.py",
         bug="The k tile is loaded without the (batch, head) offset, so every head multiplies its queries by head 0's keys.",
         expect=("head offset", "batch offset", "stride_kh", "bh", "wrong head"),
         wrong=("scale", "transpose", "mask"),
         fails_today=True),
    # ---------------- level 6: naive attention ----------------
    dict(level=6, file="level6/g_softmax_without_max.py",
         bug="The softmax exponentiates the raw scores without subtracting the row maximum, so large logits overflow "
             "exp to inf and the probabilities become NaN.",
         expect=("max", "overflow", "subtract", "stable", "nan"),
         wrong=("causal mask", "scale", "stride"),
         fails_today=True),
    dict(level=6, file="level6/g_mask_ignores_causal_flag.py",
         bug="The causal mask is applied unconditionally (the `if CAUSAL:` guard is gone), so non-causal attention is "
             "computed as causal attention.",
         expect=("causal flag", "if causal", "non-causal", "always masked", "causal=false"),
         wrong=("diagonal", "softmax max", "scale"),
         fails_today=True),
    # ---------------- level 7: fused attention ----------------
    dict(level=7, file="level7/g_acc_not_rescaled.py",
         bug="When the running maximum grows, l is rescaled by alpha but the output accumulator is not, so contributions "
             "of earlier key blocks stay too large relative to the normaliser.",
         expect=("acc", "accumulator", "rescale", "alpha", "online softmax"),
         wrong=("causal mask", "padding", "scale"),
         fails_today=True),
    dict(level=7, file="level7/g_padded_keys_not_masked.py",
         bug="Keys past the end of the sequence are not set to -inf (only the causal mask is applied), so in non-causal "
             "attention the zero-padded keys of the last block get score 0 and a share of the softmax weight.",
         expect=("padding", "j >= s", "padded keys", "-inf", "out of range"),
         wrong=("diagonal", "rescale", "scale"),
         fails_today=True),
]

# correct_g_atomic.py: the author's first level 9 design (dQ added with tl.atomic_add into a zeroed
# float32 buffer), which the checks rejected until atomics counted as kernel writes.
CORRECT = ["level9/correct_g_atomic.py", 
    "level11/correct_g.py",
    "level9/correct_g.py",
    "level5/correct_g.py",
    "level3/correct_g.py",
    "level8/correct_g.py",
    "level1/correct_g.py",
    "level4/correct_g.py",
    "level6/correct_g.py",
    "level7/correct_g.py",
]
