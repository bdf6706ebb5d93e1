"""Level 4 (attention scores): mutants of solutions_hidden/level4_attention_scores.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="floor_grid",
        bug="The grid rounds down, so the partial last tiles of rows and columns get no program.",
        expect="last, partial block",
        probe_only=True,
        edits=(
            (
                "grid = (triton.cdiv(S, BLOCK_M), triton.cdiv(S, BLOCK_N), B * H)",
                "grid = (max(S // BLOCK_M, 1), max(S // BLOCK_N, 1), B * H)",
            ),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(
            (
                "    scores_kernel[grid](",
                "    return (q @ k.transpose(-1, -2)).float() * scale\n    scores_kernel[grid](",
            ),
        ),
    ),
    Mutant(
        name="scale_ignored",
        bug="The scores are never multiplied by the scale.",
        expect="the scale is not applied",
        edits=(("scores = tl.dot(q, tl.trans(k)) * scale", "scores = tl.dot(q, tl.trans(k))"),),
    ),
    Mutant(
        name="tail_unmasked",
        bug="The q and k loads have no mask, so the last tile reads past the end of the sequence.",
        expect="out-of-bounds load",
        guard_only=True,
        edits=(
            ("q = tl.load(q_ptrs, mask=rows[:, None] < S, other=0.0)", "q = tl.load(q_ptrs)"),
            ("k = tl.load(k_ptrs, mask=cols[:, None] < S, other=0.0)", "k = tl.load(k_ptrs)"),
        ),
    ),
    Mutant(
        name="transposed",
        bug="q and k are swapped at the launch, so the scores are k @ q^T, the transpose.",
        expect="transposed",
        edits=(("        q3, k3, out,\n", "        k3, q3, out,\n"),),
    ),
]
