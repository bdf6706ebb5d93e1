"""Blind-written mistakes, levels 11, 10 and 3, author y."""

ENTRIES = [
    # ---------------------------------------------------------------- level 11
    dict(level=11, file="level11/y_slot_without_modulo.py",
         bug="The slot inside the page is taken as the token index itself instead of token % page_size, "
             "so every token past the first page of a sequence is read from the wrong place (beyond its "
             "page, into other pages' garbage) and the result is wrong or NaN.",
         expect=("modulo", "% page_size", "slot", "within the page", "offset inside the page"),
         wrong=("kv head", "exp2", "rescale", "reduction"),
         fails_today=True),
    dict(level=11, file="level11/y_group_heads_interleaved.py",
         bug="The query heads of a kv head's group are taken as r * Hkv + hk (interleaved) instead of the "
             "consecutive heads hk * group + r, so query heads attend to the wrong kv head whenever "
             "1 < Hkv < Hq.",
         expect=("group", "consecutive", "kv head", "head mapping", "h // group"),
         wrong=("page table", "slot", "mask", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/y_no_score_mask.py",
         bug="The scores of tokens past the end of the piece are not set to -inf; the masked key load "
             "makes them 0, so those non-existent tokens still get softmax weight exp(0 - m) and inflate "
             "the normaliser, shrinking the output.",
         expect=("-inf", "tl.where", "score mask", "masked scores", "past the end"),
         wrong=("block table", "kv head", "log2", "stride"),
         fails_today=True),
    dict(level=11, file="level11/y_scale_missing_log2e.py",
         bug="The kernels use exp2 but the launcher passes the plain scale instead of scale * log2(e), "
             "so the softmax is computed with the wrong temperature (too flat).",
         expect=("log2e", "log2(e)", "exp2", "base 2", "qk_scale"),
         wrong=("page", "mask", "kv head", "block table"),
         fails_today=True),
    dict(level=11, file="level11/y_acc_not_rescaled.py",
         bug="In the online softmax of the split kernel the accumulator is not multiplied by "
             "alpha = exp2(m_old - m_new) when the running max grows, so earlier tiles keep too large a "
             "weight.",
         expect=("alpha", "rescale", "accumulator", "acc", "running max"),
         wrong=("page", "slot", "kv head", "block table"),
         fails_today=True),
    dict(level=11, file="level11/y_merge_l_unweighted.py",
         bug="The reduce kernel weights each piece's accumulator by exp2(m_p - M) but adds the pieces' "
             "normalisers l unweighted, so the denominator is wrong whenever pieces have different maxima.",
         expect=("normaliser", "denominator", "weight", "reduce", "merge"),
         wrong=("page", "slot", "kv head", "tl.where"),
         fails_today=True),
    dict(level=11, file="level11/y_page_index_piece_relative.py",
         bug="The block-table column is computed from the token's position inside the piece "
             "((t - piece_start) // page_size) instead of its position in the sequence, so every piece "
             "after the first re-reads the sequence's first pages instead of its own.",
         # The last phrase added (ninth session) when a right headline said it so.
         expect=("block table", "page index", "piece start", "logical page", "absolute token", "place inside its split"),
         wrong=("kv head", "exp2", "rescale", "dtype"),
         fails_today=True),
    dict(level=11, file="level11/y_token_mask_off_by_one.py",
         bug="The token mask is t <= end instead of t < end, so one extra token per piece is loaded and "
             "scored: the garbage slot just past seq_len (possibly NaN), or the first token of the next "
             "piece counted twice.",
         expect=("off by one", "off-by-one", "<=", "one extra token", "seq_len"),
         wrong=("kv head", "log2", "rescale", "stride"),
         fails_today=True),
    # ---------------------------------------------------------------- level 10
    dict(level=10, file="level10/y_kv_head_modulo.py",
         bug="The kv head is computed as h % Hkv instead of h // (Hq // Hkv), so query heads are spread "
             "round-robin over the kv heads and most of them attend with another group's keys and values.",
         expect=("h // group", "kv head", "modulo", "head mapping", "integer division"),
         wrong=("causal", "rescale", "log2", "ragged"),
         fails_today=True),
    dict(level=10, file="level10/y_causal_diagonal_hidden.py",
         bug="The causal mask keeps only keys j < i instead of j <= i, hiding each query's own key: the "
             "output is shifted and the first row (no visible key) becomes NaN.",
         expect=("diagonal", "j <= i", "<=", "off by one", "causal mask"),
         wrong=("kv head", "log2", "rescale", "batch offset"),
         fails_today=True),
    dict(level=10, file="level10/y_l_not_rescaled.py",
         bug="The running normaliser l is not multiplied by alpha when the running max grows, while the "
             "accumulator is, so the final division uses a too-large denominator.",
         expect=("normaliser", "l_i", "alpha", "rescale", "running sum"),
         wrong=("kv head", "causal", "ragged", "stride"),
         fails_today=True),
    dict(level=10, file="level10/y_ragged_key_tail_dropped.py",
         bug="Without the causal mask the key loop stops at the last full tile (S // BLOCK_N * BLOCK_N), "
             "so the last S % BLOCK_N keys are never attended (and S < BLOCK_N gives no keys at all, NaN).",
         # The last phrase added (ninth session) when a right headline said it so.
         expect=("ragged", "last tile", "tail", "loop bound", "remaining keys", "partial tile of keys is never visited"),
         wrong=("kv head", "log2", "rescale", "diagonal"),
         fails_today=True),
    dict(level=10, file="level10/y_q_loaded_from_kv_head.py",
         bug="The query tile is loaded from the kv head's offset (b * Hkv + hk) instead of its own query "
             "head (b * Hq + h), so every head of a group uses the same, wrong query rows.",
         # The last phrase added (ninth session) when a right headline said it so.
         expect=("query offset", "query head", "q pointer", "q is loaded", "bhq", "head offset of `q`"),
         wrong=("causal", "log2", "rescale", "ragged"),
         fails_today=True),
    # ---------------------------------------------------------------- level 3
    dict(level=3, file="level3/y_padding_lanes_zero.py",
         bug="Padding lanes of the single-block kernel are loaded as 0 instead of -inf, so they count in "
             "the sum (and win the max for all-negative rows): every real probability comes out too small.",
         expect=("-inf", "padding", "other=", "padded lanes", "masked lanes"),
         wrong=("overflow", "rescale", "row stride", "last block"),
         fails_today=True),
    dict(level=3, file="level3/y_max_not_subtracted.py",
         bug="The single-block kernel exponentiates the raw logits without subtracting the row maximum, "
             "so large logits overflow to inf and the row becomes NaN (tiny ones underflow to 0/0).",
         expect=("row max", "subtract the max", "overflow", "stable", "maximum"),
         wrong=("padding", "rescale", "row stride", "last block"),
         fails_today=True),
    dict(level=3, file="level3/y_running_sum_not_rescaled.py",
         bug="In the wide-row pass 1 the running sum is not multiplied by exp(m_old - m_new) when a block "
             "raises the max, so terms from earlier blocks are too large and the outputs too small.",
         expect=("rescale", "running sum", "exp(m - m_new)", "online softmax", "correction"),
         wrong=("padding", "overflow", "row stride", "last block"),
         fails_today=True),
    dict(level=3, file="level3/y_last_chunk_skipped.py",
         bug="The wide-row loops run to (N // BLOCK) * BLOCK, so the final partial block is skipped: its "
             "values are missing from the max and the sum, and its outputs are never written.",
         expect=("last block", "partial block", "floor", "cdiv", "loop bound"),
         wrong=("padding", "overflow", "rescale", "row stride"),
         fails_today=True),
]

CORRECT = ["level11/correct_y.py", "level10/correct_y.py", "level3/correct_y.py"]
