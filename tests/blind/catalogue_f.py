"""Blind-written mistakes, levels 2, 3, 5, 9, 10 and 11, sixth author."""

ENTRIES = [
    # ---------------- level 11: paged decoding ----------------
    dict(level=11, file="level11/f_interleaved_kv_group.py",
         bug="The split kernel gathers its query group as heads hk, hk + Hkv, hk + 2*Hkv, ... (h % Hkv) instead of "
             "the consecutive heads hk * group .. hk * group + group - 1, so with several kv heads most query heads "
             "attend to the wrong kv head and their partials are stored under the wrong head.",
         expect=("kv head", "group", "h // ", "consecutive", "head index"),
         wrong=("page", "block_table", "seq_len"),
         fails_today=True),
    dict(level=11, file="level11/f_one_page_per_tile.py",
         bug="The page number is looked up once per tile from block_table[b, t0 // page_size] instead of per token, "
             "so when a tile of BLOCK_N tokens spans more than one page (page_size smaller than BLOCK_N) the tokens "
             "of the later pages are read from the first page of the tile.",
         expect=("page", "per token", "t // page_size", "block_table", "page_size"),
         wrong=("kv head", "scale", "reduction"),
         fails_today=True),
    dict(level=11, file="level11/f_piece_end_not_clipped.py",
         bug="The end of a piece is start + tokens_per_split without the min with seq_lens[b], so the last piece "
             "of each sequence reads the garbage (NaN) slots past the sequence's length into the softmax.",
         expect=("seq_len", "end", "past the", "garbage", "clip"),
         wrong=("scale", "kv head", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/f_reduce_natural_exp.py",
         bug="The reduce kernel weights the pieces with exp(m_p - M) although the split kernel kept m in base 2 "
             "(scores scaled by log2(e)); the pieces are merged with the wrong weights whenever a sequence spans "
             "more than one piece.",
         expect=("exp2", "base 2", "base-2", "log2", "weight"),
         wrong=("page", "mask", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/f_acc_not_rescaled.py",
         bug="In the split kernel's online softmax, acc is not multiplied by alpha = exp2(m_old - m_new) when the "
             "running max grows (l is), so earlier tiles of a piece keep weights computed against a stale max.",
         expect=("rescale", "alpha", "acc", "running max", "online softmax"),
         wrong=("page", "seq_len", "reduction"),
         fails_today=True),
    dict(level=11, file="level11/f_padded_scores_not_masked.py",
         bug="Tokens past the end of the piece are loaded as zero keys, but their scores are not set to -inf, so "
             "each padded lane of the last tile scores 0 and adds exp2(0 - m) to the normaliser l, shrinking the output.",
         expect=("-inf", "mask", "padded", "tl.where", "score"),
         wrong=("kv head", "block_table", "scale"),
         fails_today=True),
    # ---------------- level 5: causal mask ----------------
    dict(level=5, file="level5/f_tile_local_indices.py",
         bug="The future test compares the tile-local lanes arange(BLOCK_N) > arange(BLOCK_M) instead of the global "
             "row and column indices, so every tile (also those wholly below or above the diagonal) gets its own "
             "little triangle masked.",
         expect=("global", "local", "pid_m", "tile offset", "block offset"),
         wrong=("diagonal", "stride", "grid"),
         fails_today=True),
    dict(level=5, file="level5/f_diagonal_masked.py",
         bug="The mask uses cols >= rows, so the diagonal (a token looking at itself) is hidden too; row 0 becomes "
             "all -inf.",
         expect=("diagonal", ">=", "off by one", "j == i", "itself"),
         wrong=("stride", "grid", "global"),
         fails_today=True),
    dict(level=5, file="level5/f_grid_rounds_down.py",
         bug="The grid is sized with S // BLOCK (at least 1) instead of cdiv(S, BLOCK), so when S is not a multiple "
             "of the block the last partial row and column of tiles are never written and hold uninitialised memory.",
         expect=("cdiv", "grid", "round", "ragged", "partial tile"),
         wrong=("diagonal", "stride", "local"),
         fails_today=True),
    # ---------------- level 9: flash attention backward ----------------
    dict(level=9, file="level9/f_dk_not_scaled.py",
         bug="dk is stored without the final multiplication by scale (dK = scale * dS^T @ Q), so every key gradient "
             "is too large by a factor 1/scale (and has the wrong sign for a negative scale).",
         expect=("scale", "dk", "sqrt", "factor"),
         wrong=("delta", "causal mask", "lse"),
         fails_today=True),
    dict(level=9, file="level9/f_dq_delta_dropped.py",
         bug="The dQ kernel computes ds = p * dp, dropping the '- delta' term of the softmax backward, so dq is wrong "
             "(dk and dv are right).",
         expect=("delta", "rowsum", "softmax backward", "ds"),
         wrong=("scale", "lse", "causal mask"),
         fails_today=True),
    dict(level=9, file="level9/f_dkdv_lse_not_base2.py",
         bug="The dK/dV walk subtracts the natural-log lse from scores scaled into base 2 (it forgets lse * log2(e)), "
             "so the recomputed probabilities pT are wrong and so are dk and dv.",
         expect=("log2", "base 2", "lse", "exp2", "log2e"),
         wrong=("delta", "causal mask", "stride"),
         fails_today=True),
    dict(level=9, file="level9/f_dq_diagonal_walk_too_short.py",
         bug="In the causal dQ walk the masked (diagonal) range stops at start_m + BLOCK_N instead of "
             "start_m + BLOCK_M, so when the query tile is taller than a key tile the later keys on the diagonal "
             "block are never visited and dq misses their contributions.",
         expect=("block_m", "block_n", "diagonal", "loop bound", "range"),
         wrong=("scale", "delta", "lse"),
         fails_today=True),
    # ---------------- level 3: softmax ----------------
    dict(level=3, file="level3/f_wide_sum_not_rescaled.py",
         bug="In the wide-row kernel the running sum l is not multiplied by exp(m - m_new) when the max grows, so "
             "the terms of earlier blocks stay too large and every output of a wide row is too small.",
         expect=("rescale", "exp(m - m_new)", "running sum", "online softmax", "correction"),
         wrong=("padding", "-inf", "max subtraction"),
         fails_today=True),
    dict(level=3, file="level3/f_padding_loaded_as_zero.py",
         bug="The narrow-row kernel loads the lanes past N as 0.0 instead of -inf, so each padding lane adds "
             "exp(0 - max) to the sum (and can win the max on all-negative rows): rows whose width is not a power "
             "of two come out too small.",
         expect=("-inf", "padding", "other=", "masked lanes", "other"),
         wrong=("rescale", "overflow", "stride"),
         fails_today=True),
    dict(level=3, file="level3/f_max_not_subtracted.py",
         bug="The narrow-row kernel exponentiates x directly without subtracting the row max, so large logits "
             "overflow exp to inf and the row becomes NaN.",
         expect=("max", "overflow", "stable", "subtract", "nan"),
         wrong=("padding", "rescale", "stride"),
         fails_today=True),
    # ---------------- level 2: matmul ----------------
    dict(level=2, file="level2/f_k_tail_dropped.py",
         bug="The K loop runs only over whole BLOCK_K chunks (range(0, K // BLOCK_K * BLOCK_K)), so the last partial "
             "chunk of K is never multiplied in (and for K < BLOCK_K nothing is).",
         expect=("k loop", "tail", "loop bound", "remainder", "cdiv"),
         wrong=("stride", "grid", "fp32"),
         fails_today=True),
    dict(level=2, file="level2/f_a_tile_ignores_k0.py",
         bug="The a tile is addressed with arange(BLOCK_K) instead of k0 + arange(BLOCK_K), so every step of the K "
             "loop multiplies the first K-chunk of a by a different chunk of b.",
         expect=("k0", "offset", "a tile", "k offset", "advance"),
         wrong=("grid", "mask", "accumulator"),
         fails_today=True),
    dict(level=2, file="level2/f_grid_axes_swapped.py",
         bug="The grid is (cdiv(N, BLOCK_N), cdiv(M, BLOCK_M)) while the kernel reads program_id(0) as the row tile, "
             "so for non-square outputs some tiles of c are never computed and others are out of range.",
         expect=("grid", "swapped", "program_id", "axis", "pid_m"),
         wrong=("stride", "mask", "k loop"),
         fails_today=True),
    # ---------------- level 10: grouped-query attention ----------------
    dict(level=10, file="level10/f_kv_head_modulo.py",
         bug="The kv head of query head h is computed as h % Hkv instead of h // group, so with 1 < Hkv < Hq the "
             "query heads are paired with the wrong kv heads (interleaved instead of consecutive groups).",
         expect=("h // group", "kv head", "modulo", "group", "head mapping"),
         wrong=("causal mask", "scale", "stride"),
         fails_today=True),
    dict(level=10, file="level10/f_noncausal_ragged_tile_unmasked.py",
         bug="Without the causal mask, the unmasked stage runs up to S instead of (S // BLOCK_N) * BLOCK_N, so the "
             "ragged last key tile is processed without the keys < S mask: padded keys score 0 and take weight in "
             "the softmax.",
         expect=("ragged", "padded keys", "mask", "lo_end", "keys >= s"),
         wrong=("kv head", "scale", "causal"),
         fails_today=True),
    dict(level=10, file="level10/f_max_before_scale.py",
         bug="The running max is taken on the unscaled q @ k^T and then multiplied by qk_scale (and masked scores "
             "are -inf before scaling); with a negative scale the max becomes the smallest score and the masked "
             "-inf turns into +inf, so the output overflows to inf/NaN.",
         expect=("negative scale", "max", "before scaling", "sign", "scale"),
         wrong=("kv head", "ragged", "stride"),
         fails_today=True),
]

CORRECT = ['level11/correct_f.py', 'level5/correct_f.py', 'level9/correct_f.py', 'level3/correct_f.py', 'level2/correct_f.py', 'level10/correct_f.py']
