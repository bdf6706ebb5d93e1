"""Blind-written mistakes, levels 2, 3, 4, 8, 9, 10, 11, author r."""

ENTRIES = [
    # level 2
    dict(level=2, file="level2/r_tile_count_wrong_axis.py",
         bug="The flat program id is split into (pid_m, pid_n) with the number of tiles along M instead of along N, "
             "so whenever the tile counts along M and N differ, programs compute the wrong tiles: some tiles of c "
             "are written twice and others never.",
         expect=("program id", "tile index", "pid", "number of tiles along n", "grid decomposition", "tiles along m"),
         wrong=("accumulator dtype", "k tail", "transposed b", "missing scale"),
         fails_today=True),
    dict(level=2, file="level2/r_k_loop_drops_tail.py",
         bug="The K loop runs K // BLOCK_K times instead of cdiv(K, BLOCK_K), so the last partial slice of K is never "
             "accumulated (and for K < BLOCK_K nothing is): the product misses the tail of the inner dimension.",
         expect=("k loop", "cdiv", "inner dimension", "ragged k", "last k block", "k // block_k"),
         wrong=("store mask", "program id", "fp16 accumulator", "row stride"),
         fails_today=True),
    # level 3
    dict(level=3, file="level3/r_pad_lanes_zero.py",
         bug="Lanes past the end of the row are loaded as 0.0 instead of -inf, so each padding lane adds exp(0 - max) "
             "to the row sum (and 0 can win the max): rows whose width is not a power of two come out too small.",
         expect=("padding", "-inf", "other=", "masked lanes", "padded lanes", "out-of-range columns"),
         wrong=("rescale", "exp2", "row stride", "overflow"),
         fails_today=True),
    dict(level=3, file="level3/r_running_sum_not_rescaled.py",
         bug="In the wide-row pass the running sum is not multiplied by exp(m_old - m_new) when the maximum grows, so "
             "terms from earlier blocks stay too large and rows wider than one block get a wrong normaliser.",
         expect=("rescale", "running sum", "online softmax", "exp(m - m_new)", "correction factor", "wide rows"),
         wrong=("padding lanes", "base-2", "row stride", "dtype of the store"),
         fails_today=True),
    dict(level=3, file="level3/r_exp2_without_log2e.py",
         bug="The kernel uses exp2 everywhere without multiplying the exponent by log2(e), so it computes a base-2 "
             "softmax (a softer distribution) instead of the natural-exp softmax.",
         expect=("exp2", "log2(e)", "log2e", "base 2", "base-2", "wrong base"),
         wrong=("padding lanes", "running max initial", "row stride", "overflow of exp"),
         fails_today=True),
    dict(level=3, file="level3/r_max_starts_at_zero.py",
         bug="The running maximum starts at 0 instead of -inf, so for rows whose logits are all very negative the "
             "shift is 0, every exp underflows to 0 and the row becomes 0/0 = NaN.",
         expect=("initial max", "start at -inf", "initialised to 0", "running max", "underflow", "very negative"),
         wrong=("padding lanes", "exp2", "rescale of the sum", "row stride"),
         fails_today=True),
    # level 4
    dict(level=4, file="level4/r_explicit_scale_ignored.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting a scale the caller passes, so only the default "
             "scale gives correct scores.",
         expect=("explicit scale", "scale argument", "scale is ignored", "overwrites scale", "scale=none"),
         wrong=("transposed", "head offset", "mask on keys", "grid size"),
         fails_today=True),
    dict(level=4, file="level4/r_dot_operands_swapped.py",
         bug="The tile is computed as k_tile @ q_tile^T instead of q_tile @ k_tile^T, so each stored tile holds the "
             "transposed scores (key by query) at query-by-key positions.",
         expect=("transposed", "swapped operands", "k @ q", "operand order", "transpose"),
         wrong=("scale", "head offset", "grid", "causal mask"),
         fails_today=True),
    dict(level=4, file="level4/r_grid_batch_only.py",
         bug="The second grid axis is B instead of B*H, so only the first B (batch, head) matrices are computed; the "
             "rest of the output is left uninitialised.",
         expect=("grid", "b * h", "heads not covered", "missing heads", "launch size", "uninitialised"),
         wrong=("scale", "transposed", "key mask", "stride of d"),
         fails_today=True),
    dict(level=4, file="level4/r_key_rows_from_query_tile.py",
         bug="The key tile is loaded with the query-tile row indices (pid_m) instead of the key-tile indices (pid_n), "
             "so every tile column block repeats the diagonal block's keys: only tiles with pid_m == pid_n are right.",
         expect=("pid_n", "key offsets", "key indices", "copy-paste", "key tile", "column tile"),
         wrong=("scale", "grid too small", "transposed tile", "dtype"),
         fails_today=True),
    # level 8
    dict(level=8, file="level8/r_acc_not_rescaled.py",
         bug="When the running max grows, the normaliser l is rescaled by alpha but the output accumulator is not, so "
             "contributions from earlier key tiles keep their old (too large) weight once S spans several tiles.",
         expect=("accumulator", "rescale", "alpha", "acc * alpha", "online softmax", "correction"),
         wrong=("causal mask", "log2", "padding keys", "store mask"),
         fails_today=True),
    dict(level=8, file="level8/r_causal_mask_strict.py",
         bug="The causal mask keeps keys j < i instead of j <= i, so each query is hidden from its own key; the first "
             "query sees no key at all and becomes NaN, the others are wrong.",
         expect=("diagonal", "j <= i", "strict", "off-by-one", "own key", "causal mask"),
         wrong=("rescale", "log2(e)", "scale default", "head stride"),
         fails_today=True),
    dict(level=8, file="level8/r_scale_missing_log2e.py",
         bug="The kernel uses exp2 but the scale passed in is not multiplied by log2(e), so the softmax is taken in "
             "base 2 with the wrong temperature.",
         expect=("log2(e)", "log2e", "exp2", "base 2", "base-2", "qk_scale"),
         wrong=("causal mask", "accumulator rescale", "ragged keys", "head stride"),
         fails_today=True),
    # level 9
    dict(level=9, file="level9/r_dk_scale_missing.py",
         bug="dK is stored without the final multiplication by scale (dK = scale * dS^T Q), so dk is off by a factor of "
             "1/scale while dq and dv are right.",
         expect=("dk", "scale", "missing factor", "dk * scale", "times scale"),
         wrong=("log-sum-exp", "delta", "causal mask", "order of outputs"),
         fails_today=True),
    dict(level=9, file="level9/r_dkdv_lse_natural_log.py",
         bug="In the dK/dV kernel the probabilities are recomputed as exp2(s * scale * log2e - lse) without converting "
             "lse to base 2, so P is wrong there: dk and dv are wrong while dq is right.",
         expect=("lse", "log2", "log2(e)", "base 2", "recomputed probabilities", "log-sum-exp"),
         wrong=("delta", "dk scale", "output order", "diagonal tile"),
         fails_today=True),
    dict(level=9, file="level9/r_dq_skips_diagonal_tile.py",
         bug="For causal attention the dQ kernel's key loop stops at start_m instead of min(start_m + BLOCK_M, S), so "
             "the diagonal key tile is never visited: dq misses the contribution of keys in the query's own tile.",
         expect=("diagonal", "loop bound", "dq", "key loop", "upper bound", "own tile"),
         wrong=("log-sum-exp", "delta", "dk scale", "output order"),
         fails_today=True),
    dict(level=9, file="level9/r_returns_dv_dk_swapped.py",
         bug="The function returns (dq, dv, dk) instead of (dq, dk, dv): both key gradients are computed correctly but "
             "handed back in the wrong order.",
         expect=("order", "swapped", "dk and dv", "return", "returned"),
         wrong=("log-sum-exp", "delta", "scale", "causal mask"),
         fails_today=True),
    # level 10
    dict(level=10, file="level10/r_kv_head_modulo.py",
         bug="The kv head of query head h is computed as h % Hkv instead of h // (Hq // Hkv), so with grouped heads "
             "(1 < Hkv < Hq) query heads read interleaved kv heads instead of their own group's.",
         expect=("kv head", "h // group", "modulo", "head mapping", "group", "h % hkv"),
         wrong=("batch offset", "negative scale", "ragged", "log2"),
         fails_today=True),
    dict(level=10, file="level10/r_kv_row_ignores_batch.py",
         bug="The row of k and v is taken as the kv head alone, without adding b * Hkv, so every batch element reads "
             "the keys and values of batch 0.",
         expect=("batch", "b * hkv", "batch offset", "kv row", "batch 0"),
         wrong=("h // group", "modulo", "negative scale", "ragged keys"),
         fails_today=True),
    dict(level=10, file="level10/r_max_before_scaling.py",
         bug="The running max is taken over the unscaled scores and multiplied by qk_scale afterwards; with a negative "
             "scale that is the smallest scaled score, and masked -inf scores become +inf, so the output turns into "
             "NaN or overflows.",
         expect=("negative scale", "max before scaling", "sign of the scale", "max of unscaled", "+inf"),
         wrong=("kv head", "batch offset", "ragged tile", "padding keys"),
         fails_today=True),
    dict(level=10, file="level10/r_ragged_keys_unmasked.py",
         bug="In the masked tile only the causal condition is applied, not cols < S, so for non-causal attention with a "
             "ragged S the padded keys (loaded as zeros) get score 0 and take part in the softmax.",
         expect=("ragged", "padding keys", "cols < s", "keys past s", "padded keys", "non-causal"),
         wrong=("kv head", "batch offset", "negative scale", "log2"),
         fails_today=True),
    # level 11
    dict(level=11, file="level11/r_block_table_bypassed.py",
         bug="The page of token t is taken as t // page_size directly instead of block_table[b, t // page_size], so the "
             "kernel reads pool pages 0, 1, 2, ... as if the cache were contiguous, i.e. other sequences' pages or garbage.",
         expect=("block table", "block_table", "page table", "physical page", "page lookup", "logical page"),
         wrong=("reduce", "exp2", "gqa group", "tail mask"),
         fails_today=True),
    dict(level=11, file="level11/r_reduce_natural_exp.py",
         bug="The split kernel keeps m in base-2 units, but the reduction weights the pieces with exp(m - M) instead of "
             "exp2(m - M), so sequences split into several pieces are merged with wrong weights.",
         expect=("exp2", "reduce", "merge", "base 2", "weights of the pieces", "log2"),
         wrong=("block table", "page slot", "gqa", "tail tokens"),
         fails_today=True),
    dict(level=11, file="level11/r_tail_scores_not_masked.py",
         bug="Tokens past the end of the piece are masked on load but their scores are not set to -inf, so each padded "
             "lane of the last tile adds exp2(0 - m) to the normaliser: the output is shrunk whenever the length is "
             "not a multiple of the tile.",
         expect=("-inf", "tail", "past seq_len", "padded tokens", "score mask", "normaliser"),
         wrong=("block table", "reduce", "gqa head", "exp base"),
         fails_today=True),
    dict(level=11, file="level11/r_partial_index_drops_kv_head.py",
         bug="The partial results are stored at head index r (the row within the group) instead of hk * group + r, so "
             "with more than one kv head every group writes over the first group's slots and the other heads' "
             "partials are left uninitialised.",
         expect=("head index", "hk * group", "scratch index", "partial", "kv head offset", "group offset",
                 # Right in other words (tenth session): the split programs' store index leaves out the kv head;
                 # and (eleventh) two programs that differ in one id alone store the same elements.
                 "store index does not tell them apart", "store offset does not change with"),
         wrong=("block table", "exp2", "tail mask", "page slot"),
         fails_today=True),
    dict(level=11, file="level11/r_reduce_reads_every_piece.py",
         bug="The reduction merges all num_splits pieces instead of only the first cdiv(seq_len, tokens_per_split), so "
             "pieces that returned early contribute whatever uninitialised values their scratch holds.",
         expect=("unused pieces", "num_splits", "seq_len", "uninitialised", "empty splits", "number of pieces",
                 # Right in other words (tenth session): pieces that stored nothing are read anyway.
                 "read only what was written"),
         wrong=("block table", "base of exp", "gqa head", "page slot"),
         fails_today=True),
]

CORRECT = [
    "level2/correct_r.py",
    "level3/correct_r.py",
    "level4/correct_r.py",
    "level8/correct_r.py",
    "level9/correct_r.py",
    "level10/correct_r.py",
    "level11/correct_r.py",
]
