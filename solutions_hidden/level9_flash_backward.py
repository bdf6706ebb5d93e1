"""Level 9 - Flash Attention backward: reference solution.

THE IDEA
    Training needs the gradients of attention: given dO = d(loss)/d(out), find dQ, dK and dV. The
    forward pass of level 8 never stored the S x S probabilities P, and the backward pass must not
    either. Instead it RECOMPUTES them, tile by tile, from q, k and one number per query row that the
    forward pass did keep: lse, the log-sum-exp of the row's scaled scores. With it, each probability
    comes back exactly in one step, no running max and no rescaling:

        P[i, j] = exp(s[i, j] - lse[i])          where s = q @ k^T * scale

    The calculus of out = P @ V, P = softmax(S), S = scale * q @ k^T gives, per tile:

        dV    = P^T @ dO                          (each key j collects the output gradient of the
                                                   queries that looked at it, weighted by P)
        dP    = dO @ V^T
        dS    = P * (dP - delta[:, None])         the softmax's backward, with
        delta = rowsum(dO * O)                    (= rowsum(P * dP), one number per query row)
        dQ    = scale * dS @ K
        dK    = scale * dS^T @ Q

    dV and dK are sums over query rows, dQ a sum over key columns, so no single program can produce
    all three from one sweep without sharing its partial sums. FlashAttention-2 splits the work:
    - a tiny preprocessing kernel computes delta for every query row;
    - a kernel gives each program one tile of keys and values, keeps its dK and dV tiles in
      registers, and walks over the query tiles that can see it;
    - a kernel gives each program one tile of queries, keeps its dQ tile in registers, and walks over
      the key tiles it can see.
    The scores and probabilities are computed twice (once per walk): arithmetic is cheap, memory is not.

    Causal attention skips work as in level 8: query i sees key j only if j <= i. For a key tile the
    query tiles before it see none of its keys (skipped), those overlapping its rows need the mask,
    and those after it see every key (no mask). For a query tile, key tiles after it are skipped.

THE ALGORITHM
    qk_scale = scale * log2(e) and lse2 = lse * log2(e), so P = exp2(q @ k^T * qk_scale - lse2).
    1. Preprocess, one program per (tile of rows, batch * head): delta = rowsum(dO * O) in float32.
    2. dK, dV: one program per (key tile start_n of BLOCK_N keys, batch * head). Load k and v once;
       dk = dv = 0 (float32). Walk the query tiles of BLOCK_M rows:
           causal:     masked   queries [start_n, start_n + BLOCK_N)   (the diagonal: i >= j needed)
                       unmasked queries [start_n + BLOCK_N, S)
           non-causal: unmasked queries [0, S)
       and for each one (everything transposed: keys along the rows of the tile):
           pT  = exp2(k @ q^T * qk_scale - lse2[None, :])     (BLOCK_N, BLOCK_M), 0 where masked
           dv += pT @ dO
           dpT = v @ dO^T
           dsT = pT * (dpT - delta[None, :])
           dk += dsT @ q
       Store dv and dk * scale (key rows < S).
    3. dQ: one program per (query tile start_m of BLOCK_M rows, batch * head). Load q, dO, lse and
       delta once; dq = 0 (float32). Walk the key tiles of BLOCK_N keys:
           causal:     unmasked keys [0, start_m), masked keys [start_m, min(start_m + BLOCK_M, S))
           non-causal: unmasked keys [0, (S // BLOCK_N) * BLOCK_N), masked keys from there to S
       and for each one:
           p   = exp2(q @ k^T * qk_scale - lse2[:, None])     (BLOCK_M, BLOCK_N), 0 where masked
           dp  = dO @ v^T;   ds = p * (dp - delta[:, None]);   dq += ds @ k
       Store dq * scale (query rows < S).
    Padding rows (past S) are loaded as zeros. A padded query has q = dO = lse = delta = 0, so it adds
    nothing to dk or dv; that is why the dK/dV walk needs no mask for the ragged last query tile. A
    padded key can score anything against a real query, so in the dQ walk it is masked like a future key.
    "0 where masked" must be tl.where, not a multiplication: a hidden score may exceed lse and
    overflow exp2 to inf, and inf * 0 is NaN.

SHAPES AND DTYPES
    q, k, v, o, do : (B, H, S, D) contiguous, same dtype: float32 or float16 (bfloat16 on a GPU);
                     S >= 1; D a power of two, 16..128
    lse            : float32 (B, H, S), natural-log log-sum-exp of each row of the scaled (and, when
                     causal, masked) scores: lse[i] = log(sum_j exp(s[i, j]))
    causal         : True hides every key j > i from query i
    scale          : a float (negative too), or None for 1 / sqrt(D)
    returns (dq, dk, dv), each a new (B, H, S, D) tensor in q's dtype, from at most three kernel
    launches and no S x S buffer

CHECK YOUR WORK
    pytest --level 9          the quest's checks (ragged S, S = 1, causal and not, large logits,
                              explicit and negative scale)
    pytest --hint 9           the next hint, if you are stuck
    python katas/level9_flash_backward.py    a quick local self-check against torch.autograd
    pytest --level 9 --benchmark    on a GPU: time it against the backward of PyTorch's SDPA
"""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)


