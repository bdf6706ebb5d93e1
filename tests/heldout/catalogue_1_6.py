"""Held-out learner mistakes, levels 1 to 6 (written blind to the diagnosis engine).

Each entry is a copy of the level's correct.py with one realistic mistake. `expect` holds short
alternative phrasings of the cause (a right diagnosis contains at least one, case-insensitive);
`wrong` holds phrases that point at a different, misleading cause. `fails_today` is the exit code
of `pytest --level N` on the file (True: exit 1, the checks caught it; False: exit 0).
"""

ENTRIES = [
    # ---------------------------------------------------------------- level 1: vector add
    dict(
        level=1,
        file="level1/mask_n_minus_one.py",
        # Issue 22's own example of class 1, fixed from the issue's text; this entry was then read
        # while the set was being wired up, so it counts with the corpus.
        seen=True,
        bug="The mask is offs < n - 1, so the last element of the vector is never loaded or stored.",
        expect=("mask", "off by one", "last element", "n - 1", "n-1"),
        wrong=("grid", "cdiv", "dtype"),
        fails_today=True,
    ),
    dict(
        level=1,
        file="level1/grid_floor_division.py",
        bug="The grid is n // BLOCK (rounded down), so the tail past the last full block gets no program (and n < BLOCK gets none at all).",
        expect=("grid", "cdiv", "round up", "rounded down", "too few programs"),
        wrong=("mask", "offset", "dtype"),
        fails_today=True,
    ),
    dict(
        level=1,
        file="level1/offset_not_scaled_by_block.py",
        bug="A program's first element is pid instead of pid * BLOCK, so the blocks overlap and most of the output is never written.",
        expect=("pid * block", "multipl", "block start", "offset", "overlap"),
        wrong=("mask", "grid", "dtype"),
        fails_today=True,
    ),
    dict(
        level=1,
        file="level1/load_y_from_x.py",
        bug="y is loaded through x_ptr, so the kernel returns x + x instead of x + y.",
        expect=("y_ptr", "x + x", "2 * x", "wrong pointer", "twice"),
        wrong=("mask", "grid", "offset"),
        fails_today=True,
    ),
    dict(
        level=1,
        file="level1/result_written_into_x.py",
        bug="The output buffer is x itself, so the sum overwrites the caller's input instead of going into a new tensor.",
        expect=("in place", "in-place", "overwrit", "new tensor", "input modified"),
        wrong=("mask", "grid", "dtype"),
        fails_today=True,
    ),
    dict(
        level=1,
        file="level1/output_always_float32.py",
        bug="The output is always allocated as float32, so float16 inputs get a float32 result instead of their own dtype.",
        expect=("dtype", "float32", "fp32", "empty_like"),
        wrong=("mask", "grid", "offset"),
        fails_today=True,
    ),
    # ---------------------------------------------------------------- level 2: matmul
    dict(
        level=2,
        file="level2/tile_index_uses_wrong_count.py",
        bug="The 1-D program id is split into (pid_m, pid_n) with the number of row tiles instead of column tiles, so some tiles of c are computed twice and others never.",
        expect=("pid_m", "pid_n", "num_pid", "tile index", "decompos"),
        wrong=("stride", "k loop", "accumulat"),
        fails_today=True,
    ),
    dict(
        level=2,
        file="level2/a_mask_ignores_k.py",
        bug="The a tile is masked on rows < M only, not on k < K, so the last K block reads past the end of each row instead of zeros.",
        expect=("k mask", "mask", "< k", "out of bounds", "ragged k"),
        wrong=("stride", "grid", "accumulat"),
        fails_today=True,
    ),
    dict(
        level=2,
        file="level2/b_strides_swapped.py",
        bug="b's strides are passed in swapped order (stride(1), stride(0)), so b is read as if transposed.",
        expect=("stride", "transpos", "swapped"),
        wrong=("mask", "grid", "accumulat"),
        fails_today=True,
    ),
    dict(
        level=2,
        file="level2/b_pointer_not_advanced.py",
        bug="The b pointers are never advanced inside the K loop, so every step multiplies by the first K block of b.",
        expect=("advance", "b_ptrs", "increment", "first k block", "pointer"),
        wrong=("mask", "grid", "fp16"),
        fails_today=True,
    ),
    dict(
        level=2,
        file="level2/accumulate_in_fp16.py",
        bug="The accumulator is float16 and every partial product is rounded to float16, so long sums lose precision (and fp32 inputs lose range).",
        expect=("fp16", "float16", "accumulat", "precision", "half"),
        wrong=("mask", "stride", "grid"),
        fails_today=True,
    ),
    dict(
        level=2,
        file="level2/k_loop_drops_tail.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The K loop stops at the last full BK block, so the remaining K % BK terms are never added (and K < BK gives all zeros).",
        expect=("loop", "k tail", "remainder", "k % ", "range"),
        # Was ("mask", ...): a right headline's fix, "mask k < K in the last one", contained it.
        wrong=("missing mask", "k mask", "stride", "grid"),
        fails_today=True,
    ),
    dict(
        level=2,
        file="level2/grid_counts_elements_not_tiles.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The grid is cdiv(M*N, BM*BN), which undercounts the tiles when M or N is ragged, so the last tiles of c are never written.",
        expect=("grid", "too few programs", "number of tiles", "number of programs"),
        wrong=("mask", "stride", "k loop"),
        fails_today=True,
    ),
    # ---------------------------------------------------------------- level 3: softmax
    dict(
        level=3,
        file="level3/no_max_subtraction.py",
        bug="The row maximum is never subtracted before exp, so large logits overflow to inf and the result is NaN.",
        expect=("max", "overflow", "stable", "subtract"),
        wrong=("rescale", "mask", "stride"),
        fails_today=True,
    ),
    dict(
        level=3,
        file="level3/running_sum_not_rescaled.py",
        bug="When a later chunk raises the running max, the running sum is not multiplied by exp(m_old - m_new), so wide rows get a wrong normaliser.",
        expect=("rescale", "exp(m", "correction", "running sum", "online"),
        wrong=("overflow", "mask", "stride"),
        fails_today=True,
    ),
    dict(
        level=3,
        file="level3/masked_load_without_other.py",
        bug="The masked loads have no other=-inf, so padding lanes past N read as 0 and add exp(0 - m) to the row sum.",
        expect=("other", "-inf", "padding", "pad"),
        wrong=("rescale", "stride", "overflow"),
        fails_today=True,
    ),
    dict(
        level=3,
        file="level3/row_offset_missing_stride.py",
        bug="A row starts at x_ptr + row instead of x_ptr + row * stride, so rows overlap and read and write the wrong elements.",
        expect=("stride", "row offset", "row *", "row start"),
        wrong=("mask", "rescale", "overflow"),
        fails_today=True,
    ),
    dict(
        level=3,
        file="level3/max_from_first_chunk_only.py",
        # It passed every check; a case was added for it from its description, so it counts with the corpus.
        seen=True,
        bug="The maximum is taken from the first chunk only, so a much larger logit in a later chunk of a wide row makes exp overflow (NaN).",
        expect=("first chunk", "first block", "max", "overflow", "whole row"),
        wrong=("mask", "stride", "padding"),
        fails_today=False,
    ),
    dict(
        level=3,
        file="level3/normalise_by_chunk_sum.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The second pass divides each chunk by its own sum instead of the whole row's sum, so wide rows do not sum to 1.",
        expect=("own sum", "chunk sum", "row sum", "normalis", "normaliz"),
        wrong=("overflow", "mask", "stride"),
        fails_today=True,
    ),
    # ---------------------------------------------------------------- level 4: attention scores
    dict(
        level=4,
        file="level4/missing_batch_offset.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The q and k addresses omit b * stride_b, so every batch uses batch 0's queries and keys.",
        expect=("batch", "stride_b", "b *"),
        wrong=("scale", "mask", "transpos"),
        fails_today=True,
    ),
    dict(
        level=4,
        file="level4/explicit_scale_ignored.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="scale is always overwritten with 1/sqrt(D), so an explicit scale argument is ignored.",
        expect=("explicit scale", "scale argument", "ignored", "scale=", "honour"),
        wrong=("1/d", "mask", "batch"),
        fails_today=True,
    ),
    dict(
        level=4,
        file="level4/divides_by_scale.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The scores are divided by scale instead of multiplied by it (so by default they are multiplied by sqrt(D)).",
        expect=("divide", "multipl", "inverse", "reciprocal", "/ scale"),
        wrong=("mask", "batch", "ignored"),
        fails_today=True,
    ),
    dict(
        level=4,
        file="level4/key_mask_uses_query_index.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The k tile is masked with the query indices instead of the key indices, so key rows past S are read out of bounds or real keys are zeroed.",
        # "k load", "key indices" and "past the last key" added when a right headline said it so.
        expect=("key mask", "k mask", "query ind", "wrong index", "out of bounds", "k load", "key indices", "past the last key"),
        wrong=("scale", "batch", "transpos"),
        fails_today=True,
    ),
    dict(
        level=4,
        file="level4/store_transposed.py",
        # Its headline or description was read by accident on 2026-12-07 (eighth session), so it
        # counts with the corpus; a fresh mistake replaces it.
        seen=True,
        bug="The store swaps the row and column strides of the output, so the scores come out transposed (k @ q^T).",
        expect=("transpos", "swapped", "row and column", "stride"),
        wrong=("scale", "batch", "mask"),
        fails_today=True,
    ),
    dict(
        level=4,
        file="level4/output_in_input_dtype.py",
        bug="The output is allocated in q's dtype instead of float32, so float16 inputs return float16 scores.",
        expect=("float32", "dtype", "fp32"),
        wrong=("scale", "mask", "batch"),
        fails_today=True,
    ),
    dict(
        level=4,
        file="level4/torch_matmul_scale_kernel.py",
        bug="q @ k^T is computed with torch.matmul and the Triton kernel only multiplies by scale, so the answer does not come from a Triton kernel.",
        expect=("torch", "pytorch", "torch.matmul", "not computed by triton"),
        wrong=("scale", "mask", "dtype"),
        fails_today=True,
    ),
    # ---------------------------------------------------------------- level 5: causal mask
    dict(
        level=5,
        file="level5/diagonal_also_masked.py",
        bug="The test is cols >= row, so the diagonal (a token looking at itself) is set to -inf too.",
        expect=("diagonal", ">=", "j == i", "off by one", "itself"),
        wrong=("head", "stride", "lower"),
        fails_today=True,
    ),
    dict(
        level=5,
        file="level5/masks_lower_triangle.py",
        bug="The test is cols < row, so the past (below the diagonal) is hidden and the future is kept.",
        expect=("lower", "direction", "below", "reversed", "inverted", "past"),
        wrong=("head", "stride", "grid"),
        fails_today=True,
    ),
    dict(
        level=5,
        file="level5/chunk_local_column_index.py",
        bug="The future test compares the chunk-local lane index with the row instead of the global column c0 + lane, so chunks after the first are masked wrongly.",
        expect=("local", "global", "c0", "chunk offset", "absolute"),
        wrong=("diagonal", "head", "stride"),
        fails_today=True,
    ),
    dict(
        level=5,
        file="level5/head_offset_missing.py",
        bug="The (batch, head) offset is left out of both the load and the store address, so every program works on head 0 and the other heads of the output are never written.",
        expect=("head", "bh", "batch", "uninitial", "never written"),
        wrong=("diagonal", "direction", "-inf"),
        fails_today=True,
    ),
    dict(
        level=5,
        file="level5/program_id_axes_swapped.py",
        bug="row and head are read from the wrong program_id axes (the grid is (S, B*H)), so rows and heads are mixed up.",
        expect=("program_id", "axis", "axes", "swapped", "grid"),
        wrong=("diagonal", "-inf", "stride"),
        fails_today=True,
    ),
    dict(
        level=5,
        file="level5/fills_zero_not_neg_inf.py",
        bug="Future scores are replaced by 0 instead of -inf, so they still get weight after a softmax.",
        expect=("-inf", "inf", "zero", "0.0"),
        wrong=("diagonal", "head", "grid"),
        fails_today=True,
    ),
    dict(
        level=5,
        file="level5/writes_into_input.py",
        bug="out is a view of the input, so the caller's scores are modified in place instead of returning a new tensor.",
        expect=("in place", "in-place", "overwrit", "new tensor", "input modified"),
        wrong=("diagonal", "head", "-inf"),
        fails_today=True,
    ),
    # ---------------------------------------------------------------- level 6: naive attention
    dict(
        level=6,
        file="level6/softmax_grid_misses_heads.py",
        bug="The softmax grid is cdiv(S, ROWS) instead of cdiv(B*H*S, ROWS), so only the first head's rows are normalised and the rest of probs is unwritten torch.empty memory.",
        expect=("softmax grid", "grid", "unwritten", "uninitial", "torch.empty", "n_rows"),
        wrong=("scale", "causal", "overflow"),
        fails_today=True,
    ),
    dict(
        level=6,
        file="level6/scale_one_over_d.py",
        bug="The default scale is 1/D instead of 1/sqrt(D).",
        expect=("1/d", "1 / d", "sqrt", "scale"),
        wrong=("causal", "max", "head"),
        fails_today=True,
    ),
    dict(
        level=6,
        file="level6/softmax_no_max_subtraction.py",
        bug="The softmax kernel never subtracts the row maximum before exp, so large scores overflow to inf and give NaN.",
        expect=("max", "overflow", "stable", "subtract"),
        wrong=("scale", "causal", "grid"),
        fails_today=True,
    ),
    dict(
        level=6,
        file="level6/causal_tile_local_indices.py",
        bug="The causal test compares tile-local arange indices instead of global query and key indices, so off-diagonal tiles are masked wrongly.",
        expect=("local", "global", "tile offset", "absolute"),
        wrong=("scale", "max", "grid"),
        fails_today=True,
    ),
    dict(
        level=6,
        file="level6/causal_flag_always_true.py",
        bug="CAUSAL=True is hard-coded in the scores launch, so causal=False still hides the future keys.",
        expect=("causal=false", "causal flag", "hard-coded", "hardcoded", "non-causal"),
        wrong=("scale", "max", "diagonal"),
        fails_today=True,
    ),
    dict(
        level=6,
        file="level6/v_missing_head_offset.py",
        bug="The v address in the P @ V kernel omits bh * stride, so every head multiplies by head 0's values.",
        expect=("head", "bh", "v offset", "v_bh", "batch"),
        wrong=("scale", "causal", "max"),
        fails_today=True,
    ),
    dict(
        level=6,
        file="level6/torch_softmax_between_kernels.py",
        # Its summary (one of two wrong kernels that passed) was read to design the check of tensors
        # that kernels read but no kernel wrote, so it counts with the corpus.
        seen=True,
        bug="The softmax step is torch.softmax between the two Triton kernels, so part of the answer is computed by PyTorch.",
        expect=("torch", "pytorch", "torch.softmax"),
        wrong=("scale", "causal", "overflow"),
        fails_today=False,
    ),
    dict(
        level=6,
        file="level6/softmax_pads_with_zero.py",
        bug="The softmax loads padding columns (j >= S) as 0 instead of -inf, so they add exp(0 - m) to each row's sum when S is not a multiple of the chunk width.",
        expect=("padding", "pad", "other", "-inf"),
        wrong=("scale", "causal", "head"),
        fails_today=True,
    ),
    # Written 2026-12-07 to replace torch_softmax_between_kernels, which was seen.
    dict(
        level=6,
        file="level6/softmax_sum_not_rescaled.py",
        # Its author's report (the file name, and that it passes) told what it is: level 6's cases
        # were then given rows longer than one chunk, so it counts with the corpus.
        seen=True,
        bug="The chunked softmax keeps a running row maximum but never rescales the running sum by exp(old max - new max) when the maximum grows, so rows longer than one chunk get the wrong denominator.",
        expect=("rescal", "running sum", "exp(m - m_new)", "online softmax", "denominator"),
        wrong=("causal mask", "scale", "p @ v"),
        fails_today=False,
    ),
    # Written 2026-12-07 to replace softmax_sum_not_rescaled, which was seen.
    dict(
        level=6,
        file="level6/mistake_r2.py",
        bug="The scores kernel is launched with sm_scale, the default 1/sqrt(D), instead of the scale argument, so an explicit scale passed by the caller is silently ignored.",
        expect=("explicit scale", "scale argument", "sm_scale", "ignored", "not honoured"),
        wrong=("causal", "max subtraction", "head offset"),
        fails_today=True,
    ),
    dict(
        level=3,
        file="level3/exp2_for_exp.py",
        bug="Every exponential is tl.exp2 where tl.exp is meant, with no multiplication by log2(e), so each row is a base-2 softmax (logits effectively scaled by ln 2) and the weights come out too flat.",
        expect=("exp2", "log2", "base 2", "base-2", "ln 2"),
        wrong=("running sum", "mask", "row stride", "overflow"),
        fails_today=True,
    ),
]

CORRECT = [
    "level1/correct.py",
    "level2/correct.py",
    "level3/correct.py",
    "level4/correct.py",
    "level5/correct.py",
    "level6/correct.py",
]
