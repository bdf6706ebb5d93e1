"""Level 5 (causal mask): learner mistakes, as edits of solutions_hidden/level5_causal_mask.py."""

from . import Mistake

MISTAKES = [
    Mistake(
        name="grid_rounded_down",
        bug="The grid is (S // BLOCK_M, S // BLOCK_N, B * H): partial tiles get no program, S < 64 none at all.",
        expect="grid",
        wrong=("GLOBAL", "diagonal", "wrong way", "not hidden", "never written"),
        issue="13.2",
        edits=(
            (
                "grid = (triton.cdiv(S, BLOCK_M), triton.cdiv(S, BLOCK_N), B * H)",
                "grid = (S // BLOCK_M, S // BLOCK_N, B * H)",
            ),
        ),
    ),
    Mistake(
        name="where_args_swapped",
        bug="tl.where(future, x, -inf): the arguments are swapped, so the future is kept and the rest hidden.",
        expect="swapped",
        wrong=("diagonal is masked", "GLOBAL", "not hidden", "0 instead of -inf"),
        issue="13.11",
        edits=(('x = tl.where(future, float("-inf"), x)', 'x = tl.where(future, x, float("-inf"))'),),
    ),
    Mistake(
        name="missing_head_offset",
        bug="The load leaves out bh * stride_xh: every (batch, head) slice gets the scores of head 0.",
        expect="head",
        wrong=("GLOBAL", "diagonal", "wrong way", "not hidden"),
        edits=(("x = tl.load(x_ptr + bh * stride_xh + rows", "x = tl.load(x_ptr + rows"),),
    ),
    Mistake(
        name="load_unmasked",
        bug="The mask is only on the store: the load of the last tiles reads past the end of the scores.",
        expect="without a mask",
        wrong=("GLOBAL", "grid", "diagonal"),
        edits=(
            (
                "cols[None, :] * stride_xj, mask=in_bounds)\n",
                "cols[None, :] * stride_xj)\n",
            ),
        ),
    ),
    Mistake(
        name="fill_minus_1e9",
        bug="Hidden scores are set to -1e9 (the PyTorch habit) instead of -inf.",
        expect="large negative",
        wrong=("0 instead of -inf", "wrong way", "GLOBAL", "not hidden"),
        edits=(('x = tl.where(future, float("-inf"), x)', "x = tl.where(future, -1e9, x)"),),
    ),
    Mistake(
        name="store_mask_rows_only",
        bug="The store is masked on rows only: columns past S of the last column tile spill into the next row.",
        expect="store mask",
        wrong=("loaded without", "GLOBAL", "diagonal", "wrong way", "not hidden"),
        edits=(("* stride_oj, x, mask=in_bounds)", "* stride_oj, x, mask=rows[:, None] < S)"),),
    ),
    Mistake(
        name="rows_broadcast_as_columns",
        bug="future = cols[None, :] > rows[None, :]: rows broadcast along the wrong axis, so lane j is compared with lane j.",
        expect="rows[:, None]",
        wrong=("diagonal is masked", "wrong way", "0 instead of -inf"),
        edits=(("future = cols[None, :] > rows[:, None]", "future = cols[None, :] > rows[None, :]"),),
    ),
]
