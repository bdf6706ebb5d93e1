"""Level 2 (tiled matmul): mutants of solutions_hidden/level2_matmul.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="b_strides_swapped",
        bug="b's strides are passed in the wrong order, so b is read as if transposed.",
        expect="b is read transposed",
        edits=(("b.stride(0), b.stride(1), c.stride(0)", "b.stride(1), b.stride(0), c.stride(0)"),),
    ),
    Mutant(
        name="floor_grid",
        bug="The tile counts round down, so the partial last tiles of rows and columns get no program.",
        expect="last, partial block",
        probe_only=True,
        edits=(
            ("num_pid_m = tl.cdiv(M, BLOCK_M)", "num_pid_m = M // BLOCK_M"),
            ("num_pid_n = tl.cdiv(N, BLOCK_N)", "num_pid_n = N // BLOCK_N"),
            (
                'return (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)',
                'return ((M // meta["BLOCK_M"]) * (N // meta["BLOCK_N"]),)',
            ),
        ),
    ),
    Mutant(
        name="k_tail_skipped",
        bug="The loop over K stops at the last full slice, so the partial last slice of K is never added.",
        expect="partial block along K",
        edits=(
            (
                "for k0 in range(0, K, BLOCK_K):\n        acc = _dot_slice(",
                "for k0 in range(0, K - BLOCK_K + 1, BLOCK_K):\n        acc = _dot_slice(",
            ),
        ),
    ),
    Mutant(
        name="k_tail_unmasked",
        bug="The loads are masked on M and N but not on K, so the last slice along K reads past K.",
        expect="without a mask",
        guard_only=True,
        expect_compiled="out-of-bounds load",
        edits=(
            ("    k_inside = ks < K - k0  # the last slice along K is partial: lanes past K must read 0\n", ""),
            (
                "mask=(rows[:, None] < M) & k_inside[None, :], other=0.0)",
                "mask=rows[:, None] < M)",
            ),
            (
                "mask=k_inside[:, None] & (cols[None, :] < N), other=0.0)",
                "mask=cols[None, :] < N)",
            ),
        ),
    ),
    Mutant(
        name="pure_torch",
        bug="The answer is computed with PyTorch, no kernel is launched.",
        expect="no Triton kernel",
        edits=(("    c = torch.empty((M, N), device=a.device, dtype=a.dtype)\n", "    return a @ b\n"),),
    ),
    Mutant(
        name="store_mask_mixes_m_n",
        bug="The store mask checks the columns against M instead of N (columns past M are never written when N > M).",
        expect="mixes up M and N",
        probe_only=True,
        edits=(
            (
                "mask=(rows[:, None] < M) & (cols[None, :] < N))",
                "mask=(rows[:, None] < M) & (cols[None, :] < M))",
            ),
        ),
    ),
]
