"""Blind-written mistakes, levels 10 and 11, author ad."""

ENTRIES = [
    # ---- level 11: paged decode ----
    dict(level=11, file="level11/ad_block_table_row_ignored.py",
         bug="The block-table pointer never adds the sequence's row offset (b * stride), so every sequence looks up "
             "its pages in row 0: sequences other than the first attend to another sequence's (or garbage) pages.",
         expect=("block table row", "row offset", "block_table stride", "every sequence reads sequence 0",
                 "stride_table",
                 # Right in other words (tenth session).
                 "row 0 of the block table"),
         wrong=("slot offset", "head mapping", "online softmax rescale", "reduce weights"),
         fails_today=True),
    dict(level=11, file="level11/ad_v_load_unmasked.py",
         bug="The value tile is loaded without the token mask, so slots past seq_len bring garbage (NaN) into the "
             "p @ v product; their zero probabilities cannot cancel a NaN, and the output turns NaN.",
         expect=("v load", "value load", "unmasked", "mask on v", "nan * 0", "missing mask"),
         wrong=("block table row", "exp base", "scale", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/ad_scores_times_mask.py",
         bug="Tokens past the end are disabled by multiplying their scores by 0 instead of setting them to -inf, "
             "so they keep weight exp(0 - m) in the softmax and dilute the real tokens' attention.",
         expect=("-inf", "tl.where", "multiplied by the mask", "score 0", "masked scores", "instead of -inf"),
         wrong=("block table row", "head mapping", "reduce exp", "row stride"),
         fails_today=True),
    dict(level=11, file="level11/ad_group_rows_interleaved.py",
         bug="The query heads of a kv head's group are taken as hk + r * Hkv (interleaved) instead of "
             "hk * group + r, so query head h is paired with kv head h % Hkv instead of h // group.",
         expect=("head mapping", "h // group", "interleaved", "modulo", "query group", "kv head"),
         wrong=("block table", "page index", "tail mask", "exp base"),
         fails_today=True),
    dict(level=11, file="level11/ad_merge_natural_exp.py",
         bug="The reduce kernel weights the pieces with exp(m - M) although m was kept in base 2, so the pieces "
             "are merged with the wrong relative weights whenever a sequence spans several pieces.",
         expect=("exp2", "base 2", "exp base", "natural exp", "merge weight", "log2"),
         wrong=("block table", "tail mask", "head mapping", "page index"),
         fails_today=True),
    dict(level=11, file="level11/ad_last_piece_dropped.py",
         bug="The reduce kernel counts the used pieces as seq_len // tokens_per_split (floor) instead of ceil, "
             "so the last, partly filled piece is ignored (and a short sequence has no piece at all: NaN).",
         expect=("ceil", "cdiv", "last piece", "floor", "number of pieces", "last split"),
         wrong=("head mapping", "exp base", "block table row", "score mask"),
         fails_today=True),
    dict(level=11, file="level11/ad_page_from_piece_offset.py",
         bug="The page is looked up with the token's offset inside its piece, (t - start) // page_size, instead "
             "of its absolute index t // page_size, so every piece after the first reads the sequence's first pages.",
         expect=("page index", "absolute token", "piece offset", "t // page_size", "wrong page", "relative offset"),
         wrong=("head mapping", "exp base", "reduce", "scale"),
         fails_today=True),
    dict(level=11, file="level11/ad_sum_not_rescaled.py",
         bug="The running normaliser l is not multiplied by alpha = exp2(m_old - m_new) when the max grows, "
             "while acc is, so l overcounts earlier tiles and the outputs are too small.",
         expect=("rescale", "alpha", "normaliser", "denominator", "running sum", "correction factor"),
         wrong=("block table", "head mapping", "tail mask", "page index"),
         fails_today=True),
    # ---- level 10: GQA attention ----
    dict(level=10, file="level10/ad_kv_head_modulo.py",
         bug="The kv head of query head h is computed as h % Hkv instead of h // group, so query heads are "
             "spread round-robin over kv heads and most read another group's keys and values.",
         expect=("h // group", "modulo", "head mapping", "kv head", "round-robin", "group"),
         wrong=("batch offset", "causal mask", "scale", "exp base"),
         fails_today=True),
    dict(level=10, file="level10/ad_kv_row_batch_dropped.py",
         bug="The row of k and v is just the kv head index, without the batch term b * Hkv, so every batch "
             "element attends to batch 0's keys and values.",
         expect=("batch offset", "batch", "b * hkv", "kv row", "batch term"),
         wrong=("head mapping modulo", "causal mask", "exp base", "scale"),
         fails_today=True),
    dict(level=10, file="level10/ad_correction_inverted.py",
         bug="The online-softmax correction is exp2(m_new - m_old) instead of exp2(m_old - m_new); on the first "
             "tile it is exp2(+inf), and acc and l become inf/NaN.",
         expect=("alpha", "correction", "rescale", "m_old - m_new", "inverted", "sign"),
         wrong=("head mapping", "batch offset", "causal mask", "log2(e)"),
         fails_today=True),
    dict(level=10, file="level10/ad_running_max_zero_init.py",
         bug="The running max starts at 0 instead of -inf, so the shift is max(0, rowmax): exact in theory, "
             "but a row whose scaled scores are all very negative underflows to l = 0 and gives NaN.",
         expect=("-inf", "initial", "running max", "underflow", "init"),
         wrong=("head mapping", "batch offset", "causal mask", "exp base"),
         fails_today=False),
    dict(level=10, file="level10/ad_noncausal_stops_at_diagonal.py",
         bug="The causal key bounds are used even when causal=False, so non-causal queries only see keys up to "
             "the end of their own query tile and miss all later keys.",
         expect=("non-causal", "causal flag", "loop bound", "later keys", "key range", "hi_end",
         # Right in other words (tenth session).
         "keys after each query tile are never visited"),
         wrong=("head mapping", "batch offset", "exp base", "scale"),
         fails_today=True),
    dict(level=10, file="level10/ad_natural_exp_with_log2e.py",
         bug="The scores are pre-multiplied by log2(e) but the kernel uses tl.exp instead of tl.exp2, so the "
             "softmax is taken at a temperature 1.44 times too sharp.",
         expect=("exp2", "exp base", "log2", "base 2", "natural exp"),
         wrong=("head mapping", "batch offset", "causal mask", "rescale"),
         fails_today=True),
    dict(level=10, file="level10/ad_explicit_scale_ignored.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting a scale passed by the caller, so an explicit "
             "(or negative) scale is not honoured.",
         expect=("explicit scale", "scale ignored", "scale argument", "overwrit", "1/sqrt(d)"),
         wrong=("head mapping", "batch offset", "causal mask", "exp base"),
         fails_today=True),
]

CORRECT = ["level11/correct_ad.py", "level10/correct_ad.py"]
