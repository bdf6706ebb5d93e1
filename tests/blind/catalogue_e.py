"""Blind-written mistakes, levels 5, 8, 9 and 11, fifth author (tuning corpus)."""

ENTRIES = [
    # ---------------- level 5: causal mask ----------------
    dict(level=5, file="level5/lower_triangle_masked.py",
         bug="The comparison in tl.where is written rows > cols instead of cols > rows, so the past (below the "
             "diagonal) is set to -inf and the future keys are left visible.",
         expect=("below the diagonal", "comparison", "reversed", "lower triangle", "cols > rows"),
         wrong=("head offset", "grid", "in place"),
         fails_today=True),
    dict(level=5, file="level5/tile_read_transposed.py",
         bug="The load multiplies rows by stride_xj and cols by stride_xi, swapping the two strides, so each "
             "tile is read transposed and the output holds scores[j, i] instead of scores[i, j].",
         expect=("transpose", "stride", "swapped", "scores[j, i]", "stride_xi"),
         wrong=("diagonal", "-inf", "grid"),
         fails_today=True),
    dict(level=5, file="level5/grid_single_column_tile.py",
         bug="The grid launches a single tile across (second dimension 1 instead of cdiv(S, BLOCK_N)), so for "
             "S > BLOCK_N only the first BLOCK_N columns are written and the rest of the output stays "
             "uninitialised.",
         expect=("grid", "cdiv(s, block_n)", "column tile", "uninitialised", "columns past"),
         wrong=("diagonal", "comparison", "head offset"),
         fails_today=True),

    # ---------------- level 8: flash attention ----------------
    # A fifth mistake, alpha taken with exp beside exp2, was dropped unread: a held-out mistake has
    # its name, so tuning on it would have measured the held-out set on its own answer.
    dict(level=8, file="level8/max_over_unscaled_scores.py",
         bug="The running max is taken over the raw q @ k^T scores and qk_scale is applied only inside exp2, "
             "so with large logits or a negative scale exp2(s * qk_scale - m) underflows or overflows and the "
             "output becomes NaN.",
         expect=("unscaled", "qk_scale", "running max", "overflow", "underflow"),
         wrong=("causal mask", "head offset", "padding"),
         fails_today=True),
    dict(level=8, file="level8/q_tile_missing_head_offset.py",
         bug="The q tile is loaded without the bh * stride_bh head offset while k, v and out use it, so every "
             "head and batch attends with the queries of head 0.",
         expect=("head offset", "stride_bh", "q tile", "head 0", "q_ptr"),
         wrong=("causal mask", "log2(e)", "rescale"),
         fails_today=True),
    dict(level=8, file="level8/causal_mask_tile_local_keys.py",
         bug="The causal mask compares the key's index inside the tile (tl.arange(0, BLOCK_N)) with the absolute "
             "query row instead of the key's absolute position cols, so on the diagonal tiles future keys stay "
             "visible.",
         expect=("tile-local", "absolute", "cols", "key index", "future keys"),
         wrong=("rescale", "log2(e)", "head offset"),
         fails_today=True),

    # ---------------- level 9: flash attention backward ----------------
    dict(level=9, file="level9/dv_also_scaled.py",
         bug="dv is stored multiplied by scale like dk, but dV = P^T @ dO has no scale factor: only dq and dk "
             "carry it.",
         expect=("dv", "scale", "no scale", "only dk", "p^t @ do"),
         wrong=("delta", "causal mask", "lse"),
         fails_today=True),
    dict(level=9, file="level9/dkdv_diagonal_strict_mask.py",
         bug="On the diagonal walk of the dK/dV kernel the mask is keys < queries instead of keys <= queries, so "
             "each query's attention to itself is dropped from dk and dv.",
         expect=("diagonal", "strict", "<=", "itself", "j <= i"),
         wrong=("delta", "scale", "lse"),
         fails_today=True),
    dict(level=9, file="level9/dkdv_delta_indexed_by_keys.py",
         bug="In the transposed dK/dV tile, delta is loaded at the key indices and broadcast along the key rows "
             "(delta[:, None]) instead of per query column, so dsT subtracts the wrong rows' delta and dk is wrong.",
         expect=("delta", "key indices", "query", "transposed", "delta[none, :]"),
         wrong=("scale", "causal mask", "lse"),
         fails_today=True),
    dict(level=9, file="level9/dq_probabilities_use_plain_scale.py",
         bug="The dQ kernel recomputes p with the plain scale instead of qk_scale while subtracting lse * log2(e), "
             "so exp2 gets scores in natural units against an lse in base 2 and the probabilities are wrong.",
         expect=("qk_scale", "log2(e)", "plain scale", "probabilities", "dq"),
         wrong=("delta", "causal mask", "dk"),
         fails_today=True),

    # ---------------- level 11: paged decode ----------------
    dict(level=11, file="level11/page_lookup_piece_relative.py",
         bug="The block-table entry is looked up at (t - start) // page_size, the token's position inside its "
             "piece, instead of t // page_size, so every piece after the first re-reads the first pages.",
         expect=("block table", "t // page_size", "piece", "relative", "absolute token"),
         wrong=("reduce", "exp2", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/reduce_pieces_floor_division.py",
         bug="The reduce kernel counts the used pieces as seq_len // tokens_per_split instead of cdiv, so the "
             "last partial piece is dropped (and a sequence shorter than one piece gets no pieces at all, 0/0).",
         expect=("cdiv", "floor", "last piece", "dropped", "used pieces"),
         wrong=("block table", "slot", "kv head"),
         fails_today=True),
    dict(level=11, file="level11/slot_and_head_strides_swapped.py",
         bug="The cache address multiplies the slot by stride_kvh and the kv head by stride_slot, swapping the "
             "two strides, which only happens to work when Hkv = 1.",
         expect=("stride", "swapped", "slot", "stride_kvh", "kv head"),
         wrong=("reduce", "block table", "exp2"),
         fails_today=True),
    dict(level=11, file="level11/reduce_pieces_normalised_first.py",
         bug="The reduce normalises each piece by its own l and then averages with weights exp2(m - M) divided "
             "by their sum, instead of sum(w * acc) / sum(w * l), so pieces are weighted without their "
             "normalisers.",
         expect=("w * l", "normaliser", "weight", "sum(w * acc)", "l_p"),
         wrong=("block table", "slot", "kv head"),
         fails_today=True),
]

CORRECT = ["level5/correct_e.py", "level8/correct_e.py", "level9/correct_e.py", "level11/correct_e.py"]
