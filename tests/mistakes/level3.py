"""Level 3 (softmax): learner mistakes, as edits of solutions_hidden/level3_softmax.py.

The solution has the two kernels of the template: one block per row for N <= 1024 (under the
interpreter), and a two-pass online walk for wider rows.
"""

from . import Mistake

MISTAKES = [
    Mistake(
        name="row_stride_is_block",
        bug="The narrow kernel steps rows by the padded block width (row * BLOCK) instead of the row stride.",
        expect="stride",
        wrong=("without a mask", "instead of -inf", "subtract the row max", "down the columns"),
        edits=(
            (
                'x = tl.load(x_ptr + row * stride_x + cols, mask=inside, other=float("-inf"))',
                'x = tl.load(x_ptr + row * BLOCK + cols, mask=inside, other=float("-inf"))',
            ),
            ("tl.store(out_ptr + row * stride_out + cols,", "tl.store(out_ptr + row * BLOCK + cols,"),
        ),
    ),
    Mistake(
        name="narrow_padding_zero",
        bug="The one-block kernel loads its padding lanes as 0 instead of -inf (other=0.0).",
        expect="instead of -inf",
        wrong=("subtract the row max", "without a mask", "only the first", "rescale"),
        edits=(
            (
                'x = tl.load(x_ptr + row * stride_x + cols, mask=inside, other=float("-inf"))',
                "x = tl.load(x_ptr + row * stride_x + cols, mask=inside, other=0.0)",
            ),
        ),
    ),
    Mistake(
        name="rescale_inverted",
        bug="The running sum is rescaled by exp(m_new - m) instead of exp(m - m_new).",
        expect="exp(m_old - m_new)",
        wrong=("subtract the row max", "instead of -inf", "only the first", "down the columns"),
        edits=(("l = l * tl.exp(m - m_new) + tl.sum(", "l = l * tl.exp(m_new - m) + tl.sum("),),
    ),
    Mistake(
        name="sum_with_old_max",
        bug="Pass 1 adds exp(x - m) with the max before this block (-inf at first), not exp(x - m_new).",
        expect="m_new",
        wrong=("subtract the row max", "instead of -inf", "only the first", "overflow"),
        edits=(
            (
                "l = l * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0)",
                "l = l * tl.exp(m - m_new) + tl.sum(tl.exp(x - m), axis=0)",
            ),
        ),
    ),
    Mistake(
        name="running_max_not_updated",
        bug="Pass 1 never sets m = m_new: m stays -inf, and pass 2 computes exp(x + inf).",
        expect="running max",
        wrong=("subtract the row max", "instead of -inf", "only the first", "overflow"),
        edits=(("        m = m_new\n        start += BLOCK\n", "        start += BLOCK\n"),),
    ),
    Mistake(
        name="running_max_init_zero",
        bug="Pass 1 starts the running max at 0 instead of -inf: rows of very negative logits sum to exp(-1000) = 0.",
        expect="running max",
        wrong=("padding", "subtract the row max", "only the first", "overflow"),
        edits=(('    m = float("-inf")\n    l = 0.0\n', "    m = 0.0\n    l = 0.0\n"),),
    ),
    Mistake(
        name="pass2_block_max",
        bug="Pass 2 subtracts each block's own max instead of the row's final max m.",
        expect="final max",
        wrong=("subtract the row max", "instead of -inf", "only the first"),
        edits=(("(tl.exp(x - m) / l)", "(tl.exp(x - tl.max(x, axis=0)) / l)"),),
    ),
    Mistake(
        name="pass2_start_not_reset",
        bug="start is not reset to 0 before pass 2, so pass 2 never runs and wide rows are never stored.",
        expect="never",
        wrong=("subtract the row max", "instead of -inf", "only the first", "rescale"),
        edits=(
            (
                "    # Pass 2: now that m and l are final, write the normalised weights.\n    start = 0\n",
                "    # Pass 2: now that m and l are final, write the normalised weights.\n",
            ),
        ),
    ),
]
