"""Blind-written mistakes, levels 3, 4, 7, author ao."""

ENTRIES = [
    dict(level=3, file="level3/ao_wide_sum_not_rescaled.py",
         bug="In the wide-row pass the running sum is never multiplied by exp(old max - new max) when the max grows, "
             "so terms summed against an older, smaller max stay too large; the normaliser is inflated and wide rows no longer sum to 1.",
         expect=("rescale", "running sum", "online softmax", "exp(m - m_new)", "correction factor", "stale max"),
         wrong=("padding", "row stride", "dtype", "overflow"),
         fails_today=True),
    dict(level=3, file="level3/ao_narrow_pad_zero.py",
         bug="The single-block kernel loads the padding lanes past N as 0.0 instead of -inf, so each padded lane adds exp(0 - max) "
             "to the sum (and 0 can even become the max); rows whose width is not a power of two come out too small.",
         expect=("-inf", "padding", "padded lanes", "other=", "masked lanes", "power of two"),
         wrong=("rescale", "wide rows", "row stride", "float16"),
         fails_today=True),
    dict(level=3, file="level3/ao_wide_floor_tile_count.py",
         bug="The number of column tiles is computed as N // BLOCK instead of cdiv(N, BLOCK), so the ragged last tile of a wide row "
             "is skipped in both passes: its values miss the max and sum, and its outputs are never written (left uninitialised).",
         expect=("cdiv", "last tile", "ragged", "tail", "floor division", "loop bound"),
         wrong=("rescale", "-inf padding", "row stride", "exp2"),
         fails_today=True),
    dict(level=4, file="level4/ao_tile_decode_uses_row_tiles.py",
         bug="The flat tile id is split into (tile row, tile column) with the number of query tiles instead of the number of key tiles, "
             "so with rectangular 32x64 tiles some tiles are computed twice or fall outside and others are never written.",
         expect=("program id", "pid", "tile index", "decode", "tiles_n", "grid"),
         wrong=("scale", "head stride", "transpose", "padding"),
         fails_today=True),
    dict(level=4, file="level4/ao_explicit_scale_ignored.py",
         bug="The wrapper always sets scale = 1/sqrt(D), overwriting a scale the caller passed, so every score is off by a constant "
             "factor whenever an explicit scale is given.",
         expect=("scale", "explicit", "1/sqrt", "ignored", "overwritten"),
         wrong=("stride", "mask", "tile", "head offset"),
         fails_today=True),
    dict(level=4, file="level4/ao_q_head_offset_row_stride.py",
         bug="The query pointer moves to head bh with the row stride instead of the head stride, so every head except the first "
             "reads query rows shifted into head 0 (and the next rows) rather than its own queries.",
         expect=("head stride", "batch offset", "head offset", "stride_qh", "wrong head", "head index"),
         wrong=("scale", "mask", "transpose", "dot"),
         fails_today=True),
    dict(level=4, file="level4/ao_d_loop_stops_early.py",
         bug="The loop over the head dimension runs to D - TD instead of D, dropping the last chunk of the dot product "
             "(with D <= 32 it never runs at all and the scores are zero).",
         expect=("loop bound", "head dimension", "last chunk", "range", "reduction", "partial dot"),
         wrong=("scale", "head stride", "mask", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/ao_output_strides_swapped.py",
         bug="The store uses the column stride for the query index and the row stride for the key index, so score[i, j] is written "
             "to position [j, i]: the output is the transpose of q @ k^T.",
         expect=("transpose", "output stride", "swapped", "store", "row and column"),
         wrong=("scale", "head offset", "padding", "pid"),
         fails_today=True),
    dict(level=7, file="level7/ao_acc_not_rescaled.py",
         bug="When the running max grows, the normaliser l is rescaled by alpha but the output accumulator is not, so values "
             "accumulated against an older max stay overweighted and the output is wrong whenever scores grow along the keys.",
         expect=("accumulator", "acc", "alpha", "rescale", "online softmax"),
         wrong=("causal", "padding", "exp2", "head stride"),
         fails_today=True),
    dict(level=7, file="level7/ao_causal_hides_diagonal.py",
         bug="The causal mask uses j >= i instead of j > i, hiding each query's own key: every row loses its diagonal term, "
             "and query 0 sees no key at all, so its row becomes NaN.",
         expect=("diagonal", "off-by-one", ">=", "j > i", "causal"),
         wrong=("rescale", "padding", "exp2", "scale"),
         fails_today=True),
    dict(level=7, file="level7/ao_exp2_without_log2e.py",
         bug="The kernel uses exp2 but never multiplies the scale by log2(e), so it computes a base-2 softmax: the scores act "
             "as if scaled by ln 2 and the attention weights come out too flat.",
         expect=("log2e", "log2(e)", "exp2", "base", "1.4427"),
         wrong=("causal", "padding", "accumulator", "stride"),
         fails_today=True),
    dict(level=7, file="level7/ao_padded_keys_unmasked.py",
         bug="Padded keys past S are set to -inf only inside the causal branch, so without causal masking the zero-loaded padding "
             "keys score 0 and add exp(0 - m) to the normaliser, shrinking the output when S is not a multiple of the key block.",
         expect=("padding", "padded keys", "j >= s", "non-causal", "ragged", "key mask"),
         wrong=("diagonal", "rescale", "exp2", "head stride"),
         fails_today=True),
]

CORRECT = ["level3/correct_ao.py", "level4/correct_ao.py", "level7/correct_ao.py"]