def _configs(pairs: list[tuple[int, int, int, int]]) -> list[triton.Config]:
    return [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=warps, num_stages=stages)
        for bm, bn, warps, stages in pairs
    ]


# Under the interpreter: one small config per kernel, whose tiles are narrow enough that every CPU
# case spans several of them. On a GPU: the walking dimension is the narrow one (it is streamed), the
# owned dimension the wide one (it is kept in registers and amortises the loads).
# dK/dV programs own BLOCK_N keys and walk BLOCK_M queries: BLOCK_N must be a multiple of BLOCK_M.
# dQ programs own BLOCK_M queries and walk BLOCK_N keys: BLOCK_M must be a multiple of BLOCK_N.
if INTERPRETED:
    DKDV_CONFIGS = _configs([(16, 32, 4, 1)])
    DQ_CONFIGS = _configs([(32, 16, 4, 1)])
else:
    DKDV_CONFIGS = _configs([
        (32, 128, 4, 3), (32, 128, 8, 3), (64, 128, 8, 3), (32, 64, 4, 3),
        (64, 64, 4, 3), (32, 128, 4, 4), (16, 128, 4, 3), (64, 128, 8, 2),
    ])
    DQ_CONFIGS = _configs([
        (128, 32, 4, 3), (128, 32, 8, 3), (128, 64, 8, 3), (64, 32, 4, 3),
        (64, 64, 4, 3), (128, 32, 4, 4), (128, 16, 4, 3), (128, 64, 8, 2),
    ])


def _prune_short(configs: list[triton.Config], named_args: dict, **kwargs) -> list[triton.Config]:
    # A short sequence is over in microseconds: timing every config would cost more than it saves.
    return configs[:1] if named_args["S"] < 1024 else configs


@triton.jit
def delta_kernel(
    o_ptr, do_ptr, delta_ptr,
    S, stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr,
):
    """delta[bh, i] = sum_d dO[bh, i, d] * O[bh, i, d], in float32."""
    bh = tl.program_id(1)
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, HEAD_DIM)
    offsets = bh.to(tl.int64) * stride_bh + rows[:, None] * stride_s + dims[None, :]
    row_ok = rows[:, None] < S
    o = tl.load(o_ptr + offsets, mask=row_ok, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offsets, mask=row_ok, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh.to(tl.int64) * S + rows, tl.sum(o * do, axis=1), mask=rows < S)


