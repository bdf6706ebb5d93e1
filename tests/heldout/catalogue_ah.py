"""Blind-written mistakes, levels 9, 10, 11, author ah."""

ENTRIES = [
    dict(level=10, file="level10/ah_kv_head_modulo.py",
         bug="The kv head is computed as h % Hkv instead of h // (Hq // Hkv), so query heads are spread "
             "round-robin over the kv heads and most of them attend to another group's keys and values.",
         expect=("kv head", "h // group", "modulo", "head mapping", "group"),
         wrong=("causal mask", "online softmax", "rescale", "batch stride"),
         fails_today=True),
    dict(level=10, file="level10/ah_max_before_scale.py",
         bug="The running max is taken on the unscaled scores and then multiplied by the scale, and the "
             "-inf mask is applied before scaling; with a negative scale that max is the smallest score and "
             "masked entries become +inf, so exp2 overflows and the output fills with NaN/inf.",
         expect=("negative scale", "sign of the scale", "before scaling", "unscaled", "overflow"),
         wrong=("kv head", "loop bound", "head mapping", "row stride"),
         fails_today=True),
    dict(level=10, file="level10/ah_causal_end_key_tile.py",
         bug="The causal key loop stops at start_m + BLOCK_N instead of start_m + BLOCK_M, so the later rows "
             "of each query tile never see the diagonal keys past the first key tile and their outputs are wrong.",
         expect=("loop bound", "block_m", "diagonal", "key range", "end of the causal", "hi"),
         wrong=("kv head", "negative scale", "exp base", "head mapping"),
         fails_today=True),
    dict(level=11, file="level11/ah_table_row_missing.py",
         bug="The block table lookup forgets the row offset b * stride_table, so every sequence reads the "
             "pages of sequence 0 (and garbage beyond its length) instead of its own.",
         expect=("block table", "block_table", "row of the table", "sequence row", "batch offset", "stride_table"),
         wrong=("exp2", "reduction weight", "kv head", "scale"),
         fails_today=True),
    dict(level=11, file="level11/ah_values_unmasked.py",
         bug="The value tile is loaded without the token mask; the scores of tokens past the end are -inf so "
             "p = 0, but the garbage (NaN) values still enter p @ v and 0 * NaN poisons the output.",
         expect=("value", "mask", "garbage", "nan", "unmasked"),
         wrong=("block table", "reduction", "exp base", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/ah_merge_natural_exp.py",
         bug="The reduce kernel weights the pieces with exp(m - M) although m was kept in base 2, so the "
             "partials are mixed with the wrong weights and the merged output is off whenever pieces differ.",
         expect=("exp2", "base 2", "base-2", "natural exp", "log2"),
         wrong=("block table", "mask", "garbage", "kv head"),
         fails_today=True),
    dict(level=9, file="level9/ah_dk_unscaled.py",
         bug="dK is stored without the final multiplication by scale, so it is too large by 1/scale "
             "(sqrt(D) by default) while dQ and dV are right.",
         expect=("scale", "dk", "sm_scale", "missing factor"),
         wrong=("causal mask", "delta", "lse", "transpose"),
         fails_today=True),
    dict(level=9, file="level9/ah_lse_natural_in_exp2.py",
         bug="The natural-log lse is subtracted inside exp2 without converting it by log2(e), so the "
             "recomputed probabilities are wrong and all three gradients are off.",
         expect=("lse", "log2", "base 2", "log2e", "natural log"),
         wrong=("causal mask", "delta", "dk scale", "row stride"),
         fails_today=True),
    dict(level=9, file="level9/ah_dkdv_mask_flipped.py",
         bug="In the transposed dK/dV tile the causal test is written key >= query instead of key <= query, "
             "so on the diagonal tiles the wrong triangle of probabilities feeds dK and dV (dQ stays right).",
         expect=("causal", "mask", "transposed", "diagonal", "triangle"),
         wrong=("lse", "exp base", "delta", "missing scale"),
         fails_today=True),
]

CORRECT = ["level10/correct_ah.py", "level11/correct_ah.py", "level9/correct_ah.py"]
