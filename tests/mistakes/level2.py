"""Level 2 (tiled matmul): learner mistakes, as edits of solutions_hidden/level2_matmul.py.

The solution sends row-major, 16-byte aligned operands to a tensor-descriptor kernel; the learner's
kata has only the pointer kernel, where these mistakes live. Every mistake therefore also turns the
descriptor path off (ONE_KERNEL), so that all cases run the mistaken kernel, as they would for a learner.
"""

from . import Mistake

ONE_KERNEL = ("    if _descriptor_ready(a, b):\n", "    if False:  # the learner's kata has the pointer kernel only\n")

MISTAKES = [
    Mistake(
        name="acc_overwritten",
        bug="acc = tl.dot(a_tile, b_tile) replaces the accumulator each K step instead of adding to it.",
        expect="accumulat",
        wrong=("without a mask", "partial block along K", "transposed", "last, partial block"),
        issue="13.1",
        edits=(ONE_KERNEL, ("return tl.dot(a, b, acc)", "return tl.dot(a, b)")),
    ),
    Mistake(
        name="k_loop_counts_tiles",
        bug="The K loop counts tiles (range(cdiv(K, BLOCK_K))) but uses the count as an element offset: slices overlap.",
        expect="BLOCK_K",
        wrong=("without a mask", "transposed", "last, partial block"),
        edits=(
            ONE_KERNEL,
            (
                "for k0 in range(0, K, BLOCK_K):\n        acc = _dot_slice(",
                "for k0 in range(0, tl.cdiv(K, BLOCK_K)):\n        acc = _dot_slice(",
            ),
        ),
    ),
    Mistake(
        name="k_mask_tile_local",
        bug="The K mask compares the tile-local ks with K (ks < K) instead of the global k0 + ks < K.",
        expect="k0 +",
        wrong=("without a mask", "accumulat", "transposed"),
        edits=(ONE_KERNEL, ("k_inside = ks < K - k0", "k_inside = ks < K")),
    ),
    Mistake(
        name="a_strides_swapped",
        bug="a's strides are passed in the wrong order, so a is read as if transposed.",
        expect="a is read transposed",
        wrong=("b is read transposed", "without a mask", "stored transposed", "last, partial block"),
        edits=(ONE_KERNEL, ("a.stride(0), a.stride(1), b.stride(0)", "a.stride(1), a.stride(0), b.stride(0)")),
    ),
    Mistake(
        name="store_mask_rows_only",
        bug="The store is masked on rows only: the columns past N of the last tile spill into the next row of c.",
        expect="store mask",
        wrong=("loaded without", "grid", "accumulat", "mixes up M and N"),
        edits=(ONE_KERNEL, ("mask=(rows[:, None] < M) & (cols[None, :] < N))", "mask=rows[:, None] < M)")),
    ),
    Mistake(
        name="acc_in_output_dtype",
        bug="The accumulator is created in c's dtype: float16 inputs accumulate in float16 (no float32 upcast).",
        expect="float32",
        wrong=("without a mask", "transposed", "partial block"),
        edits=(
            ONE_KERNEL,
            ("dtype=tl.float32)\n    # Walk K", "dtype=c_ptr.dtype.element_ty)\n    # Walk K"),
        ),
    ),
    Mistake(
        name="pid_split_by_wrong_count",
        bug="The 1-D program id is split into (pid_m, pid_n) with the tile count of the wrong axis.",
        expect="pid_m",
        wrong=("without a mask", "transposed", "last, partial block", "accumulat"),
        edits=(
            ONE_KERNEL,
            (
                "    pid_m = first_pid_m + (pid % tiles_per_group) % group_rows\n"
                "    pid_n = (pid % tiles_per_group) // group_rows\n",
                "    pid_m = pid // num_pid_m\n    pid_n = pid % num_pid_m\n",
            ),
        ),
    ),
]
