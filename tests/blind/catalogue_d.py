"""Blind-written mistakes, levels 8, 10 and 11, fourth author (tuning corpus)."""

ENTRIES = [
    # ---------------- level 8: flash attention ----------------
    dict(level=8, file="level8/running_max_not_returned.py",
         bug="attend_block returns the old running max m_i instead of m_new, so m stays -inf across tiles: "
             "every tile's alpha is 0 and throws away all earlier tiles, leaving only the last key tile.",
         expect=("m_new", "running max", "return", "never updated", "only the last"),
         wrong=("causal mask", "log2(e)", "head offset"),
         fails_today=True),
    dict(level=8, file="level8/noncausal_stage1_cdiv.py",
         bug="In the non-causal case stage 1 ends at cdiv(S, BLOCK_N) * BLOCK_N instead of (S // BLOCK_N) * "
             "BLOCK_N, so the ragged last key tile goes through the unmasked path and reads keys past S.",
         expect=("ragged", "unmasked", "past s", "last key tile", "s // block_n"),
         wrong=("rescale", "log2(e)", "causal mask"),
         fails_today=True),
    dict(level=8, file="level8/l_not_rescaled.py",
         bug="The normaliser is updated as l = l + rowsum(p), without multiplying the old l by alpha, so the "
             "sum from earlier tiles stays measured against the old max while acc is rescaled.",
         expect=("rescale", "alpha", "normaliser", "l_i", "running sum"),
         wrong=("causal mask", "log2(e)", "head offset"),
         fails_today=True),
    dict(level=8, file="level8/stage2_called_unmasked.py",
         bug="The second attend_keys call (the diagonal or ragged tile) is passed MASKED=False, copied from "
             "the first call, so that tile gets neither the causal mask nor the padding mask (j >= S).",
         expect=("masked=false", "stage 2", "diagonal", "no mask", "future keys"),
         wrong=("rescale", "log2(e)", "head offset"),
         fails_today=True),
    dict(level=8, file="level8/padding_mask_only_causal.py",
         bug="The masked stage only applies the causal mask j <= i; keys past S are never set to -inf, so in "
             "non-causal attention with ragged S the zero-padded keys get score 0 and add weight to l.",
         expect=("padding", "cols < s", "keys past s", "ragged", "non-causal"),
         wrong=("rescale", "log2(e)", "diagonal"),
         fails_today=True),

    # ---------------- level 10: grouped-query attention ----------------
    dict(level=10, file="level10/group_from_hkv.py",
         bug="The kv head is computed as h // Hkv instead of h // (Hq // Hkv), dividing by the number of kv "
             "heads rather than the group size, so query heads read the wrong (or another batch's) kv head.",
         expect=("h // group", "group size", "kv head", "h // hkv", "divid"),
         wrong=("causal mask", "rescale", "log2(e)"),
         fails_today=True),
    dict(level=10, file="level10/causal_mask_local_rows.py",
         bug="The causal mask compares key indices with the row's index inside the tile (tl.arange(0, BLOCK_M)) "
             "instead of its absolute position start_m * BLOCK_M + i, so every query tile after the first "
             "masks the wrong keys on the diagonal.",
         expect=("absolute", "local row", "start_m", "row index", "causal mask"),
         wrong=("kv head", "log2(e)", "rescale"),
         fails_today=True),
    dict(level=10, file="level10/ragged_tail_skipped.py",
         bug="In the non-causal case stage 2 is empty (hi_end = lo_end), so when S is not a multiple of "
             "BLOCK_N the keys of the ragged last tile are never visited.",
         expect=("ragged", "last tile", "never visited", "hi_end", "tail"),
         wrong=("kv head", "causal mask", "log2(e)"),
         fails_today=True),
    dict(level=10, file="level10/v_from_k_pointer.py",
         bug="A copy-paste slip in the masked stage loads the value tile from k's pointer, so the diagonal or "
             "ragged tile accumulates p @ k instead of p @ v.",
         expect=("copy-paste", "v from k", "k_base", "value tile", "wrong pointer"),
         wrong=("kv head", "causal mask", "log2(e)"),
         fails_today=True),

    # ---------------- level 11: paged decoding ----------------
    dict(level=11, file="level11/end_not_clipped.py",
         bug="The piece's end is start + tokens_per_split, not cut at seq_len, so the last piece reads the "
             "garbage tokens past the end of the sequence (and page-table entries beyond the real pages).",
         expect=("seq_len", "past the end", "garbage", "end of the piece", "not clipped"),
         wrong=("kv head", "exp2", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/kv_head_offset_missing.py",
         bug="The key and value addresses leave out hk * stride_kvh, so every query group reads kv head 0 of "
             "the cache instead of its own kv head.",
         expect=("kv head", "stride_kvh", "head offset", "hk"),
         wrong=("block table", "slot", "reduce"),
         fails_today=True),
    dict(level=11, file="level11/reduce_without_global_max.py",
         bug="The reduce kernel weights each piece by exp2(m_p) instead of exp2(m_p - M), forgetting to "
             "subtract the max over pieces, so large (or very negative) logits overflow or underflow.",
         expect=("global max", "subtract", "m - m", "overflow", "max over pieces"),
         wrong=("block table", "kv head", "slot"),
         fails_today=True),
    dict(level=11, file="level11/partial_store_without_piece.py",
         bug="The split kernel stores its partial m, l and acc at (b * Hq + head) * num_splits without "
             "adding the piece index, so every piece overwrites slot 0 and the other slots stay uninitialised.",
         expect=("piece index", "overwrit", "scratch index", "+ piece", "uninitiali"),
         wrong=("block table", "exp2", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/seq_len_by_program.py",
         bug="The split kernel reads seq_lens[program_id(0)], i.e. at b * Hkv + hk, instead of seq_lens[b], "
             "so with more than one kv head the sequences get each other's lengths.",
         expect=("seq_lens[b]", "sequence length", "program id", "wrong length", "b * hkv"),
         wrong=("block table", "slot", "exp2"),
         fails_today=True),
]

CORRECT = ["level8/correct_d.py", "level10/correct_d.py", "level11/correct_d.py"]
