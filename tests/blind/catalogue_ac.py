"""Blind-written mistakes, levels 4 and 9, author ac."""

ENTRIES = [
    # ---- level 4: attention scores ----
    dict(level=4, file="level4/ac_store_mask_rows_only.py",
         bug="The store is masked only on the query rows, not on the key columns, so the last key tile's "
             "columns past S spill into the start of the next row of the output and overwrite real scores with zeros.",
         expect=("column mask", "columns >= s", "key columns", "store mask", "mask the columns"),
         wrong=("scale", "head offset", "transposed", "exp2"),
         fails_today=True),
    dict(level=4, file="level4/ac_tile_decode_swapped.py",
         bug="The flat tile id is decoded with // and % swapped, so the query-tile and key-tile indices are "
             "exchanged; with different tile counts along queries and keys some output tiles are never written "
             "and others are written twice.",
         expect=("program id", "program_id", "tile index", "decode", "swapped // and %", "tile id"),
         wrong=("scale", "dtype", "column mask", "head offset"),
         fails_today=True),
    dict(level=4, file="level4/ac_ignores_explicit_scale.py",
         bug="The wrapper always sets scale = 1/sqrt(D), throwing away an explicit scale the caller passed, so "
             "every score is off by a constant factor whenever scale is given.",
         expect=("explicit scale", "scale argument", "ignores the scale", "overwrites scale", "scale is none"),
         wrong=("mask", "stride", "head offset", "transposed"),
         fails_today=True),
    dict(level=4, file="level4/ac_output_transposed.py",
         bug="The output strides are swapped in the store (row index times the column stride and vice versa), "
             "so each tile lands transposed and the result is k @ q^T instead of q @ k^T.",
         expect=("transposed", "output stride", "swapped strides", "store offsets", "k @ q^t"),
         wrong=("scale", "column mask", "head offset", "batch"),
         fails_today=True),
    dict(level=4, file="level4/ac_q_head_offset_missing.py",
         bug="The query pointer leaves out the head offset (head * stride), so every (batch, head) uses the "
             "queries of head 0 and only the first head's scores are right.",
         expect=("head offset", "head stride", "batch offset", "stride_qh", "first head"),
         wrong=("scale", "column mask", "transposed", "exp2"),
         fails_today=True),
    dict(level=4, file="level4/ac_col_mask_off_by_one.py",
         bug="The key mask uses <= S instead of < S, an off-by-one that lets the last tile write one extra "
             "column, which lands on the first score of the next row and overwrites it with zero.",
         expect=("off-by-one", "off by one", "<= s", "<= seq_len", "one extra column"),
         wrong=("scale", "head offset", "transposed", "program id"),
         fails_today=True),
    dict(level=4, file="level4/ac_grid_key_tiles_wrong_block.py",
         bug="The grid counts key tiles with the query block size (cdiv(S, TILE_Q)) instead of the key block "
             "size, so too few programs are launched and the right-hand key tiles of the output are never written.",
         expect=("grid", "too few programs", "number of tiles", "block size", "launch"),
         wrong=("scale", "head offset", "transposed", "column mask"),
         fails_today=True),
    dict(level=4, file="level4/ac_q_tile_from_k_pointer.py",
         bug="A copy-paste slip loads the query tile from the key pointer, so the kernel computes k @ k^T "
             "instead of q @ k^T.",
         expect=("key pointer", "k_ptr", "copy-paste", "k @ k^t", "wrong pointer"),
         wrong=("scale", "column mask", "head offset", "transposed"),
         fails_today=True),
    # ---- level 9: flash attention backward ----
    dict(level=9, file="level9/ac_dq_forgets_delta.py",
         bug="The dQ kernel computes ds = p * dp, forgetting to subtract delta = rowsum(dO * O), so dq misses the "
             "softmax backward's correction term (dk and dv are still right).",
         expect=("delta", "rowsum", "softmax backward", "dp - delta", "subtract"),
         wrong=("causal mask", "exp2", "scale", "uninitialised"),
         fails_today=True),
    dict(level=9, file="level9/ac_lse_not_log2.py",
         bug="In the dK/dV kernel the scores are in log2 units (scale * log2 e) but lse is used as is, without "
             "multiplying by log2 e, so the recomputed probabilities are wrong and dk and dv are off.",
         expect=("log2", "lse", "exp base", "log2(e)", "natural log"),
         wrong=("delta", "causal mask", "grid", "missing scale on dk"),
         fails_today=True),
    dict(level=9, file="level9/ac_dk_missing_scale.py",
         bug="dk is stored without the final multiplication by scale, so every dK is too large by a factor "
             "1/scale (sqrt(D) by default).",
         expect=("scale", "dk * scale", "factor", "sqrt(d)"),
         wrong=("delta", "causal mask", "log2", "uninitialised"),
         fails_today=True),
    dict(level=9, file="level9/ac_causal_walk_skips_diagonal.py",
         bug="In the causal dK/dV walk the query loop starts one tile too late, at the tile after the key tile, "
             "so the diagonal block is skipped and dk and dv miss the contributions of queries near their keys.",
         expect=("diagonal", "loop start", "loop bound", "skips", "start_n"),
         wrong=("delta", "log2", "scale", "dtype"),
         fails_today=True),
    dict(level=9, file="level9/ac_mask_by_multiplication.py",
         bug="The dK/dV kernel zeroes hidden probabilities by multiplying by the mask instead of tl.where; when a "
             "hidden score overflows exp2 to inf, inf * 0 gives NaN, which poisons dk and dv.",
         expect=("nan", "tl.where", "inf * 0", "multiplication", "overflow"),
         wrong=("delta", "loop bound", "log2", "missing scale"),
         fails_today=True),
    dict(level=9, file="level9/ac_delta_grid_floor.py",
         bug="The delta kernel's grid uses S // ROWS instead of cdiv(S, ROWS), so the last partial block of rows "
             "(all rows when S < ROWS) never gets delta and the gradients read uninitialised memory there.",
         expect=("cdiv", "uninitialised", "uninitialized", "grid", "floor division"),
         wrong=("causal mask", "log2", "scale", "transposed"),
         fails_today=True),
    dict(level=9, file="level9/ac_dq_causal_mask_strict.py",
         bug="The dQ kernel's causal mask uses j < i instead of j <= i, so each query ignores its own key (the "
             "diagonal) and dq is wrong for every row.",
         expect=("causal mask", "diagonal", "strict", "off-by-one", "off by one", "j <= i"),
         wrong=("delta", "log2", "scale", "grid"),
         fails_today=True),
]

CORRECT = ["level4/correct_ac.py", "level9/correct_ac.py"]
