"""Level 1 (vector add): learner mistakes, as edits of solutions_hidden/level1_vector_add.py."""

from . import Mistake

MISTAKES = [
    Mistake(
        name="grid_rounded_down",
        bug="The grid is n // BLOCK_SIZE: the partial last block gets no program, and n < 1024 launches none.",
        expect="grid",
        wrong=("never written", "without a mask"),
        issue="13.4",
        edits=(("grid = (triton.cdiv(n, BLOCK_SIZE),)", "grid = (n // BLOCK_SIZE,)"),),
    ),
    Mistake(
        name="x_load_unmasked",
        bug="Only the load of x forgot its mask: the last block reads past the end of x.",
        expect="without a mask",
        wrong=("y_ptr", "out_ptr", "grid"),
        issue="13.5",
        edits=(("x = tl.load(x_ptr + offsets, mask=mask)", "x = tl.load(x_ptr + offsets)"),),
    ),
    Mistake(
        name="mask_le_n",
        bug="mask = offsets <= n: one lane past the end reads and writes element n.",
        expect="offsets < n",
        wrong=("without a mask", "grid"),
        edits=(("mask = offsets < n", "mask = offsets <= n"),),
    ),
    Mistake(
        name="mask_against_block_size",
        bug="mask = offsets < BLOCK_SIZE (the block size, not the length): only block 0 is masked at all.",
        expect="offsets < n",
        wrong=("grid", "never written"),
        edits=(("mask = offsets < n", "mask = offsets < BLOCK_SIZE"),),
    ),
    Mistake(
        name="offsets_without_block_stride",
        bug="offsets = pid + tl.arange(0, BLOCK_SIZE): blocks start one element apart, not BLOCK_SIZE apart.",
        expect="pid * BLOCK_SIZE",
        wrong=("last, partial block", "without a mask", "never written"),
        edits=(("offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)", "offsets = pid + tl.arange(0, BLOCK_SIZE)"),),
    ),
    Mistake(
        name="offsets_ignore_pid",
        bug="offsets = tl.arange(0, BLOCK_SIZE): every program adds block 0, the rest is never stored.",
        expect="pid * BLOCK_SIZE",
        wrong=("last, partial block", "without a mask", "mask is offsets"),
        edits=(("offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)", "offsets = tl.arange(0, BLOCK_SIZE)"),),
    ),
    Mistake(
        name="y_loaded_from_x",
        bug="Copy-paste: y is loaded from x_ptr, so the kernel stores x + x.",
        expect="y_ptr",
        wrong=("constant factor", "grid", "mask"),
        edits=(("y = tl.load(y_ptr + offsets, mask=mask)", "y = tl.load(x_ptr + offsets, mask=mask)"),),
    ),
]