@triton.jit
def dkdv_query_tiles(
    dk, dv, k, v,
    q_ptr, do_ptr, lse_ptr, delta_ptr, head, stat, stride_s,
    start_n, lo, hi, S, qk_scale,
    MASKED: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """Add the query tiles starting at lo, lo + BLOCK_M, ... < hi to one key tile's dk and dv."""
    keys = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    for start_m in tl.range(lo, hi, BLOCK_M):
        rows = start_m + tl.arange(0, BLOCK_M)
        row_ok = rows < S
        # Padded query rows load as zeros (q, dO, lse and delta), which makes their pT finite and
        # their contributions to dk and dv exactly zero.
        q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok[:, None], other=0.0)
        do = tl.load(do_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok[:, None], other=0.0)
        lse2 = tl.load(lse_ptr + stat + rows, mask=row_ok, other=0.0) * 1.4426950408889634
        delta = tl.load(delta_ptr + stat + rows, mask=row_ok, other=0.0)

        # The probabilities, transposed: keys along the rows, queries along the columns.
        pT = tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - lse2[None, :])
        if MASKED:
            # Query i sees key j only if j <= i. A hidden score can exceed lse and overflow to inf:
            # replace it, never multiply it by 0 (inf * 0 = NaN).
            pT = tl.where(keys[:, None] <= rows[None, :], pT, 0.0)
        dv = tl.dot(pT.to(do.dtype), do, dv)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - delta[None, :])
        dk = tl.dot(dsT.to(q.dtype), q, dk)
    return dk, dv


@triton.autotune(configs=DKDV_CONFIGS, key=["S", "HEAD_DIM", "CAUSAL"], prune_configs_by={"early_config_prune": _prune_short})
@triton.jit
def dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_N % BLOCK_M == 0)
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1)
    head = bh.to(tl.int64) * stride_bh  # q, k, v, do, dk, dv share one contiguous layout
    stat = bh.to(tl.int64) * S  # lse and delta: one float per (batch * head, row)
    keys = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    key_ok = keys[:, None] < S
    k = tl.load(k_ptr + head + keys[:, None] * stride_s + dims[None, :], mask=key_ok, other=0.0)
    v = tl.load(v_ptr + head + keys[:, None] * stride_s + dims[None, :], mask=key_ok, other=0.0)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)

    if CAUSAL:
        # Queries before start_n see none of these keys: skipped. The queries on the diagonal (the
        # rows start_n .. start_n + BLOCK_N - 1) see some of them: masked.
        diagonal_end = tl.minimum(start_n + BLOCK_N, S)
        dk, dv = dkdv_query_tiles(
            dk, dv, k, v, q_ptr, do_ptr, lse_ptr, delta_ptr, head, stat, stride_s,
            start_n, start_n, diagonal_end, S, qk_scale,
            True, BLOCK_M, BLOCK_N, HEAD_DIM,
        )
        lo = start_n + BLOCK_N  # every later query sees all of these keys
    else:
        lo = 0
    dk, dv = dkdv_query_tiles(
        dk, dv, k, v, q_ptr, do_ptr, lse_ptr, delta_ptr, head, stat, stride_s,
        start_n, lo, S, S, qk_scale,
        False, BLOCK_M, BLOCK_N, HEAD_DIM,
    )

    # The scores were q @ k^T * scale, so d/dk carries the scale once; dv does not.
    out = head + keys[:, None] * stride_s + dims[None, :]
    tl.store(dk_ptr + out, (dk * scale).to(dk_ptr.dtype.element_ty), mask=key_ok)
    tl.store(dv_ptr + out, dv.to(dv_ptr.dtype.element_ty), mask=key_ok)


@triton.jit
def dq_key_tiles(
    dq, q, do, lse2, delta,
    k_ptr, v_ptr, head, stride_s,
    rows, lo, hi, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """Add the key tiles starting at lo, lo + BLOCK_N, ... < hi to one query tile's dq."""
    dims = tl.arange(0, HEAD_DIM)
    for start_n in tl.range(lo, hi, BLOCK_N):
        keys = start_n + tl.arange(0, BLOCK_N)
        key_ok = keys < S
        k = tl.load(k_ptr + head + keys[:, None] * stride_s + dims[None, :], mask=key_ok[:, None], other=0.0)
        v = tl.load(v_ptr + head + keys[:, None] * stride_s + dims[None, :], mask=key_ok[:, None], other=0.0)
        p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None])
        if MASKED:
            # Padded keys score 0, which is not "no weight"; future keys are hidden when causal.
            visible = key_ok[None, :]
            if CAUSAL:
                visible = visible & (keys[None, :] <= rows[:, None])
            p = tl.where(visible, p, 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(k.dtype), k, dq)
    return dq


