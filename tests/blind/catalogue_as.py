"""Blind-written mistakes, levels 9, 8, 2, 10, author as."""

ENTRIES = [
    # ---- level 9: flash attention backward ----
    dict(level=9, file="level9/as_dq_strict_causal.py",
         bug="The causal mask in the dQ kernel uses key < query instead of key <= query, so each query "
             "drops its own diagonal key from dQ: dq is wrong under causal attention while dk and dv stay right.",
         expect=("diagonal", "<=", "strict", "off-by-one", "own key", "causal mask in the dq"),
         wrong=("delta", "lse", "missing scale", "head offset"),
         fails_today=True),
    dict(level=9, file="level9/as_dk_unscaled.py",
         bug="dK is stored without the final multiplication by the softmax scale (dK = scale * dS^T Q), "
             "so every dk value is off by a factor 1/scale; dq and dv are correct.",
         expect=("scale", "dk * scale", "factor", "sm_scale", "not multiplied"),
         wrong=("causal mask", "delta", "lse", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/as_delta_no_head_offset.py",
         bug="The preprocessing kernel stores delta at delta_ptr + row with no (batch, head) offset, so every "
             "head writes head 0's slot and the other heads later read uninitialised delta: dq and dk are "
             "garbage whenever B * H > 1.",
         expect=("delta", "head offset", "bh * s", "uninitialised", "batch offset", "overwrit"),
         wrong=("scale", "exp2", "causal mask", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/as_lse_natural_log.py",
         bug="The scores are put in base 2 (scale * log2(e)) and exponentiated with exp2, but lse is "
             "subtracted in natural-log units without the log2(e) factor, so the recomputed probabilities "
             "are wrong and all three gradients are off.",
         expect=("lse", "log2", "log2e", "natural log", "units", "base"),
         wrong=("delta", "causal mask", "head offset", "missing transpose"),
         fails_today=True),

    # ---- level 8: flash attention forward ----
    dict(level=8, file="level8/as_acc_not_rescaled.py",
         bug="When the running max grows, the accumulator is not multiplied by alpha = exp2(m_old - m_new) "
             "before adding the new tile, while l is; earlier tiles keep a stale weight and the output "
             "is wrong whenever a row spans more than one key tile.",
         expect=("rescale", "alpha", "acc", "accumulator", "correction", "stale max"),
         wrong=("mask", "exp base", "stride", "padding"),
         fails_today=True),
    dict(level=8, file="level8/as_masked_scores_zero.py",
         bug="Hidden scores (future keys and padded keys) are replaced by 0 instead of -inf, so they still "
             "get weight exp2(0 - m) in the softmax: causal outputs mix in future values and ragged "
             "lengths inflate the row sum.",
         expect=("-inf", "masked", "fill", "0.0", "future keys", "padding"),
         wrong=("rescale", "alpha", "stride", "exp2"),
         fails_today=True),
    dict(level=8, file="level8/as_kv_advance_elements.py",
         bug="After each key tile the k and v pointers advance by BLOCK_N elements instead of BLOCK_N rows "
             "(BLOCK_N * row stride), so every tile after the first reads the wrong keys and values.",
         expect=("stride", "advance", "row stride", "pointer increment", "elements instead of rows"),
         wrong=("mask", "rescale", "-inf", "exp base"),
         fails_today=True),

    # ---- level 2: matmul ----
    dict(level=2, file="level2/as_tile_row_from_tiles_m.py",
         bug="The 1-D program id is split with pid // tiles_m instead of pid // tiles_n for the tile row, "
             "so when the tile counts along M and N differ some tiles of c are computed twice and others "
             "never written (left uninitialised).",
         expect=("program id", "pid", "tiles_n", "decod", "tile index", "uninitialised"),
         wrong=("accumulat", "k loop", "stride", "dtype"),
         fails_today=True),
    dict(level=2, file="level2/as_k_loop_floor.py",
         bug="The K loop runs K // BLOCK_K times, so the ragged last K chunk is never added (and K < BLOCK_K "
             "gives all zeros): wrong whenever K is not a multiple of BLOCK_K.",
         expect=("k loop", "last", "remainder", "k // block_k", "cdiv", "tail"),
         wrong=("store mask", "program id", "dtype", "stride"),
         fails_today=True),
    dict(level=2, file="level2/as_b_rows_not_advanced.py",
         bug="The b tile's row offsets use arange(BLOCK_K) instead of k0 + arange(BLOCK_K), so every K step "
             "multiplies by the first BLOCK_K rows of b again: wrong whenever K > BLOCK_K.",
         expect=("b offset", "k0", "advance", "first block", "same rows of b", "b tile"),
         wrong=("store mask", "program id", "accumulator dtype", "grid"),
         fails_today=True),

    # ---- level 10: grouped-query attention ----
    dict(level=10, file="level10/as_kv_head_modulo.py",
         bug="The kv head is taken as h % Hkv instead of h // (Hq // Hkv), so query heads are interleaved "
             "across kv heads instead of grouped: wrong whenever 1 < Hkv < Hq (e.g. 8 query heads, 2 kv heads).",
         expect=("h // group", "modulo", "kv head", "head mapping", "group", "h % hkv"),
         wrong=("batch offset", "causal", "scale", "stride"),
         fails_today=True),
    dict(level=10, file="level10/as_max_of_raw_scores.py",
         bug="The running max (and the -inf mask) is taken on the raw q @ k^T and only then multiplied by the "
             "scale; with a negative scale that picks the smallest scaled score and turns masked -inf into "
             "+inf, so the output is NaN or overflowed.",
         expect=("negative scale", "before scaling", "max", "raw scores", "+inf", "sign"),
         wrong=("kv head", "group", "head mapping", "stride"),
         fails_today=True),
]

CORRECT = ["level9/correct_as.py", "level8/correct_as.py", "level2/correct_as.py", "level10/correct_as.py"]
