"""Blind-written mistakes, levels 9 and 10, author am."""

ENTRIES = [
    dict(level=10, file="level10/am_kv_row_drops_head.py",
         bug="The k/v base offset adds only the batch term and forgets kv_head * stride, so every query head "
             "reads key/value head 0 of its batch; outputs are wrong whenever Hkv > 1.",
         expect=("kv head", "head offset", "head stride", "always head 0", "key/value head"),
         wrong=("scale", "causal mask", "online softmax", "exp2"),
         fails_today=True),
    dict(level=10, file="level10/am_causal_end_uses_tile_k.py",
         bug="The causal loop stops at query_tile_start + BLOCK_N instead of the end of the query tile, so "
             "the later key tiles of the diagonal block are never visited and rows past the first key tile "
             "miss their most recent keys.",
         expect=("loop bound", "upper bound", "block_n", "diagonal", "stops too early", "skipped keys"),
         wrong=("kv head", "scale", "dtype", "stride"),
         fails_today=True),
    dict(level=10, file="level10/am_running_max_not_carried.py",
         bug="The running max is never updated to the new max after a tile, so it stays -inf, the rescale "
             "factor is 0 every tile and acc and l are wiped: only the last key tile contributes.",
         expect=("running max", "m_i", "not updated", "only the last", "online softmax", "carried"),
         wrong=("kv head", "causal mask", "stride", "log2"),
         fails_today=True),
    dict(level=10, file="level10/am_scale_missing_log2e.py",
         bug="The host passes scale instead of scale * log2(e) while the kernel uses exp2, so the softmax is "
             "computed at the wrong temperature (too flat for positive scale).",
         expect=("log2e", "log2(e)", "exp2", "temperature", "base 2"),
         wrong=("kv head", "causal mask", "stride", "running max"),
         fails_today=True),
    dict(level=10, file="level10/am_diagonal_strict_mask.py",
         bug="The causal mask uses j < i instead of j <= i, so each query cannot see its own key; row 0 has "
             "no visible key at all and becomes NaN.",
         expect=("diagonal", "<=", "off-by-one", "strict", "own key", "nan"),
         wrong=("kv head", "scale", "stride", "log2"),
         fails_today=True),
    dict(level=10, file="level10/am_query_rows_step_tile_k.py",
         bug="Query rows start at pid * BLOCK_N instead of pid * BLOCK_M, so query tiles overlap and the "
             "upper rows of the output are never written (left as torch.empty garbage).",
         expect=("block_m", "row offset", "query tile", "never written", "uninitialised", "tile start"),
         wrong=("kv head", "scale", "causal mask", "exp2"),
         fails_today=True),
    dict(level=9, file="level9/am_lse_not_converted_to_base2.py",
         bug="lse is subtracted in natural-log units from base-2 scaled scores (missing * log2(e)), so the "
             "recomputed probabilities are off by a per-row factor and dq, dk, dv are all wrong.",
         expect=("lse", "log2e", "log2(e)", "base 2", "natural log"),
         wrong=("causal mask", "delta", "transpose", "stride"),
         fails_today=True),
    dict(level=9, file="level9/am_dk_scale_dropped.py",
         bug="dk is stored without the final multiplication by scale, so dK is off by a factor of 1/scale "
             "while dq and dv are correct.",
         expect=("dk", "scale", "missing factor", "softmax scale"),
         wrong=("lse", "delta", "causal mask", "exp2"),
         fails_today=True),
    dict(level=9, file="level9/am_dkdv_causal_mask_reversed.py",
         bug="In the transposed dK/dV tile the causal condition is written i <= j instead of i >= j, so keys "
             "collect gradient from the wrong queries on the diagonal tile; dk and dv are wrong, dq is right.",
         expect=("causal mask", "transposed", "reversed", "i >= j", "diagonal"),
         wrong=("lse", "scale", "delta", "stride"),
         fails_today=True),
    dict(level=9, file="level9/am_dkdv_walk_skips_diagonal.py",
         bug="In the causal case the dK/dV walk starts at start_n + BLOCK_N, skipping the diagonal query tile, "
             "so each key misses the gradient from queries on its own tile.",
         expect=("diagonal", "loop start", "skipped", "lower bound", "start_n", "dkdv walk"),
         wrong=("lse", "scale", "delta", "dtype"),
         fails_today=True),
    dict(level=9, file="level9/am_dq_delta_dropped.py",
         bug="The dQ kernel computes ds = p * dp without subtracting delta, so the softmax backward is "
             "incomplete and dq is wrong (dk and dv are right).",
         expect=("delta", "dp - delta", "softmax backward", "rowsum"),
         wrong=("lse", "causal mask", "scale", "stride"),
         fails_today=True),
    dict(level=9, file="level9/am_delta_loads_o_twice.py",
         bug="The delta kernel loads O through both pointers (copy-paste), computing rowsum(O * O) instead of "
             "rowsum(dO * O), so ds, and with it dq and dk, is wrong while dv is right.",
         expect=("delta", "rowsum", "do * o", "copy-paste", "wrong pointer"),
         wrong=("lse", "causal mask", "scale", "exp2"),
         fails_today=True),
]

CORRECT = ["level10/correct_am.py", "level9/correct_am.py"]
