"""Level 6 (naive attention): mutants of solutions_hidden/level6_naive_attention.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="causal_ignored",
        bug="The causal flag is ignored: the mask is always applied.",
        expect="although causal=False",
        edits=(("D=D, CAUSAL=bool(causal),", "D=D, CAUSAL=True,"),),
    ),
    Mutant(
        name="diagonal_masked",
        bug="The causal mask hides the diagonal too (j >= i), leaving row 0 with no key.",
        expect="diagonal is masked too",
        edits=(
            (
                's = tl.where(cols[None, :] > rows[:, None], float("-inf"), s)',
                's = tl.where(cols[None, :] >= rows[:, None], float("-inf"), s)',
            ),
        ),
    ),
    Mutant(
        name="no_max_subtraction",
        bug="The softmax takes exp of the raw scores, which overflows for large logits.",
        expect="subtract the row max",
        probe_only=True,
        edits=(
            ("total += tl.sum(tl.exp(x - m[:, None]), axis=1)", "total += tl.sum(tl.exp(x), axis=1)"),
            ("p = tl.exp(x - m[:, None]) / total[:, None]", "p = tl.exp(x) / total[:, None]"),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(
            (
                "    scores_kernel[grid](",
                "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)\n"
                "    scores_kernel[grid](",
            ),
        ),
    ),
    Mutant(
        name="scale_ignored",
        bug="The scores are never multiplied by the scale.",
        expect="the scale is not applied",
        edits=(("s = tl.dot(q, tl.trans(k)) * scale", "s = tl.dot(q, tl.trans(k))"),),
    ),
]
