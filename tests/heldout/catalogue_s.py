"""Blind-written mistakes, levels 2 to 4, author s."""

ENTRIES = [
    dict(level=2, file="level2/s_k_mask_not_advancing.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="The K mask compares the bare tile offsets with K instead of with what is left of K (K - k0), so on the last, partial K step the loads run past the end of each row of a and past the last row of b and multiply in values from the neighbouring row instead of zeros. The result is wrong whenever K is not a multiple of BLOCK_K.",
         expect=("k mask", "ragged k", "remaining k", "partial k", "k0", "inner dimension"),
         wrong=("grid", "accumulator dtype", "store mask", "program id"),
         fails_today=True),
    dict(level=2, file="level2/s_tile_index_uses_m_count.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="The flat program id is split into (pid_m, pid_n) by dividing by the number of tiles along M instead of along N, so when the tile counts along M and N differ some tiles of c are computed twice and others never written (left as torch.empty garbage).",
         expect=("program id", "pid_m", "pid_n", "tile index", "tiles along n", "unwritten"),
         wrong=("k mask", "accumulator dtype", "stride of b", "float16 precision"),
         fails_today=True),
    dict(level=2, file="level2/s_accumulator_in_input_dtype.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="The accumulator is created in c's dtype and every tl.dot partial is rounded to it before being added, so for float16 inputs the sum over K is accumulated in half precision and loses accuracy as K grows; float32 inputs are unaffected.",
         expect=("accumulator", "float32 accumulat", "half precision", "fp16 accumulat", "rounded to float16"),
         wrong=("mask", "grid", "stride", "program id"),
         fails_today=True),
    dict(level=3, file="level3/s_running_sum_not_rescaled.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="In the online pass the running sum l is never multiplied by exp(m - m_new) when the maximum grows, so terms from earlier blocks stay computed against an older, smaller maximum; rows wider than one block get a wrong denominator and do not sum to 1.",
         expect=("rescale", "running sum", "online softmax", "exp(m - m_new)", "wide rows", "correction factor"),
         wrong=("padded lanes", "row stride", "grid size", "output dtype"),
         fails_today=True),
    dict(level=3, file="level3/s_pad_lanes_zero.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="Lanes past N are loaded as 0.0 instead of -inf, so each padded lane adds exp(0 - m) to the row sum (and can become the maximum for all-negative rows); whenever N is not a multiple of the block the denominator is too large and the row no longer sums to 1.",
         expect=("padding", "-inf", "masked lanes", "other=0", "out-of-range lanes", "padded"),
         wrong=("rescale", "row stride", "grid", "output dtype"),
         fails_today=True),
    dict(level=4, file="level4/s_default_scale_uses_seq_len.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="When scale is None the default is computed as 1/sqrt(S) (the sequence length) instead of 1/sqrt(D) (the head dimension), so every score is scaled by the wrong constant unless S happens to equal D; an explicit scale is still right.",
         expect=("default scale", "1/sqrt(d)", "head dimension", "sequence length", "scale=none", "scaling factor"),
         wrong=("mask", "stride", "transpose", "output dtype"),
         fails_today=True),
    dict(level=4, file="level4/s_out_head_offset_q_stride.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="The output base pointer for head bh is offset with q's head stride (S*D) instead of the output's head stride (S*S), so with more than one (batch, head) and S != D the heads' score matrices are written at the wrong places, overlapping each other or leaving parts of the output unwritten.",
         expect=("head stride", "stride_oh", "output stride", "head offset", "batch*head offset", "wrong head"),
         wrong=("scale", "column mask", "transpose", "output dtype"),
         fails_today=True),
    dict(level=4, file="level4/s_store_mask_rows_only.py",
         # Read by accident while checking the file format (tenth session): counts with the corpus.
         seen=True,
         bug="The store is masked only on rows < S, not on columns < S, so the last tile of key columns writes past the end of each row of the S x S matrix into the start of the next row (and past the head), overwriting correct scores whenever S is not a multiple of BLOCK_N.",
         expect=("column mask", "cols < s", "store mask", "key columns", "out-of-bounds write", "spills"),
         wrong=("scale", "head stride", "transpose", "accumulator dtype"),
         fails_today=True),
    dict(level=4, file="level4/s_k_transpose_strides_swapped.py",
         bug="The k tile is read directly as a (D, BLOCK_N) transposed tile, but the sequence and dimension strides are swapped in its pointer arithmetic, so it loads the wrong elements of k (a transpose of the wrong block) and the dot products are against the wrong key vectors.",
         expect=("stride", "stride_ks", "stride_kd", "transposed load", "k tile", "swapped"),
         wrong=("scale", "column mask", "output dtype", "head offset of out"),
         fails_today=True),
    dict(level=4, file="level4/s_scores_in_input_dtype.py",
         bug="The output buffer is allocated in q's dtype instead of float32, so for float16 inputs the scores are rounded to half precision and returned as a float16 tensor, though the contract asks for float32.",
         expect=("float32", "dtype", "output dtype", "float16 output", "allocated"),
         wrong=("scale", "mask", "stride", "transpose"),
         fails_today=True),
]

CORRECT = ["level2/correct_s.py", "level3/correct_s.py", "level4/correct_s.py"]
