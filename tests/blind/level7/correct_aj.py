"""Level 7 - Fused Attention (author aj): one launch, grid (batch*head, query block), online softmax in base 2."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

LOG2E = 1.4426950408889634


@triton.jit
def fused_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, scale,
    stride_bh, stride_s,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    head = tl.program_id(0)
    qblk = tl.program_id(1)
    base = head * stride_bh

    qi = qblk * BLOCK_M + tl.arange(0, BLOCK_M)
    dd = tl.arange(0, D)
    q_ok = qi < S
    q = tl.load(q_ptr + base + qi[:, None] * stride_s + dd[None, :], mask=q_ok[:, None], other=0.0)

    qk_scale = scale * LOG2E  # work with exp2: exp(x) = exp2(x * log2(e))
    run_max = tl.full((BLOCK_M,), -float("inf"), dtype=tl.float32)
    run_sum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    o = tl.zeros((BLOCK_M, D), dtype=tl.float32)

    if CAUSAL:
        hi = tl.minimum(S, (qblk + 1) * BLOCK_M)  # later key blocks are all in the future
    else:
        hi = S

    for kstart in range(0, hi, BLOCK_N):
        kj = kstart + tl.arange(0, BLOCK_N)
        k_ok = kj < S
        kv_off = base + kj[:, None] * stride_s + dd[None, :]
        kb = tl.load(k_ptr + kv_off, mask=k_ok[:, None], other=0.0)
        vb = tl.load(v_ptr + kv_off, mask=k_ok[:, None], other=0.0)

        t = tl.dot(q, tl.trans(kb)).to(tl.float32) * qk_scale
        hide = kj[None, :] >= S
        if CAUSAL:
            hide = hide | (kj[None, :] > qi[:, None])
        t = tl.where(hide, -float("inf"), t)

        new_max = tl.maximum(run_max, tl.max(t, axis=1))
        corr = tl.exp2(run_max - new_max)
        w = tl.exp2(t - new_max[:, None])
        run_sum = run_sum * corr + tl.sum(w, axis=1)
        o = o * corr[:, None] + tl.dot(w.to(vb.dtype), vb).to(tl.float32)
        run_max = new_max

    res = o / run_sum[:, None]
    tl.store(out_ptr + base + qi[:, None] * stride_s + dd[None, :], res.to(out_ptr.dtype.element_ty),
             mask=q_ok[:, None])


def fused_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    if os.environ.get("TRITON_INTERPRET") == "1":
        BLOCK_M, BLOCK_N = 32, 32
    else:
        BLOCK_M, BLOCK_N = 64, 64
    grid = (B * H, triton.cdiv(S, BLOCK_M))
    fused_attention_kernel[grid](
        q, k, v, out, S, float(scale), q.stride(1), q.stride(2),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(fused_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 7 self-check passed")
