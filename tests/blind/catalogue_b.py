"""Blind-written mistakes, levels 8, 10 and 11 (tuning corpus)."""

ENTRIES = [
    # ---------------- level 8: causal flash attention ----------------
    dict(level=8, file="level8/causal_strict_diagonal.py",
         bug="The causal mask keeps keys with j < i instead of j <= i, so every query hides its own key; "
             "row 0 then sees no key at all and comes out NaN.",
         expect=("diagonal", "j <= i", "own key", "off by one", "strict"),
         wrong=("rescale", "log2(e)", "head offset"),
         fails_today=True),
    dict(level=8, file="level8/acc_not_rescaled.py",
         bug="When the running max grows, l is multiplied by alpha but the accumulator is not, so earlier "
             "key tiles keep their weight measured against the old max.",
         expect=("rescale", "alpha", "accumulator"),
         wrong=("causal mask", "log2(e)", "normalis"),
         fails_today=True),
    dict(level=8, file="level8/scale_without_log2e.py",
         bug="The kernel computes exp2, but the wrapper passes the plain scale without folding log2(e) "
             "into it: the softmax runs at the wrong temperature (every score multiplied by ln 2).",
         expect=("log2(e)", "log2e", "exp2", "base 2", "qk_scale"),
         wrong=("rescale", "causal mask", "head offset"),
         fails_today=True),
    dict(level=8, file="level8/diagonal_stage_block_n.py",
         bug="Causal stage 2 stops at start_m * BLOCK_M + BLOCK_N instead of (start_m + 1) * BLOCK_M, so only "
             "the first key tile of the diagonal block is visited; the later keys a row should see are skipped.",
         expect=("diagonal tile", "block_n", "skipped", "never visited", "hi_end"),
         wrong=("rescale", "padding", "head offset"),
         fails_today=True),
    dict(level=8, file="level8/grid_heads_only.py",
         bug="The grid's second axis is H instead of B * H, so only the heads of the first batch get a "
             "program and the output of every other batch is never written.",
         expect=("batch", "grid", "never written", "b * h", "nobody wrote"),
         wrong=("causal mask", "rescale", "log2(e)"),
         fails_today=True),
    dict(level=8, file="level8/running_max_init_zero.py",
         bug="The running max starts at 0 instead of -inf; exact for ordinary scores, but when every score "
             "of a row is very negative exp2(s - 0) underflows, l stays 0 and the row is NaN.",
         expect=("-inf", "initial", "running max", "underflow", "m_i"),
         wrong=("causal mask", "rescale", "log2(e)"),
         fails_today=True),

    # ---------------- level 10: grouped-query attention ----------------
    dict(level=10, file="level10/kv_head_modulo.py",
         bug="The kv head is taken as h % Hkv, as if query heads were dealt out round-robin, instead of "
             "h // group: consecutive query heads share a kv head.",
         expect=("h // group", "kv head", "modulo", "interleav"),
         wrong=("batch offset", "causal mask", "rescale"),
         fails_today=True),
    dict(level=10, file="level10/kv_row_batch_times_hq.py",
         bug="The k/v row is b * Hq + hk: the batch is stepped in query heads, but one batch of k and v "
             "holds only Hkv heads, so every batch after the first reads the wrong (or no) keys.",
         expect=("b * h_kv", "kv row", "batch offset", "batch stride", "h_q"),
         wrong=("h // group", "causal mask", "rescale"),
         fails_today=True),
    dict(level=10, file="level10/max_before_scale.py",
         bug="The running max is taken over the unscaled scores (masked to -inf) and multiplied by the scale "
             "afterwards; with a negative scale that is the smallest score and -inf becomes +inf, giving NaN.",
         expect=("negative scale", "max before", "unscaled", "smallest", "+inf"),
         wrong=("kv head", "padding", "batch offset"),
         fails_today=True),
    dict(level=10, file="level10/padding_keys_not_masked.py",
         bug="In the ragged last key tile the loads are masked with other=0 but the scores of keys >= S are "
             "never set to -inf, so in non-causal attention the padding keys score 0 and dilute the softmax.",
         expect=("padding", "j >= s", "ragged", "tail", "keys past"),
         wrong=("kv head", "rescale", "negative scale"),
         fails_today=True),
    dict(level=10, file="level10/output_float32.py",
         bug="The output is allocated as float32 whatever q's dtype, so a float16 call returns float32 "
             "instead of q's dtype.",
         expect=("dtype", "float32", "fp16", "float16"),
         wrong=("kv head", "rescale", "causal mask"),
         fails_today=True),

    # ---------------- level 11: paged decoding ----------------
    dict(level=11, file="level11/slot_without_modulo.py",
         bug="The offset inside the page uses t instead of t % page_size, so every token past the first "
             "page reads beyond its page (another page's slots or past the pool).",
         expect=("slot", "% page_size", "within the page", "modulo"),
         wrong=("block table row", "kv head", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/block_table_no_row.py",
         bug="The block table is read at t // page_size without the row offset b * stride_table, so every "
             "sequence walks the pages of sequence 0.",
         expect=("block table", "block_table", "row b", "stride_table", "sequence 0"),
         wrong=("slot", "kv head", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/group_heads_interleaved.py",
         bug="The query heads served by kv head hk are taken as r * Hkv + hk (strided) instead of "
             "hk * group + r, so query heads are paired with the wrong kv head.",
         expect=("kv head", "hk * group", "group", "interleav"),
         wrong=("block table", "slot", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/reduce_natural_exp.py",
         bug="The reduce kernel weights the pieces with exp(m - M), but m was kept in log2 units by the "
             "split kernel, so the merge must use exp2.",
         expect=("exp2", "log2", "base 2", "natural exp"),
         wrong=("block table", "kv head", "tail mask"),
         fails_today=True),
    dict(level=11, file="level11/reduce_reads_all_pieces.py",
         bug="The reduce kernel merges all num_splits pieces, including the pieces past the sequence whose "
             "program returned early and never wrote its partials (uninitialised scratch).",
         expect=("nobody wrote", "never wrote", "unused piece", "uninitiali", "torch.empty"),
         wrong=("block table", "slot", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/values_unmasked.py",
         bug="v is loaded without the token mask, trusting p = 0 to cancel the garbage past seq_len; but the "
             "garbage may be NaN and NaN * 0 is NaN.",
         expect=("nan * 0", "garbage", "unmasked", "v load", "mask the v"),
         wrong=("block table", "kv head", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/num_splits_in_pages.py",
         bug="num_splits is computed as cdiv(max_pages, TOKENS_PER_SPLIT), counting pages where tokens are "
             "meant, so too few pieces are launched and the tokens after the first piece are never visited.",
         expect=("num_splits", "number of splits", "tokens past", "never visited", "pages instead of tokens"),
         wrong=("block table", "slot", "exp2", "kv head"),
         fails_today=True),
]

CORRECT = ["level8/correct.py", "level10/correct.py", "level11/correct.py"]