@triton.autotune(configs=DQ_CONFIGS, key=["S", "HEAD_DIM", "CAUSAL"], prune_configs_by={"early_config_prune": _prune_short})
@triton.jit
def dq_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    # Causal query tiles near the end have the most key tiles to visit: hand those out first.
    if CAUSAL:
        start_m = (tl.num_programs(0) - 1 - tl.program_id(0)) * BLOCK_M
    else:
        start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    head = bh.to(tl.int64) * stride_bh
    stat = bh.to(tl.int64) * S
    rows = start_m + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    row_ok = rows < S
    q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok[:, None], other=0.0)
    do = tl.load(do_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + stat + rows, mask=row_ok, other=0.0) * 1.4426950408889634
    delta = tl.load(delta_ptr + stat + rows, mask=row_ok, other=0.0)
    dq = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)

    if CAUSAL:
        lo_end = start_m  # keys before the tile's first query: visible to all its rows
        hi_end = tl.minimum(start_m + BLOCK_M, S)  # keys after the tile's last query: skipped
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N  # every full key tile
        hi_end = S  # plus the ragged last one, if any
    dq = dq_key_tiles(
        dq, q, do, lse2, delta, k_ptr, v_ptr, head, stride_s, rows, 0, lo_end, S, qk_scale,
        False, CAUSAL, BLOCK_N, HEAD_DIM,
    )
    dq = dq_key_tiles(
        dq, q, do, lse2, delta, k_ptr, v_ptr, head, stride_s, rows, lo_end, hi_end, S, qk_scale,
        True, CAUSAL, BLOCK_N, HEAD_DIM,
    )
    out = head + rows[:, None] * stride_s + dims[None, :]
    tl.store(dq_ptr + out, (dq * scale).to(dq_ptr.dtype.element_ty), mask=row_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q, k, v, o, do = (t.contiguous() for t in (q, k, v, o, do))
    lse = lse.contiguous()
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    stride_bh, stride_s = q.stride(1), q.stride(2)

    delta_block = 64
    delta_kernel[(triton.cdiv(S, delta_block), B * H)](
        o, do, delta, S, stride_bh, stride_s, HEAD_DIM=D, BLOCK=delta_block,
    )

    def dkdv_grid(meta: dict) -> tuple[int, int]:
        return (triton.cdiv(S, meta["BLOCK_N"]), B * H)

    dkdv_kernel[dkdv_grid](
        q, k, v, do, lse, delta, dk, dv,
        S, scale, scale * LOG2E,
        stride_bh, stride_s,
        HEAD_DIM=D, CAUSAL=bool(causal),
    )

    def dq_grid(meta: dict) -> tuple[int, int]:
        return (triton.cdiv(S, meta["BLOCK_M"]), B * H)

    dq_kernel[dq_grid](
        q, k, v, do, lse, delta, dq,
        S, scale, scale * LOG2E,
        stride_bh, stride_s,
        HEAD_DIM=D, CAUSAL=bool(causal),
    )
    return dq, dk, dv


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H, S, D = 1, 2, 77, 32
    for causal in (True, False):
        q, k, v = (torch.randn(B, H, S, D, device=device, dtype=torch.float64, requires_grad=True) for _ in range(3))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)
        if causal:
            scores = scores.masked_fill(torch.ones(S, S, dtype=torch.bool, device=device).triu(1), float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        lse = torch.logsumexp(scores, dim=-1)
        do = torch.randn_like(o)
        expected = torch.autograd.grad(o, (q, k, v), do)
        got = flash_attention_backward(
            *(t.detach().float() for t in (q, k, v, o)), lse.detach().float(), do.float(), causal=causal
        )
        for name, g, e in zip(("dq", "dk", "dv"), got, expected):
            torch.testing.assert_close(g, e.float(), atol=2e-3, rtol=2e-3, msg=lambda m: f"{name}: {m}")
    print("level 9 self-check passed: now run `pytest --level 9`")
