"""Blind-written mistakes, levels 3, 5 and 6 (tuning corpus)."""

ENTRIES = [
    # ---------------- level 3: softmax ----------------
    dict(level=3, file="level3/narrow_pad_zero.py",
         bug="The one-block kernel loads the lanes past N as 0.0 instead of -inf, so every padding lane adds "
             "exp(0 - max) to the denominator (and wins the max when the row is all negative).",
         expect=("padding", "other=", "-inf", "lanes past n", "masked lanes"),
         wrong=("rescale", "stride", "overflow"),
         fails_today=True),
    dict(level=3, file="level3/wide_rescale_inverted.py",
         bug="In the online pass the running sum is multiplied by exp(m_new - m) instead of exp(m - m_new): "
             "the correction goes the wrong way (and is inf on the first block), so wide rows come out NaN or wrong.",
         expect=("rescale", "exp(m - m_new)", "running sum", "correction"),
         wrong=("padding", "stride", "dtype"),
         fails_today=True),
    dict(level=3, file="level3/out_float32_alloc.py",
         bug="The wrapper allocates the output as float32 for every input, so a float16 (or bfloat16) input "
             "gets a float32 result instead of one in x's dtype.",
         expect=("dtype", "float32 output", "empty_like", "allocat"),
         wrong=("max subtraction", "overflow", "rescale"),
         fails_today=True),
    dict(level=3, file="level3/wide_floor_block_count.py",
         bug="The wide kernel loops over N // BLOCK whole blocks, so the partial last block of a row whose width "
             "is not a multiple of 1024 is never summed nor written.",
         expect=("last block", "tail", "n // block", "cdiv", "never written"),
         wrong=("rescale", "dtype", "max subtraction"),
         fails_today=True),
    dict(level=3, file="level3/exp_over_exp_max.py",
         bug="The max is 'subtracted' as exp(x) / exp(max) instead of exp(x - max): the same algebra, but both "
             "exponentials overflow to inf for large logits and inf / inf is NaN.",
         expect=("overflow", "exp(x - max)", "exp(x) / exp", "inf / inf"),
         wrong=("padding", "stride", "running sum"),
         fails_today=True),
    dict(level=3, file="level3/row_stride_wrong_axis.py",
         bug="The wrapper passes x.stride(1) and out.stride(1), the column stride (1), as the row stride, so "
             "row r is read and written starting r elements in instead of r * N.",
         expect=("stride(0)", "row stride", "stride(1)", "row offset"),
         wrong=("padding", "rescale", "overflow"),
         fails_today=True),

    # ---------------- level 5: causal mask ----------------
    dict(level=5, file="level5/diagonal_masked.py",
         bug="The future test is cols >= rows, so the diagonal is masked too: a token may not look at itself "
             "and row 0 becomes all -inf.",
         expect=("diagonal", ">=", "off by one", "j == i"),
         wrong=("stride", "head offset", "grid"),
         fails_today=True),
    dict(level=5, file="level5/tile_local_mask_indices.py",
         bug="The causal comparison uses tile-local aranges instead of the global row and column indices, so "
             "every tile is masked like a diagonal tile: tiles off the diagonal get a triangle they should not have.",
         expect=("global", "tile-local", "local index", "pid_m * block_m", "pid_n"),
         wrong=("stride", "bounds mask", "-1e9"),
         fails_today=True),
    dict(level=5, file="level5/grid_heads_first.py",
         bug="The grid is (B*H, row tiles, column tiles) while the kernel takes the head from program_id(2) and the "
             "row tile from program_id(0): the axes of the grid and of the kernel do not agree.",
         expect=("grid", "program_id", "axis", "launch"),
         wrong=("diagonal", "-inf fill", "off by one"),
         fails_today=True),
    dict(level=5, file="level5/bounds_rows_only.py",
         bug="The bounds mask only checks rows < S; the columns past S of the last tile of a ragged row spill into "
             "the next row (and past the end of the buffer), overwriting it.",
         expect=("cols < s", "column mask", "out of bounds", "out-of-bounds", "bounds"),
         wrong=("diagonal", "stride", "-1e9"),
         fails_today=True),
    dict(level=5, file="level5/finite_fill.py",
         bug="Future scores are set to -1e9, a large finite number, instead of -inf as the contract asks.",
         expect=("-inf", "finite", "-1e9", "infinity"),
         wrong=("diagonal", "stride", "grid"),
         fails_today=True),
    dict(level=5, file="level5/head_offset_uses_S.py",
         bug="The head offset is bh * S instead of bh * stride_h (S * S elements per head), so every head after the "
             "first reads and writes a window that starts S elements into head 0.",
         expect=("head offset", "bh * s", "stride_xh", "s * s", "head stride"),
         wrong=("diagonal", "-1e9", "program ids swapped"),
         fails_today=True),
    dict(level=5, file="level5/in_place_on_input.py",
         bug="The output is the input itself (out = x), so the kernel masks the caller's scores in place instead of "
             "returning a new tensor; the values returned are right.",
         expect=("in place", "in-place", "new tensor", "input was modified", "mutat"),
         wrong=("diagonal", "stride", "grid"),
         fails_today=True),

    # ---------------- level 6: naive attention ----------------
    dict(level=6, file="level6/softmax_exp2_no_log2e.py",
         bug="The softmax uses tl.exp2 without multiplying by log2(e), so it computes 2**(x - m) / sum: a base-2 "
             "softmax, the same as a natural softmax with the scale multiplied by ln 2.",
         expect=("exp2", "log2", "ln 2", "ln(2)", "0.693"),
         wrong=("causal", "stride", "accumulat"),
         fails_today=True),
    dict(level=6, file="level6/pv_always_causal_skip.py",
         bug="pv_kernel stops its key loop at the end of the query block, skipping 'future' keys, even when "
             "causal=False: non-causal rows lose every key after their own block.",
         expect=("loop bound", "causal=false", "non-causal", "skip", "later keys"),
         wrong=("exp2", "scale", "-inf fill", "dtype"),
         fails_today=True),
    dict(level=6, file="level6/softmax_row_pitch_block.py",
         bug="The softmax addresses row r at r * BLOCK_N (the padded chunk width) instead of r * S, which is only "
             "right when S is a power of two no wider than one chunk.",
         expect=("r * s", "row pitch", "row stride", "block_n", "power of two"),
         wrong=("causal", "exp2", "accumulat"),
         fails_today=True),
    dict(level=6, file="level6/pv_overwrites_acc.py",
         bug="The P @ V loop assigns acc = tl.dot(...) instead of acc += tl.dot(...), so only the last block of "
             "keys contributes to the output.",
         expect=("acc +=", "accumulate", "overwrit", "last block"),
         wrong=("scale", "exp2", "stride"),
         fails_today=True),
    dict(level=6, file="level6/causal_fill_zero.py",
         bug="Future scores are 'masked out' by setting them to 0.0 instead of -inf, so the softmax still gives them "
             "the weight exp(0 - m) and queries attend to future keys.",
         expect=("-inf", "0.0", "zero", "future keys"),
         wrong=("stride", "exp2", "loop bound"),
         fails_today=True),
    dict(level=6, file="level6/scores_in_q_dtype.py",
         bug="The scores and probs buffers are allocated in q's dtype instead of float32, so with float16 inputs the "
             "scores are rounded to half precision before the softmax and large logits lose their accuracy.",
         expect=("float32", "fp32", "half precision", "float16 scores", "buffer dtype"),
         wrong=("causal", "exp2", "loop bound"),
         fails_today=True),
]

CORRECT = ["level3/correct.py", "level5/correct.py", "level6/correct.py"]
