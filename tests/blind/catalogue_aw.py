"""Blind-written mistakes, levels 9, 10, 11, 4, author aw."""

ENTRIES = [
    dict(level=9, file="level9/aw_lse_not_base2.py",
         bug="The scores are scaled by log2(e) for exp2, but lse is used as loaded, in natural log, without "
             "the same log2(e) factor, so the recomputed probabilities are wrong and so are dq, dk and dv.",
         expect=("log2", "natural log", "base 2", "lse", "log-sum-exp", "exp2"),
         wrong=("causal mask", "delta", "row stride", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/aw_dk_missing_scale.py",
         bug="dk is stored without the final multiplication by the softmax scale (dK = scale * dS^T @ Q), "
             "so every dk is off by the factor scale while dq and dv are right.",
         expect=("scale", "scaling factor", "sm_scale", "missing factor", "1/sqrt"),
         wrong=("delta", "causal mask", "lse", "padding"),
         fails_today=True),
    dict(level=9, file="level9/aw_dq_strict_causal.py",
         bug="The dq kernel's causal mask uses key < query instead of key <= query, so each query drops its "
             "own key (the diagonal) and dq is wrong; the first query gets no gradient at all.",
         expect=("diagonal", "<=", "strict", "off-by-one", "own key", "causal mask"),
         wrong=("scale", "lse", "delta", "dtype"),
         fails_today=True),
    dict(level=10, file="level10/aw_kv_head_modulo.py",
         bug="The key/value head of query head h is taken as h % Hkv instead of h // (Hq // Hkv), so with "
             "several kv heads the query heads are interleaved across kv heads and attend to the wrong keys "
             "and values.",
         expect=("h // group", "kv head", "modulo", "head mapping", "group", "interleav"),
         wrong=("online softmax", "causal mask", "rescale", "exp2"),
         fails_today=True),
    dict(level=10, file="level10/aw_acc_not_rescaled.py",
         bug="When the running max grows, the normaliser l is rescaled by alpha but the accumulator is not, "
             "so earlier key tiles keep their stale weight and the output is wrong as soon as a row spans "
             "more than one key tile.",
         expect=("rescale", "alpha", "accumulator", "correction factor", "running max"),
         wrong=("kv head", "group", "head mapping", "padding"),
         fails_today=True),
    dict(level=10, file="level10/aw_padded_keys_visible.py",
         bug="Only the causal condition sets scores to -inf; key positions past S in the last tile are not "
             "masked, so without the causal mask those zero-padded keys get weight exp(-max) and the "
             "output of a ragged S is diluted.",
         expect=("padded key", "keys >= s", "out of range", "ragged", "bounds mask", "last tile"),
         wrong=("kv head", "rescale", "negative scale", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/aw_tail_scores_zero.py",
         bug="Tokens past the end of the piece are loaded as zeros but their scores are not set to -inf, so "
             "each such token adds exp(-m) to the normaliser and the output is shrunk for sequences whose "
             "last tile is partly filled.",
         expect=("-inf", "tail", "past the end", "seq_len", "masked score", "padding tokens"),
         wrong=("block_table", "page index", "reduction weights", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/aw_merge_floor_pieces.py",
         bug="The reduce kernel counts the used pieces with floor(seq_len / tokens_per_split) instead of the "
             "ceiling, so the last partial piece is dropped, and a sequence shorter than one piece has no "
             "piece at all and gives NaN.",
         expect=("ceil", "floor", "number of splits", "last piece", "cdiv", "round"),
         wrong=("page index", "block_table", "kv head", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/aw_merge_no_rescale.py",
         bug="The reduce kernel sums the partial accumulators and normalisers directly, without weighting each "
             "piece by exp2(m_p - M); the pieces were normalised to different maxima, so the merged output is "
             "wrong whenever a sequence spans more than one piece.",
         expect=("rescale", "exp2(m", "different max", "weight", "global max", "m_p - m"),
         wrong=("block_table", "page index", "slot", "causal"),
         fails_today=True),
    dict(level=4, file="level4/aw_dot_operands_swapped.py",
         bug="The tile is computed as k_tile @ q_tile^T instead of q_tile @ k_tile^T, so each tile holds the "
             "transposed scores (key index on rows, query index on columns) of the wrong positions.",
         expect=("transpose", "operand order", "swapped", "k @ q", "k_tile @ q"),
         wrong=("scale", "mask", "head dimension", "stride"),
         fails_today=True),
    dict(level=4, file="level4/aw_head_dim_loop_short.py",
         bug="The loop over the head dimension stops at D - KC, so the last chunk of 16 dims is never "
             "accumulated (for D = 16 nothing is), and every score misses part of its dot product.",
         expect=("loop bound", "last chunk", "head dimension", "range", "off-by-one", "d - kc"),
         wrong=("scale", "transpose", "row mask", "program id"),
         fails_today=True),
    dict(level=4, file="level4/aw_divides_by_scale.py",
         bug="The tile is divided by scale instead of multiplied by it, so scores are off by a factor "
             "1/scale^2 (D times too large with the default scale).",
         expect=("divide", "multiply", "scale", "1/scale", "inverted"),
         wrong=("mask", "transpose", "stride", "loop bound"),
         fails_today=True),
]

CORRECT = [
    "level9/correct_aw.py",
    "level10/correct_aw.py",
    "level11/correct_aw.py",
    "level4/correct_aw.py",
]
