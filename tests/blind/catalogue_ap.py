"""Blind-written mistakes, levels 9 and 10, author ap."""

ENTRIES = [
    dict(level=9, file="level9/ap_dk_missing_scale.py",
         bug="dK is stored as the raw sum of dS^T @ Q without the final multiplication by the softmax scale, "
             "so every dK is off by a factor of 1/scale (dQ and dV are right).",
         expect=("scale", "dk not scaled", "missing scale", "factor", "multiply dk"),
         wrong=("causal mask", "lse", "batch offset", "delta"),
         fails_today=True),
    dict(level=9, file="level9/ap_dq_skips_diagonal_tile.py",
         bug="In the causal dQ walk the loop over key tiles stops at the start of the query tile instead of its end, "
             "so the diagonal key tile is never visited and dQ misses every contribution from keys in its own tile.",
         expect=("diagonal", "loop bound", "upper bound", "skips", "last key tile", "own tile"),
         wrong=("scale", "exp2", "stride", "delta"),
         fails_today=True),
    dict(level=9, file="level9/ap_dkdv_causal_mask_flipped.py",
         bug="In the transposed dK/dV tile (keys on rows, queries on columns) the causal test is written key >= query "
             "instead of key <= query, so each key keeps the queries that cannot see it and drops those that can; dK and dV are wrong.",
         expect=("causal mask", "mask direction", "transposed", "flipped", "key <= query", "inverted"),
         wrong=("scale", "lse base", "batch offset", "missing rescale"),
         fails_today=True),
    dict(level=9, file="level9/ap_exp2_lse_not_converted.py",
         bug="The dK/dV kernel switches to exp2 with the scores multiplied by scale * log2(e) but subtracts lse "
             "still in natural log, so the recomputed probabilities are wrong (off by a factor exp2(lse - lse*log2e)) and dK, dV are wrong.",
         expect=("log2", "lse", "base", "natural log", "exp2"),
         wrong=("causal mask", "stride", "loop bound", "delta sign"),
         fails_today=True),
    dict(level=9, file="level9/ap_stats_offset_ignores_batch.py",
         bug="The row offset of lse and delta is computed as head * S instead of (batch * H + head) * S, so every batch "
             "reads and writes the per-row statistics of batch 0 and the gradients are wrong whenever B > 1.",
         expect=("batch", "offset", "lse index", "delta index", "pid_bh"),
         wrong=("scale", "causal mask", "exp2", "transposed"),
         fails_today=True),
    dict(level=10, file="level10/ap_kv_head_modulo.py",
         bug="The kv head is computed as h % Hkv instead of h // (Hq // Hkv), so query heads are interleaved over the "
             "kv heads instead of grouped; wrong output whenever 1 < Hkv < Hq.",
         expect=("kv head", "modulo", "h // group", "group", "head mapping"),
         wrong=("scale", "causal mask", "rescale", "batch stride"),
         fails_today=True),
    dict(level=10, file="level10/ap_acc_not_rescaled.py",
         bug="In the online softmax the output accumulator is not multiplied by alpha when the running max grows, "
             "so earlier key tiles keep weights relative to a stale max and the output is wrong when there is more than one key tile.",
         expect=("alpha", "rescale", "accumulator", "running max", "acc"),
         wrong=("kv head", "causal mask", "stride", "exp2"),
         fails_today=True),
    dict(level=10, file="level10/ap_causal_mask_strict.py",
         bug="The causal mask keeps only keys strictly before the query (j < i) instead of j <= i, so each query "
             "ignores itself and the first row is fully masked, giving NaN.",
         expect=("diagonal", "off-by-one", "strict", "j <= i", "nan", "causal mask"),
         wrong=("kv head", "scale", "rescale", "batch offset"),
         fails_today=True),
    dict(level=10, file="level10/ap_rowmax_before_scale.py",
         bug="The running max is taken over the unscaled scores and multiplied by scale afterwards; with a negative "
             "scale that is the smallest scaled score, so exp overflows and the output becomes inf/NaN.",
         expect=("negative scale", "max", "sign", "overflow", "smallest"),
         wrong=("kv head", "causal mask", "stride", "group"),
         fails_today=True),
    dict(level=10, file="level10/ap_store_at_kv_offset.py",
         bug="The output is stored at the kv head's offset instead of the query head's, so several query heads "
             "overwrite the same rows while most of the output keeps uninitialised memory.",
         expect=("store", "output offset", "q offset", "kv offset", "uninitialised", "overwrite"),
         wrong=("scale", "causal mask", "rescale", "exp2"),
         fails_today=True),
]

CORRECT = ["level9/correct_ap.py", "level10/correct_ap.py"]
