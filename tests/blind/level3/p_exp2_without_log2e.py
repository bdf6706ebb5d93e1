"""Level 3 - Softmax (my version: one kernel for every width, online max/sum then a write pass)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

MAX_SINGLE_BLOCK = 1024
WIDE_BLOCK = 512


@triton.jit
def softmax_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    x_row = x_ptr + row * stride_x
    o_row = out_ptr + row * stride_out
    cols = tl.arange(0, BLOCK)

    # running max and running sum, kept per lane, combined at the end
    m_vec = tl.full((BLOCK,), float("-inf"), dtype=tl.float32)
    l_vec = tl.zeros((BLOCK,), dtype=tl.float32)
    for start in range(0, N, BLOCK):
        idx = start + cols
        x = tl.load(x_row + idx, mask=idx < N, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m_vec, x)
        # lanes that have only seen -inf so far keep l = 0
        alpha = tl.where(m_new == float("-inf"), 0.0, tl.exp2(m_vec - m_new))
        p = tl.where(m_new == float("-inf"), 0.0, tl.exp2(x - m_new))
        l_vec = l_vec * alpha + p
        m_vec = m_new

    m = tl.max(m_vec, axis=0)
    l = tl.sum(tl.where(m_vec == float("-inf"), 0.0, l_vec * tl.exp2(m_vec - m)), axis=0)
    inv_l = 1.0 / l

    for start in range(0, N, BLOCK):
        idx = start + cols
        x = tl.load(x_row + idx, mask=idx < N, other=float("-inf")).to(tl.float32)
        y = tl.exp2(x - m) * inv_l
        tl.store(o_row + idx, y.to(out_ptr.dtype.element_ty), mask=idx < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    out = torch.empty_like(x)
    BLOCK = triton.next_power_of_2(N) if N <= MAX_SINGLE_BLOCK else WIDE_BLOCK
    softmax_kernel[(M,)](x, out, N, x.stride(0), out.stride(0), BLOCK=BLOCK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1, 1000, 3000):
        x = torch.randn(8, n, device=device) * 5 + 1000
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("ok")
