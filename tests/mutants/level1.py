"""Level 1 (vector add): mutants of solutions_hidden/level1_vector_add.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="floor_grid",
        bug="The grid rounds down, so the partial last block gets no program.",
        expect="last, partial block",
        probe_only=True,
        edits=(("grid = (triton.cdiv(n, BLOCK_SIZE),)", "grid = (max(n // BLOCK_SIZE, 1),)"),),
    ),
    Mutant(
        name="load_unmasked",
        bug="The loads have no mask, so the last block reads past the end of x and y.",
        expect="out-of-bounds load",
        guard_only=True,
        edits=(
            ("x = tl.load(x_ptr + offsets, mask=mask)", "x = tl.load(x_ptr + offsets)"),
            ("y = tl.load(y_ptr + offsets, mask=mask)", "y = tl.load(y_ptr + offsets)"),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(("    add_kernel[grid](", "    return x + y\n    add_kernel[grid]("),),
    ),
    Mutant(
        name="store_unmasked",
        bug="The store has no mask, so the last block writes past the end of `out`.",
        expect="out-of-bounds store",
        guard_only=True,
        edits=(("tl.store(out_ptr + offsets, x + y, mask=mask)", "tl.store(out_ptr + offsets, x + y)"),),
    ),
]
