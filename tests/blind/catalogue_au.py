"""Blind-written mistakes, levels 10, 3, 7, 1, author au."""

ENTRIES = [
    dict(level=10, file="level10/au_kv_head_modulo.py",
         bug="The key/value head is taken as h % Hkv instead of h // (Hq // Hkv), so query heads are "
             "spread round-robin over the kv heads instead of in consecutive groups; with several kv "
             "heads most query heads attend to the wrong keys and values.",
         expect=("kv head", "h // group", "modulo", "head mapping", "grouping", "round-robin"),
         wrong=("causal mask", "online softmax rescale", "scale factor", "padding mask"),
         fails_today=True),
    dict(level=10, file="level10/au_kv_batch_offset.py",
         bug="The row of k and v ignores the batch: it uses only the kv head index and drops the "
             "b * Hkv term, so every batch reads batch 0's keys and values.",
         expect=("batch offset", "batch", "b * hkv", "kv row", "batch index"),
         wrong=("causal mask", "exp2", "head dimension", "query tile"),
         fails_today=True),
    dict(level=10, file="level10/au_max_before_scale.py",
         bug="The running maximum is taken over the unscaled scores and multiplied by the scale "
             "afterwards; with a negative scale that is the smallest scaled score, not the largest "
             "(and masked -inf scores turn into +inf), so the exponentials overflow and the output "
             "becomes inf/NaN.",
         expect=("negative scale", "before scaling", "unscaled", "row max", "smallest"),
         wrong=("kv head", "batch offset", "causal diagonal", "query stride"),
         fails_today=True),
    dict(level=10, file="level10/au_acc_no_rescale.py",
         bug="When the running maximum grows, the normaliser l is rescaled by alpha but the output "
             "accumulator is not, so earlier key tiles keep weights measured against a stale maximum "
             "and the output is wrong whenever there is more than one key tile.",
         expect=("rescale", "accumulator", "alpha", "acc", "correction factor"),
         wrong=("kv head", "batch offset", "exp base", "padding mask"),
         fails_today=True),
    dict(level=3, file="level3/au_no_max_shift.py",
         bug="The single-block kernel exponentiates the raw row without subtracting its maximum, so "
             "large logits overflow exp to inf and the row becomes NaN.",
         expect=("max", "subtract", "overflow", "stable", "inf"),
         wrong=("row stride", "rescale", "wide rows", "dtype"),
         fails_today=True),
    dict(level=3, file="level3/au_chunk_sum_no_rescale.py",
         bug="In the wide-row kernel the running sum is not multiplied by exp(m_old - m_new) when the "
             "maximum grows, so the normaliser is too large and rows wider than one block come out "
             "too small (they no longer sum to 1).",
         expect=("rescale", "running sum", "exp(m - m_new)", "online softmax", "wide"),
         wrong=("padding", "overflow", "row stride", "mask"),
         fails_today=True),
    dict(level=3, file="level3/au_pad_lanes_zero.py",
         bug="Lanes past N in the single-block kernel are loaded as 0.0 instead of -inf, so the padding "
             "adds exp(0 - max) terms to the denominator (and can win the max), and rows whose width "
             "is not a power of two come out wrong.",
         expect=("-inf", "padding", "other=", "padded lanes", "power of two"),
         wrong=("rescale", "overflow", "row stride", "wide rows"),
         fails_today=True),
    dict(level=7, file="level7/au_causal_diagonal_hidden.py",
         bug="The causal mask keeps only keys j < i, hiding the diagonal: each query no longer sees "
             "itself, and query 0 sees no key at all, so its row is 0/0 = NaN.",
         expect=("diagonal", "j <= i", "off-by-one", "causal", "nan"),
         wrong=("padding mask", "exp base", "alpha", "head stride"),
         fails_today=True),
    dict(level=7, file="level7/au_ragged_keys_skipped.py",
         bug="The key loop stops at S // BLOCK_N * BLOCK_N, so the last, partial key tile is never "
             "visited; keys in it are ignored and when S < BLOCK_N no key is read at all (NaN).",
         expect=("last tile", "loop bound", "partial", "ragged", "remaining keys"),
         wrong=("causal diagonal", "exp base", "alpha", "query mask"),
         fails_today=True),
    dict(level=7, file="level7/au_exp2_without_log2e.py",
         bug="The kernel switches to exp2 but still feeds it natural-log-scaled scores (no log2(e) "
             "factor), so it computes a softmax with the scale multiplied by ln 2: the weights are too "
             "flat and the output is wrong.",
         expect=("exp2", "log2e", "log2(e)", "base", "ln 2"),
         wrong=("causal mask", "loop bound", "padding", "rescale of acc"),
         fails_today=True),
    dict(level=1, file="level1/au_grid_floor_division.py",
         bug="The grid is n // BLOCK_SIZE instead of a ceiling division, so the last partial block "
             "(and for n < BLOCK_SIZE every element) is never computed and the output keeps "
             "uninitialised values there.",
         expect=("grid", "ceil", "cdiv", "rounds down", "last block"),
         wrong=("mask", "dtype", "stride", "program id"),
         fails_today=True),
    dict(level=1, file="level1/au_block_start_not_scaled.py",
         bug="Each program starts at pid instead of pid * BLOCK_SIZE, so the blocks overlap at the "
             "front and elements past BLOCK_SIZE + grid - 1 are never written.",
         expect=("pid * block_size", "block start", "offset", "overlap", "block_size"),
         wrong=("grid size", "mask", "dtype", "ceil"),
         fails_today=True),
]

CORRECT = ["level10/correct_au.py", "level3/correct_au.py", "level7/correct_au.py", "level1/correct_au.py"]
