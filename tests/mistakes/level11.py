"""Level 11 (paged decoding): learner mistakes, as edits of solutions_hidden/level11_paged_decode.py.

The solution's shape is the template's (a split kernel over (b * Hkv + kv head, piece), a reduce
kernel over b * Hq + h, pointer loads through the block table); its extras (autotuning, the piece
size chosen from the GPU) do not matter under the interpreter, so each mistake is its own edits.

They are different bugs from the planted mutants of tests/mutants/level11.py, or the same area written
another way (the mutant replaces the table lookup with b * max_pages + i; here the table is not read
at all, or read at row 0).
"""

from . import Mistake

PAGE_LOOKUP = "page = tl.load(table_row + tokens // PAGE_SIZE, mask=token_ok, other=0)"
SPLIT_ACC = "acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])"
MERGE = "out = tl.sum(weight[:, None] * acc, axis=0) / tl.sum(weight * l, axis=0)"
# Rival diagnoses: the headlines of the planted mutants' bugs (kv head h % Hkv, the scale twice, the
# last token left out, a page number outside the pool) and of a bug in the merge of the splits, for
# mistakes that lie elsewhere. Only phrases that name a cause: a headline may mention the block table
# or seq_len merely to describe the case's inputs.
RIVALS = ("h % Hkv", "twice", "last cached token", "merge", "page number outside the pool")
# The headline for NaN read from the cache's unused slots, wrong for a bug that reads the right tokens.
NOT_OWNED = "does not own"

MISTAKES = [
    Mistake(
        name="page_is_logical_block",
        bug="The page of token t is taken as t // page_size, the logical block number: block_table is never read.",
        expect="block_table[b, t // page_size]",
        wrong=("h % Hkv", "twice", "last cached token", "merge", "rescaled by exp"),
        issue="22",
        edits=((PAGE_LOOKUP, "page = tokens // PAGE_SIZE  # the page of token t"),),
    ),
    Mistake(
        name="table_row_of_sequence_0",
        bug="The block table row is never offset by b * stride_table: every sequence looks its pages up in sequence 0's row.",
        expect="row b",
        wrong=(*RIVALS, "rescaled by exp"),
        issue="22",
        edits=(("table_row = block_table_ptr + b.to(tl.int64) * stride_table", "table_row = block_table_ptr"),),
    ),
    Mistake(
        name="slot_modulo_block_n",
        bug="The slot inside the page is computed as t % BLOCK_N (the tile size) instead of t % page_size.",
        expect="t % page_size",
        wrong=("h % Hkv", "twice", "last cached token", "merge", "rescaled by exp"),
        issue="22",
        edits=(("(tokens % PAGE_SIZE) * stride_slot", "(tokens % BLOCK_N) * stride_slot"),),
    ),
    Mistake(
        name="seq_len_mask_inclusive",
        bug="The token mask is written against seq_len with <= (tokens <= seq_len): the slot just past the sequence's last token (NaN garbage) is attended to.",
        expect="past seq_len",
        wrong=(*RIVALS, "rescaled by exp"),
        issue="22",
        edits=(("token_ok = tokens < end", "token_ok = (tokens < start + tokens_per_split) & (tokens <= seq_len)"),),
    ),
    Mistake(
        name="v_load_unmasked",
        bug="The v load has no mask (the scores are masked, so p is 0 there): the slots past seq_len are read anyway, and NaN garbage times p = 0 is NaN.",
        expect="NaN",
        wrong=(*RIVALS, "rescaled by exp"),
        issue="22",
        edits=(
            (
                "v = tl.load(v_cache_ptr + row[:, None] + dims[None, :], mask=token_ok[:, None], other=0.0)",
                "v = tl.load(v_cache_ptr + row[:, None] + dims[None, :])  # p is 0 where token_ok is False",
            ),
        ),
    ),
    Mistake(
        name="cache_head_of_query_head",
        bug="The cache is indexed with the group's first query head (hk * GROUP) instead of the kv head hk.",
        expect="kv head",
        wrong=(*RIVALS, NOT_OWNED, "rescaled by exp"),
        issue="22",
        edits=(("kv_head = hk * stride_kvh", "kv_head = (hk * GROUP) * stride_kvh"),),
    ),
    Mistake(
        name="partials_indexed_with_hkv",
        bug="The split kernel stores its partials at (b * Hkv + head) instead of (b * Hq + head): the sequences' partials overlap, and the reduction reads slots nobody wrote.",
        # Named from the record: the writer's programs overlap, and all its stores land in a prefix of
        # the buffer, so its offset counts too few heads per sequence.
        expect="steps too little",
        wrong=(*RIVALS, NOT_OWNED),
        issue="22",
        edits=(("partial = (b * (H_KV * GROUP) + heads) * num_splits + piece", "partial = (b * H_KV + heads) * num_splits + piece"),),
    ),
    Mistake(
        name="split_acc_not_rescaled",
        bug="Inside the split kernel acc is not multiplied by alpha when the running max grows from one tile to the next.",
        expect="accumulator",
        wrong=(*RIVALS, NOT_OWNED),
        issue="22",
        edits=((SPLIT_ACC, "acc = tl.dot(p.to(v.dtype), v, acc)"),),
    ),
    Mistake(
        name="merge_l_not_rescaled",
        bug="The reduction rescales the partial accumulators by exp2(m_p - M) but sums the partial normalisers l_p unweighted.",
        expect="normaliser",
        wrong=("h % Hkv", "twice", "last cached token", "page number outside the pool", NOT_OWNED),
        issue="22",
        edits=((MERGE, "out = tl.sum(weight[:, None] * acc, axis=0) / tl.sum(l, axis=0)"),),
    ),
    Mistake(
        name="scale_ignored",
        bug="The wrapper passes LOG2E alone as qk_scale: the scale (1 / sqrt(D), or the explicit one) is never applied.",
        expect="scale",
        wrong=(*RIVALS, NOT_OWNED),
        issue="22",
        edits=(("scale * LOG2E, H_kv, num_splits, tokens_per_split,", "LOG2E, H_kv, num_splits, tokens_per_split,"),),
    ),
    Mistake(
        name="padding_scored_zero",
        bug="The scores of tokens past the end are never set to -inf: their keys load as 0 (masked), score 0, and exp(0 - m) joins the normaliser.",
        expect="scored 0 instead of -inf",
        wrong=(*RIVALS, NOT_OWNED, "rescaled by exp"),
        issue="22",
        edits=(('s = tl.where(token_ok[None, :], tl.dot(q, tl.trans(k)) * qk_scale, float("-inf"))', "s = tl.dot(q, tl.trans(k)) * qk_scale"),),
    ),
    Mistake(
        name="page_looked_up_per_tile",
        bug="The page is looked up once per tile, at its first token: the tile's tokens in the next pages read the first page's slots.",
        expect="once per tile",
        wrong=(*RIVALS, NOT_OWNED, "rescaled by exp"),
        issue="22",
        edits=((PAGE_LOOKUP, "page = tl.load(table_row + t0 // PAGE_SIZE + tokens * 0, mask=token_ok, other=0)"),),
    ),
]
