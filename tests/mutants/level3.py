"""Level 3 (softmax): mutants of solutions_hidden/level3_softmax.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="fixed_block",
        bug="One block of 1024 columns and no loop: wider rows are cut off at column 1024.",
        expect="only the first",
        edits=(
            (
                "    if N <= MAX_SINGLE_BLOCK:\n"
                "        block = triton.next_power_of_2(N)\n"
                "        softmax_row_kernel[grid](x, out, N, x.stride(0), out.stride(0),"
                " BLOCK=block, num_warps=_warps(block))\n"
                "    else:\n"
                "        softmax_wide_kernel[grid](x, out, N, x.stride(0), out.stride(0),"
                " BLOCK=WIDE_BLOCK, num_warps=_warps(WIDE_BLOCK))\n",
                "    block = 1024\n"
                "    softmax_row_kernel[grid](x, out, N, x.stride(0), out.stride(0),"
                " BLOCK=block, num_warps=_warps(block))\n",
            ),
        ),
    ),
    Mutant(
        name="missing_rescale",
        bug="In the blocked walk the running sum is not rescaled when the running max grows.",
        expect="rescale the running sum",
        edits=(("l = l * tl.exp(m - m_new) + tl.sum(", "l = l + tl.sum("),),
    ),
    Mutant(
        name="no_max_subtraction",
        bug="exp is taken of the raw logits, which overflows for large ones.",
        expect="subtract the row max",
        edits=(
            ("e = tl.exp(x - tl.max(x, axis=0))", "e = tl.exp(x)"),
            (
                "        m_new = tl.maximum(m, tl.max(x, axis=0))\n"
                "        l = l * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0)\n"
                "        m = m_new\n",
                "        l += tl.sum(tl.exp(x), axis=0)\n",
            ),
            ("(tl.exp(x - m) / l)", "(tl.exp(x) / l)"),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(("    grid = (M,)\n", "    return torch.softmax(x.float(), dim=-1).to(x.dtype)\n    grid = (M,)\n"),),
    ),
    Mutant(
        name="zero_padding",
        bug="Padding lanes are loaded as 0 instead of -inf, so they count in the max and the sum.",
        expect="instead of -inf",
        edits=(
            (
                'x = tl.load(x_ptr + row * stride_x + cols, mask=inside, other=float("-inf"))',
                "x = tl.load(x_ptr + row * stride_x + cols, mask=inside, other=0.0)",
            ),
            (
                'x = tl.load(x_row + cols, mask=cols < N, other=float("-inf"))',
                "x = tl.load(x_row + cols, mask=cols < N, other=0.0)",
            ),
            (
                'x = tl.load(x_row + cols, mask=inside, other=float("-inf"))',
                "x = tl.load(x_row + cols, mask=inside, other=0.0)",
            ),
        ),
    ),
]
