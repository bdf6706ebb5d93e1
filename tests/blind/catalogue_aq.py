"""Blind-written mistakes, levels 11, 1, 6, author aq."""

ENTRIES = [
    dict(level=11, file="level11/aq_kv_head_modulo.py",
         bug="The kv head of query head h is taken as h % Hkv instead of h // (Hq // Hkv), so with GQA groups "
             "most query heads attend to another group's keys and values.",
         expect=("kv head", "head mapping", "h // group", "modulo", "group of query heads", "interleaved"),
         wrong=("page table", "online softmax rescale", "exp2", "tail mask"),
         fails_today=True),
    dict(level=11, file="level11/aq_tail_scores_not_masked.py",
         bug="Tokens past the end of the sequence in the last tile are loaded as 0 but their score is never set "
             "to -inf, so each contributes exp(0 - m) to the normaliser and the output is shrunk.",
         expect=("-inf", "masked score", "past the end", "seq_len", "padding tokens", "tail"),
         wrong=("kv head", "log2e", "block table row", "rescale of the accumulator"),
         fails_today=True),
    dict(level=11, file="level11/aq_acc_not_rescaled.py",
         bug="In the online softmax of the split kernel the accumulator is not multiplied by alpha = exp2(m_old - m_new) "
             "when the running max grows, so earlier tiles keep too much weight in every piece longer than one tile.",
         expect=("rescale", "alpha", "accumulator", "running max", "correction factor"),
         wrong=("kv head", "page table", "mask", "log2e"),
         fails_today=True),
    dict(level=11, file="level11/aq_merge_denominator_unweighted.py",
         bug="The reduce kernel weights each piece's accumulator by exp2(m_p - M) but sums the normalisers l_p "
             "unweighted, so the denominator is wrong whenever the pieces have different maxima.",
         expect=("denominator", "normaliser", "weight", "sum of l", "merge", "reduce"),
         wrong=("kv head", "tail mask", "block table", "log2e"),
         fails_today=True),
    dict(level=11, file="level11/aq_missing_log2e.py",
         bug="The softmax is computed with exp2 but the score scale is passed without the log2(e) factor, "
             "so it is effectively a softmax at the wrong temperature (base 2 instead of e).",
         expect=("log2e", "log2(e)", "exp2", "base", "temperature", "qk_scale"),
         wrong=("kv head", "mask", "block table", "accumulator rescale"),
         fails_today=True),
    dict(level=1, file="level1/aq_grid_floor_division.py",
         bug="The grid is length // CHUNK (floor) instead of a ceiling division, so the last partial block is never "
             "computed and those output elements stay uninitialised.",
         expect=("grid", "ceil", "cdiv", "floor", "last block", "number of programs"),
         wrong=("mask", "dtype", "pointer offset", "stride"),
         fails_today=True),
    dict(level=1, file="level1/aq_offset_missing_block_size.py",
         bug="The block start is program_id alone instead of program_id * CHUNK, so programs overlap by one element "
             "each and everything past the first CHUNK + grid elements is never written.",
         expect=("block size", "program_id *", "block start", "offset", "overlap", "pid * block"),
         wrong=("mask", "grid size", "dtype", "ceil"),
         fails_today=True),
    dict(level=6, file="level6/aq_causal_masks_diagonal.py",
         bug="The causal mask uses j >= i instead of j > i, so every query also hides its own key; query 0 sees no "
             "key at all and its row of the softmax becomes NaN.",
         expect=("diagonal", ">=", "off-by-one", "own key", "j > i", "causal mask"),
         wrong=("max subtraction", "overflow", "head offset", "scale"),
         fails_today=True),
    dict(level=6, file="level6/aq_softmax_no_max_subtraction.py",
         bug="The softmax exponentiates the raw scores without subtracting the row maximum, so large logits "
             "overflow to inf and the probabilities become NaN.",
         expect=("row max", "maximum", "overflow", "subtract", "numerical stability", "large logits"),
         wrong=("causal mask", "diagonal", "head offset", "stride"),
         fails_today=True),
    dict(level=6, file="level6/aq_pv_probs_head_offset_missing.py",
         bug="The P @ V kernel forgets the per-head offset of the probabilities buffer, so every head multiplies "
             "head 0's attention weights with its own values.",
         expect=("head offset", "per-head", "batch offset", "probs pointer", "head 0", "bh offset"),
         wrong=("causal mask", "row max", "overflow", "scale"),
         fails_today=True),
]

CORRECT = ["level11/correct_aq.py", "level1/correct_aq.py", "level6/correct_aq.py"]
