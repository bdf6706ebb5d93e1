"""Level 7 (fused attention, online softmax): mutants of solutions_hidden/level7_fused_attention.py."""

from . import Mutant

# two_launches: pass 1 keeps only each row's max and normaliser; a second kernel recomputes the
# scores and sums p @ v. Correct, but two launches where the level asks for one.
_SECOND_KERNEL = '''
    # Pass 1 only keeps each row's max and normaliser (B*H*S numbers each, not S x S).
    stat = bh * S + rows
    tl.store(m_ptr + stat, m_i, mask=rows < S)
    tl.store(l_ptr + stat, l_i, mask=rows < S)


@triton.jit
def weighted_sum_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr, m_ptr, l_ptr,
    S, scale,
    stride_bh, stride_s,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Pass 2: with the final max and normaliser known, out = sum(exp(s - m) / l * v)."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    head = bh.to(tl.int64) * stride_bh
    row_ok = rows[:, None] < S
    q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok, other=0.0)
    m_i = tl.load(m_ptr + bh * S + rows, mask=rows < S, other=0.0)
    l_i = tl.load(l_ptr + bh * S + rows, mask=rows < S, other=1.0)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    for start in range(0, S, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        key_ok = cols[:, None] < S
        k = tl.load(k_ptr + head + cols[:, None] * stride_s + dims[None, :], mask=key_ok, other=0.0)
        s = tl.dot(q, tl.trans(k)) * scale
        visible = cols[None, :] < S
        if CAUSAL:
            visible = visible & (cols[None, :] <= rows[:, None])
        s = tl.where(visible, s, float("-inf"))
        p = tl.exp(s - m_i[:, None]) / l_i[:, None]
        v = tl.load(v_ptr + head + cols[:, None] * stride_s + dims[None, :], mask=key_ok, other=0.0)
        acc += tl.dot(p.to(v.dtype), v)
    tl.store(out_ptr + head + rows[:, None] * stride_s + dims[None, :], acc.to(out_ptr.dtype.element_ty), mask=row_ok)
'''

_TWO_LAUNCHES = '''    row_max = torch.empty((B * H * S,), device=q.device, dtype=torch.float32)
    row_sum = torch.empty_like(row_max)
    fused_attention_kernel[grid](
        q, k, v, row_max, row_sum,
        S, scale,
        q.stride(1), q.stride(2),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    weighted_sum_kernel[grid](
        q, k, v, out, row_max, row_sum,
'''

MUTANTS = [
    Mutant(
        name="causal_ignored",
        bug="The causal flag is ignored: future keys are never masked.",
        expect="causal mask is not applied",
        edits=(
            (
                "        if CAUSAL:  # a compile-time branch: the non-causal kernel carries no causal mask at all\n"
                "            visible = visible & (cols[None, :] <= rows[:, None])\n",
                "",
            ),
        ),
    ),
    Mutant(
        name="diagonal_masked",
        bug="The causal mask hides the diagonal too (j >= i), leaving row 0 with no key.",
        expect="diagonal is masked too",
        edits=(
            (
                "visible = visible & (cols[None, :] <= rows[:, None])",
                "visible = visible & (cols[None, :] < rows[:, None])",
            ),
        ),
    ),
    Mutant(
        name="no_acc_rescale",
        bug="The accumulator is not rescaled by alpha when the running max grows.",
        expect="accumulator is not rescaled",
        edits=(("acc = acc * alpha[:, None] + tl.dot(", "acc = acc + tl.dot("),),
    ),
    Mutant(
        name="no_l_rescale",
        bug="The normaliser l is not rescaled by alpha when the running max grows.",
        expect="normaliser is not rescaled",
        edits=(("l_i = l_i * alpha + tl.sum(p, axis=1)", "l_i = l_i + tl.sum(p, axis=1)"),),
    ),
    Mutant(
        name="no_max_subtraction",
        bug="The online softmax takes exp of the raw scores, with no running max at all.",
        expect="exp overflows",
        edits=(
            (
                "        m_new = tl.maximum(m_i, tl.max(s, axis=1))\n"
                "        alpha = tl.exp(m_i - m_new)\n"
                "        p = tl.exp(s - m_new[:, None])\n"
                "        l_i = l_i * alpha + tl.sum(p, axis=1)\n",
                "        p = tl.exp(s)\n"
                "        l_i = l_i + tl.sum(p, axis=1)\n",
            ),
            (
                "        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)\n"
                "        m_i = m_new\n",
                "        acc = acc + tl.dot(p.to(v.dtype), v)\n",
            ),
        ),
    ),
    Mutant(
        name="padding_scores_zero",
        bug="Padded keys (j >= S) keep the score 0 they were loaded with instead of -inf.",
        expect="padded keys",
        edits=(
            (
                "        visible = cols[None, :] < S\n"
                "        if CAUSAL:  # a compile-time branch: the non-causal kernel carries no causal mask at all\n"
                "            visible = visible & (cols[None, :] <= rows[:, None])\n"
                '        s = tl.where(visible, s, float("-inf"))\n',
                "        if CAUSAL:  # a compile-time branch: the non-causal kernel carries no causal mask at all\n"
                '            s = tl.where(cols[None, :] <= rows[:, None], s, float("-inf"))\n',
            ),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(
            (
                "    fused_attention_kernel[grid](",
                "    scores = (q.float() @ k.float().transpose(-1, -2)) * scale\n"
                "    if causal:\n"
                "        future = torch.ones(S, S, dtype=torch.bool, device=q.device).triu(1)\n"
                '        scores = scores.masked_fill(future, float("-inf"))\n'
                "    return (torch.softmax(scores, dim=-1) @ v.float()).to(q.dtype)\n"
                "    fused_attention_kernel[grid](",
            ),
        ),
    ),
    Mutant(
        name="scale_ignored",
        bug="The scores are never multiplied by the scale.",
        expect="the scale is not applied",
        edits=(("s = tl.dot(q, tl.trans(k)) * scale", "s = tl.dot(q, tl.trans(k))"),),
    ),
    Mutant(
        name="stale_max",
        bug="p = exp(s - m) uses the old running max (still -inf in the first block), not m_new.",
        expect="stale",
        edits=(("p = tl.exp(s - m_new[:, None])", "p = tl.exp(s - m_i[:, None])"),),
    ),
    Mutant(
        name="two_launches",
        bug="Unfused: one kernel finds each row's max and normaliser, a second one sums p @ v.",
        expect="kernel launches",
        edits=(
            ("    q_ptr, k_ptr, v_ptr, out_ptr,\n", "    q_ptr, k_ptr, v_ptr, m_ptr, l_ptr,\n"),
            (
                "        v = tl.load(v_ptrs, mask=key_ok, other=0.0)\n"
                "        # tl.dot wants both operands in one dtype: the weights go to v's (a no-op for float32).\n"
                "        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)\n",
                "",
            ),
            (
                "\n"
                "    # l_i >= 1: the row's largest score contributes exp(0) = 1, so the division is safe.\n"
                "    out = acc / l_i[:, None]\n"
                "    # Rows past S were computed (harmlessly) but must not be stored.\n"
                "    tl.store(out_ptr + head + rows[:, None] * stride_s + dims[None, :], "
                "out.to(out_ptr.dtype.element_ty), mask=row_ok)\n",
                _SECOND_KERNEL,
            ),
            ("    fused_attention_kernel[grid](\n        q, k, v, out,\n", _TWO_LAUNCHES),
        ),
    ),
]
