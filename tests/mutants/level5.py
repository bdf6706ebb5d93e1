"""Level 5 (causal mask): mutants of solutions_hidden/level5_causal_mask.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="diagonal_masked",
        bug="The diagonal is hidden too (j >= i instead of j > i).",
        expect="diagonal is masked too",
        edits=(("future = cols[None, :] > rows[:, None]", "future = cols[None, :] >= rows[:, None]"),),
    ),
    Mutant(
        name="fills_zero",
        bug="Hidden scores are set to 0 instead of -inf.",
        expect="set to 0 instead of -inf",
        edits=(('x = tl.where(future, float("-inf"), x)', "x = tl.where(future, 0.0, x)"),),
    ),
    Mutant(
        name="in_place",
        bug="The kernel writes the masked scores back into the input and returns it.",
        expect="return a new tensor",
        edits=(("out = torch.empty_like(x)  # a new tensor: the caller's scores stay as they were", "out = x"),),
    ),
    Mutant(
        name="tile_local_mask",
        bug="The mask compares positions inside the tile instead of global indices.",
        expect="GLOBAL row and column",
        edits=(
            (
                "future = cols[None, :] > rows[:, None]",
                "future = tl.arange(0, BLOCK_N)[None, :] > tl.arange(0, BLOCK_M)[:, None]",
            ),
        ),
    ),
    Mutant(
        name="wrong_direction",
        bug="The mask hides the past (j < i) instead of the future.",
        expect="wrong way",
        edits=(("future = cols[None, :] > rows[:, None]", "future = cols[None, :] < rows[:, None]"),),
    ),
]
