"""Blind-written mistakes, levels 11, 4 and 9, author at."""

ENTRIES = [
    # level 11: paged decode
    dict(level=11, file="level11/at_one_page_per_tile.py",
         bug="The page is looked up once per tile (from the tile's first token) instead of per token, so when a "
             "tile spans more than one page (page_size smaller than the tile) its later tokens read keys and "
             "values from the wrong page.",
         expect=("page boundary", "per token", "page lookup", "block_table", "crosses a page", "spans two pages"),
         wrong=("online softmax", "reduction", "head group", "scale"),
         fails_today=True),
    dict(level=11, file="level11/at_group_heads_interleaved.py",
         bug="The query heads of a kv head's group are taken as kvh, kvh + Hkv, kvh + 2*Hkv, ... (h % Hkv) instead "
             "of the contiguous block kvh * group + r (h // group), so with GQA most query heads attend to another "
             "head's keys and values.",
         expect=("head mapping", "kv head", "h // group", "group of query heads", "gqa", "interleaved"),
         wrong=("page", "mask", "rescale", "split count"),
         fails_today=True),
    dict(level=11, file="level11/at_merge_without_rescale.py",
         bug="The merge kernel adds the partial accumulators and normalisers of the slices with weight 1 instead "
             "of exp(m_p - M), so slices computed against different maxima are mixed on different scales and "
             "the output is wrong whenever a sequence spans more than one slice.",
         expect=("rescale", "exp(m", "max of the partials", "global max", "weight", "different maxima"),
         wrong=("page", "mask", "head mapping", "stride"),
         fails_today=True),
    dict(level=11, file="level11/at_values_load_unmasked.py",
         bug="The value rows are loaded without the token mask, so tokens past seq_len read garbage (NaN) from "
             "partly filled and unused pages; multiplying them by probability 0 in p @ v still gives NaN.",
         expect=("mask", "unmasked", "garbage", "nan", "past seq_len", "value load"),
         wrong=("scale", "head mapping", "rescale", "split count"),
         fails_today=True),
    dict(level=11, file="level11/at_merge_floor_slice_count.py",
         bug="The merge counts the used slices as seq_len // tokens_per_split (floor) instead of the ceiling, so "
             "the last, partly filled slice is ignored and sequences shorter than one slice divide 0 by 0.",
         expect=("ceil", "cdiv", "floor", "last slice", "number of splits", "partial split"),
         wrong=("head mapping", "page lookup", "scale", "garbage page"),
         fails_today=True),
    # level 4: attention scores
    dict(level=4, file="level4/at_default_scale_over_dim.py",
         bug="When scale is None it uses 1 / D instead of 1 / sqrt(D), so every default-scale score is too small "
             "by a factor sqrt(D); an explicit scale still works.",
         expect=("sqrt", "1 / d", "default scale", "scale=none", "square root"),
         wrong=("mask", "stride", "program id", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/at_tile_index_decode.py",
         bug="Decoding the flat program id, the query-tile index is rest // n_tq instead of rest // n_tk, so when "
             "the numbers of query and key tiles differ some tiles are computed twice or at the wrong place and "
             "others are never written (uninitialised output).",
         expect=("program id", "decoding", "tile index", "n_tk", "grid index", "pid"),
         wrong=("scale", "stride", "mask", "transpose"),
         fails_today=True),
    dict(level=4, file="level4/at_store_transposed.py",
         bug="The store swaps the row and column strides of the output, writing score[j, i] at (i, j): the result "
             "is k @ q^T instead of q @ k^T for each head.",
         expect=("transpose", "row stride", "column", "swapped", "output stride", "k @ q"),
         wrong=("scale", "mask", "program id", "batch offset"),
         fails_today=True),
    dict(level=4, file="level4/at_grid_floor_division.py",
         bug="The number of query tiles is S // BLOCK instead of cdiv(S, BLOCK), so the last, partial tile of "
             "queries is never launched and those rows of the output stay uninitialised (all of them when S is "
             "smaller than a tile).",
         expect=("cdiv", "floor", "last tile", "grid", "ceil", "partial tile"),
         wrong=("scale", "transpose", "stride", "exp"),
         fails_today=True),
    # level 9: flash attention backward
    dict(level=9, file="level9/at_dk_unscaled.py",
         bug="dK is stored without the final multiplication by scale (dK = scale * dS^T @ Q), so dk is off by a "
             "factor 1/scale while dq and dv are right.",
         expect=("scale", "dk", "multiply by scale", "missing factor", "chain rule"),
         wrong=("lse", "mask", "delta", "loop bound"),
         fails_today=True),
    dict(level=9, file="level9/at_exp2_natural_lse.py",
         bug="The probabilities are computed as exp2(s * log2(e) - lse): the natural-log lse is not converted to "
             "base 2, so P = exp(s - lse * ln 2) instead of exp(s - lse) and every gradient is off.",
         expect=("log2", "lse", "exp2", "base", "natural log", "log2e"),
         wrong=("scale on dk", "causal mask", "loop bound", "delta"),
         fails_today=True),
    dict(level=9, file="level9/at_dq_stops_before_diagonal.py",
         bug="In the causal dQ walk the key loop ends at the start of the query tile instead of its end, so the "
             "diagonal key tile is skipped: dq misses every key in its own tile (and is zero for the first tile).",
         expect=("diagonal", "loop bound", "upper bound", "dq", "own tile", "range"),
         wrong=("scale", "lse", "delta", "exp2"),
         fails_today=True),
]

CORRECT = ["level11/correct_at.py", "level4/correct_at.py", "level9/correct_at.py"]
