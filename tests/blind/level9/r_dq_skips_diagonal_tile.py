"""Level 9 - Flash Attention backward: recompute the probabilities, walk the tiles twice.

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

BLOCK_Q = 32 if INTERPRETED else 64
BLOCK_KV = 32 if INTERPRETED else 64
DELTA_BLOCK = 32 if INTERPRETED else 128


@triton.jit
def delta_kernel(
    o_ptr, do_ptr, delta_ptr,
    S, stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr,
):
    """delta[bh, i] = sum_d dO[bh, i, d] * O[bh, i, d], in float32."""
    bh = tl.program_id(1).to(tl.int64)
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, HEAD_DIM)
    offs = bh * stride_bh + rows[:, None] * stride_s + dims[None, :]
    o = tl.load(o_ptr + offs, mask=rows[:, None] < S, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offs, mask=rows[:, None] < S, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * S + rows, tl.sum(o * do, axis=1), mask=rows < S)


@triton.jit
def dkdv_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """dK and dV for BLOCK_N keys of one (batch, head), walking the query tiles that can see them."""
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    dims = tl.arange(0, HEAD_DIM)
    keys = start_n + tl.arange(0, BLOCK_N)
    key_ok = keys < S

    kv_offs = base + keys[:, None] * stride_s + dims[None, :]
    k = tl.load(k_ptr + kv_offs, mask=key_ok[:, None], other=0.0)
    v = tl.load(v_ptr + kv_offs, mask=key_ok[:, None], other=0.0)

    dk = tl.zeros((BLOCK_N, HEAD_DIM), dtype=tl.float32)
    dv = tl.zeros((BLOCK_N, HEAD_DIM), dtype=tl.float32)

    # queries before this key tile never see it when causal
    if CAUSAL:
        lo = (start_n // BLOCK_M) * BLOCK_M
    else:
        lo = 0
    for start_m in range(lo, S, BLOCK_M):
        qrows = start_m + tl.arange(0, BLOCK_M)
        q_ok = qrows < S
        q_offs = base + qrows[:, None] * stride_s + dims[None, :]
        q = tl.load(q_ptr + q_offs, mask=q_ok[:, None], other=0.0)
        do = tl.load(do_ptr + q_offs, mask=q_ok[:, None], other=0.0)
        lse = tl.load(lse_ptr + bh * S + qrows, mask=q_ok, other=0.0)
        delta = tl.load(delta_ptr + bh * S + qrows, mask=q_ok, other=0.0)

        # transposed: keys along rows, queries along columns
        sT = tl.dot(k, tl.trans(q)) * qk_scale
        visible = key_ok[:, None] & q_ok[None, :]
        if CAUSAL:
            visible = visible & (keys[:, None] <= qrows[None, :])
        pT = tl.exp2(sT - lse[None, :] * 1.4426950408889634)
        pT = tl.where(visible, pT, 0.0)

        dv += tl.dot(pT.to(do.dtype), do)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - delta[None, :])
        dk += tl.dot(dsT.to(q.dtype), q)

    tl.store(dk_ptr + kv_offs, (dk * scale).to(dk_ptr.dtype.element_ty), mask=key_ok[:, None])
    tl.store(dv_ptr + kv_offs, dv.to(dv_ptr.dtype.element_ty), mask=key_ok[:, None])


@triton.jit
def dq_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """dQ for BLOCK_M queries of one (batch, head), walking the key tiles they can see."""
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    dims = tl.arange(0, HEAD_DIM)
    qrows = start_m + tl.arange(0, BLOCK_M)
    q_ok = qrows < S

    q_offs = base + qrows[:, None] * stride_s + dims[None, :]
    q = tl.load(q_ptr + q_offs, mask=q_ok[:, None], other=0.0)
    do = tl.load(do_ptr + q_offs, mask=q_ok[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + bh * S + qrows, mask=q_ok, other=0.0) * 1.4426950408889634
    delta = tl.load(delta_ptr + bh * S + qrows, mask=q_ok, other=0.0)

    dq = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        hi = start_m
    else:
        hi = S
    for start_n in range(0, hi, BLOCK_N):
        keys = start_n + tl.arange(0, BLOCK_N)
        key_ok = keys < S
        kv_offs = base + keys[:, None] * stride_s + dims[None, :]
        k = tl.load(k_ptr + kv_offs, mask=key_ok[:, None], other=0.0)
        v = tl.load(v_ptr + kv_offs, mask=key_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale
        visible = key_ok[None, :] & q_ok[:, None]
        if CAUSAL:
            visible = visible & (keys[None, :] <= qrows[:, None])
        p = tl.where(visible, tl.exp2(s - lse2[:, None]), 0.0)

        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    tl.store(dq_ptr + q_offs, (dq * scale).to(dq_ptr.dtype.element_ty), mask=q_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    sbh, ss = q.stride(1), q.stride(2)
    causal = bool(causal)

    delta_kernel[(triton.cdiv(S, DELTA_BLOCK), B * H)](
        o, do, delta, S, sbh, ss, HEAD_DIM=D, BLOCK=DELTA_BLOCK,
    )
    dkdv_kernel[(triton.cdiv(S, BLOCK_KV), B * H)](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, sbh, ss,
        HEAD_DIM=D, CAUSAL=causal, BLOCK_M=BLOCK_Q, BLOCK_N=BLOCK_KV,
    )
    dq_kernel[(triton.cdiv(S, BLOCK_Q), B * H)](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, sbh, ss,
        HEAD_DIM=D, CAUSAL=causal, BLOCK_M=BLOCK_Q, BLOCK_N=BLOCK_KV,
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
