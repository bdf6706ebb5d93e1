"""Blind-written mistakes, levels 11, author al."""

ENTRIES = [
    dict(level=11, file="level11/al_page_lookup_piece_local.py",
         bug="The block-table index and the slot are computed from the token's position inside its piece "
             "(t - start) instead of its position in the sequence, so every piece after the first re-reads "
             "the sequence's first pages and wrong slots instead of its own keys and values.",
         expect=("piece offset", "logical page", "block table index", "position in the sequence",
                 "absolute token", "t // page_size"),
         wrong=("kv head", "exp2", "scale", "uninitialised scratch"),
         fails_today=True),
    dict(level=11, file="level11/al_swapped_slot_head_strides.py",
         bug="The slot stride and the kv-head stride of the cache are passed in swapped order, so token "
             "addresses step by one head (D elements) per slot and by a whole slot per kv head: the keys "
             "and values read belong to the wrong tokens and heads whenever Hkv > 1.",
         expect=("stride", "swapped", "slot stride", "head stride", "cache layout"),
         wrong=("block table", "online softmax", "merge", "log2"),
         fails_today=True),
    dict(level=11, file="level11/al_interleaved_head_group.py",
         bug="The query heads of kv head hk are taken as r * Hkv + hk (interleaved) instead of the "
             "contiguous group hk * group + r, so query heads attend to the wrong kv head and results are "
             "written to the wrong heads when 1 < Hkv < Hq.",
         expect=("kv head", "head mapping", "group", "h // (hq // hkv)", "interleaved", "gqa"),
         wrong=("page", "seq_len", "exp2", "scratch"),
         fails_today=True),
    dict(level=11, file="level11/al_mask_off_by_one.py",
         bug="The token mask is t <= end instead of t < end, so the slot just past the sequence's last "
             "token (garbage, possibly NaN) is loaded and scored, corrupting or NaN-ing the output of "
             "ragged sequences.",
         expect=("off-by-one", "off by one", "<=", "past seq_len", "mask", "one extra token"),
         wrong=("scale", "kv head", "merge weights", "stride"),
         fails_today=True),
    dict(level=11, file="level11/al_v_load_unmasked.py",
         bug="The values tile is loaded without a mask, so tokens past seq_len bring garbage (NaN) values; "
             "their probability is 0 but 0 * NaN = NaN, so the accumulator and output become NaN.",
         expect=("v load", "value load", "unmasked", "mask", "nan", "garbage"),
         wrong=("scale", "head mapping", "exp2", "piece count"),
         fails_today=True),
    dict(level=11, file="level11/al_acc_not_rescaled.py",
         bug="In the online softmax inside a piece the accumulator is not multiplied by exp2(m_old - m_new) "
             "when the running max grows, so earlier tiles keep too much weight and the output is wrong for "
             "pieces with more than one tile.",
         expect=("rescale", "alpha", "accumulator", "correction factor", "running max", "acc"),
         wrong=("block table", "stride", "kv head", "mask"),
         fails_today=True),
    dict(level=11, file="level11/al_merge_weights_ignore_l.py",
         bug="The reduce kernel normalises each piece by its own l and then averages with weights "
             "exp2(m_p - M) alone, instead of dividing sum(w * acc) by sum(w * l): pieces are weighted by "
             "their max only, not by their total softmax mass.",
         expect=("merge", "weighted by l", "sum(w * l)", "normaliser", "reduce", "combine"),
         wrong=("block table", "stride", "mask", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/al_piece_count_floor.py",
         bug="The reduce kernel counts used pieces as seq_len // tokens_per_split (floor) instead of a "
             "ceiling division, so the last partial piece is dropped, and a sequence shorter than one piece "
             "merges nothing and gives 0/0 = NaN.",
         expect=("cdiv", "ceil", "floor", "number of pieces", "last piece", "piece count"),
         wrong=("scale", "stride", "kv head", "rescale"),
         fails_today=True),
    dict(level=11, file="level11/al_scratch_piece_stride.py",
         bug="The scratch index steps by Hq per piece instead of B * Hq, so piece p of sequence b and "
             "piece p - 1 of sequence b + 1 share the same scratch entries: one overwrites the other and "
             "the merge combines partials of the wrong sequence.",
         expect=("scratch", "partial index", "overwrite", "collide", "piece stride", "scratch index"),
         wrong=("block table", "mask", "exp2", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/al_scale_without_log2e.py",
         bug="The kernel uses exp2 but the host passes scale without the log2(e) factor, so the softmax "
             "runs at the wrong temperature (the scores are effectively multiplied by ln 2, so the "
             "distribution is too flat) and the output is off.",
         expect=("log2e", "log2(e)", "scale", "exp2", "temperature", "base 2"),
         wrong=("block table", "mask", "stride", "merge"),
         fails_today=True),
]

CORRECT = ["level11/correct_al.py"]
