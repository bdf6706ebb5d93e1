"""Level 10 - Grouped-query attention: reference solution.

THE IDEA
    At inference time the keys and values of every past token are kept in memory (the KV cache), and
    reading them is what costs. Grouped-query attention (GQA) shrinks that cache: the model has Hq
    query heads but only Hkv key/value heads, and each key/value head serves a GROUP of
    Hq // Hkv consecutive query heads:

        group = Hq // Hkv                 query heads per key/value head
        query head h  uses  key/value head  h // group

    Hkv = Hq is ordinary multi-head attention; Hkv = 1 is multi-query attention (every query head
    shares one key/value head). With Hq = 8, Hkv = 2: query heads 0-3 read kv head 0, 4-7 kv head 1.

    The easy way out is to repeat k and v Hq // Hkv times and run level 8 on the copies: that writes
    and re-reads group times the memory GQA was invented to save. Here the kernel reads k and v as
    they are: the program for query head h simply computes where kv head h // group lives. Programs of
    the same group run side by side and ask for the same key tiles, which the GPU's L2 cache then
    serves once to all of them.

    Everything else is level 8: a 2-D grid (query tiles x batch*query heads), the online softmax in
    base 2, causal key tiles split into fully visible (no mask), diagonal (masked) and future (skipped).

THE ALGORITHM
    One program per (query tile start_m, b * Hq + h):
    1. b = bhq // Hq, h = bhq % Hq, kv head hk = h // group; q is read at (b, h), k and v at (b, hk),
       i.e. at row b * Hkv + hk of k and v seen as (B * Hkv, S, D).
    2. Load the q tile once; m = -inf, l = 0, acc = 0 (float32); qk_scale = scale * log2(e).
    3. Stage 1, unmasked: keys [0, lo_end); stage 2, masked: keys [lo_end, hi_end):
           causal:     lo_end = start_m * BLOCK_M,          hi_end = min((start_m + 1) * BLOCK_M, S)
           non-causal: lo_end = (S // BLOCK_N) * BLOCK_N,    hi_end = S
    4. Each key tile: s = q @ k^T * qk_scale, m_new = max(m, rowmax(s)), alpha = exp2(m - m_new),
       p = exp2(s - m_new), l = l * alpha + rowsum(p), acc = acc * alpha + p @ v, m = m_new.
    5. Store acc / l at (b, h) for the query rows i < S.

SHAPES AND DTYPES
    q      : (B, Hq, S, D) contiguous
    k, v   : (B, Hkv, S, D) contiguous, Hq a multiple of Hkv; all three the same dtype: float32 or
             float16 (bfloat16 on a GPU); S >= 1; D a power of two, 16..128
    causal : True hides every key j > i from query i
    scale  : a float (negative too), or None for 1 / sqrt(D)
    returns a new (B, Hq, S, D) tensor in q's dtype, from ONE kernel launch; k and v are never
    repeated or copied

CHECK YOUR WORK
    pytest --level 10         the quest's checks (Hq / Hkv of 1/1, 2/1, 8/1, 8/2, 4/4; ragged S;
                              causal and not; large logits; explicit and negative scale)
    pytest --hint 10          the next hint, if you are stuck
    python katas/level10_gqa_attention.py    a quick local self-check
    pytest --level 10 --benchmark    on a GPU: time it against SDPA with enable_gqa=True
"""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.tools.tensor_descriptor import TensorDescriptor  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)


def _set_block_shapes(args: dict) -> None:
    """Before each launch: the descriptors copy (1, BLOCK_N, D) tiles of the config being launched."""
    for name in ("k_desc", "v_desc"):
        args[name].block_shape = [1, args["BLOCK_N"], args["HEAD_DIM"]]


def _configs() -> list[triton.Config]:
    """BLOCK_M is a multiple of BLOCK_N (stage 1 ends on a key-tile boundary) and every tl.dot
    dimension is >= 16. One small config under the interpreter; level 8's tuned set on a GPU."""
    if INTERPRETED:
        shapes = [(32, 16, 4, 1)]
    else:
        shapes = [
            (128, 64, 4, 3), (128, 64, 4, 4), (128, 64, 8, 3), (128, 128, 4, 3),
            (128, 128, 8, 3), (128, 128, 8, 2), (64, 64, 4, 3), (64, 64, 4, 2),
        ]
    return [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=warps, num_stages=stages, pre_hook=_set_block_shapes)
        for bm, bn, warps, stages in shapes
    ]


SHARED_MEMORY_BUDGET = 220 * 1024  # bytes; an H100 or H200 block may use up to 227 KiB


def _prune(configs: list[triton.Config], named_args: dict, **kwargs) -> list[triton.Config]:
    """A short sequence is over in microseconds, and timing every config would cost more than it
    saves: keep the first config whose q tile and pipelined k and v tiles surely fit in shared
    memory (float32 with D = 128 fits only shallow pipelines). A long sequence times them all; the
    autotuner skips those that do not fit."""
    if named_args["S"] >= 1024:
        return configs
    size = named_args["q_ptr"].element_size()

    def shared_bytes(c: triton.Config) -> int:
        return size * kwargs["HEAD_DIM"] * (c.kwargs["BLOCK_M"] + 2 * c.num_stages * c.kwargs["BLOCK_N"])

    fitting = [c for c in configs if shared_bytes(c) <= SHARED_MEMORY_BUDGET]
    return fitting[:1] or [min(configs, key=shared_bytes)]


@triton.jit
def attend_block(
    acc, l_i, m_i, q,
    k_desc, v_desc, kv_row, start_n, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, NEGATIVE_SCALE: tl.constexpr,
    BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """One (BLOCK_N, D) tile of keys and values of kv head row `kv_row` through the online softmax."""
    # The descriptors see k and v as (B * Hkv, S, D); rows past S come back as zeros.
    k = k_desc.load([kv_row, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
    qk = tl.dot(q, tl.trans(k))
    if MASKED:
        cols = start_n + tl.arange(0, BLOCK_N)
        visible = cols[None, :] < S
        if CAUSAL:
            visible = visible & (cols[None, :] <= rows[:, None])
        s = tl.where(visible, qk * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        p = tl.exp2(s - m_new[:, None])
    else:
        # The hot loop scales the row extremum, not every score, so that qk * qk_scale - m is one
        # fused multiply-add. With a negative scale the largest scaled score comes from the smallest qk.
        if NEGATIVE_SCALE:
            m_new = tl.maximum(m_i, tl.min(qk, axis=1) * qk_scale)
        else:
            m_new = tl.maximum(m_i, tl.max(qk, axis=1) * qk_scale)
        p = tl.exp2(qk * qk_scale - m_new[:, None])

    alpha = tl.exp2(m_i - m_new)  # 0 in the first tile (m_i = -inf); m_new is always finite
    l_i = l_i * alpha + tl.sum(p, axis=1)
    v = v_desc.load([kv_row, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
    acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
    return acc, l_i, m_new


@triton.jit
def attend_keys(
    acc, l_i, m_i, q,
    k_desc, v_desc, kv_row, lo, hi, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, NEGATIVE_SCALE: tl.constexpr,
    BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """Stream the key tiles starting at lo, lo + BLOCK_N, ... < hi through attend_block."""
    for start_n in tl.range(lo, hi, BLOCK_N):
        acc, l_i, m_i = attend_block(
            acc, l_i, m_i, q, k_desc, v_desc, kv_row, start_n, rows, S, qk_scale,
            MASKED, CAUSAL, NEGATIVE_SCALE, BLOCK_N, HEAD_DIM,
        )
    return acc, l_i, m_i


@triton.autotune(configs=_configs(), key=["S", "HEAD_DIM", "CAUSAL", "GROUP"], prune_configs_by={"early_config_prune": _prune})
@triton.jit
def gqa_attention_kernel(
    q_ptr, k_desc, v_desc, out_ptr,
    S, H_Q, H_KV, qk_scale,
    stride_bh, stride_s,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, NEGATIVE_SCALE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - tl.program_id(0)  # the longest query tiles first
    else:
        start_m = tl.program_id(0)
    bhq = tl.program_id(1)  # b * Hq + h: the query head this program serves
    b = bhq // H_Q
    h = bhq % H_Q
    kv_row = b * H_KV + h // GROUP  # the kv head of query head h, as a row of (B * Hkv, S, D)

    # q and out are (B * Hq, S, D). int64: B * Hq * S * D may exceed 2^31.
    head = bhq.to(tl.int64) * stride_bh
    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    row_ok = rows[:, None] < S
    q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok, other=0.0)

    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    if CAUSAL:
        lo_end = start_m * BLOCK_M
        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N
        hi_end = S
    acc, l_i, m_i = attend_keys(
        acc, l_i, m_i, q, k_desc, v_desc, kv_row, 0, lo_end, rows, S, qk_scale,
        False, CAUSAL, NEGATIVE_SCALE, BLOCK_N, HEAD_DIM,
    )
    acc, l_i, m_i = attend_keys(
        acc, l_i, m_i, q, k_desc, v_desc, kv_row, lo_end, hi_end, rows, S, qk_scale,
        True, CAUSAL, NEGATIVE_SCALE, BLOCK_N, HEAD_DIM,
    )
    out = acc / l_i[:, None]  # l_i >= 1: the row's largest score contributes exp2(0) = 1
    tl.store(out_ptr + head + rows[:, None] * stride_s + dims[None, :], out.to(out_ptr.dtype.element_ty), mask=row_ok)


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    assert H_q % H_kv == 0, f"Hq = {H_q} must be a multiple of Hkv = {H_kv}"
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q, k, v = (t.contiguous() for t in (q, k, v))  # no-ops for the contract's contiguous inputs
    out = torch.empty_like(q)
    # k and v as they are, viewed as (B * Hkv, S, D): no repeat to Hq heads.
    k_desc, v_desc = (TensorDescriptor(t, shape=[B * H_kv, S, D], strides=[S * D, D, 1], block_shape=[1, 16, D]) for t in (k, v))

    def grid(meta: dict) -> tuple[int, int]:
        return (triton.cdiv(S, meta["BLOCK_M"]), B * H_q)

    gqa_attention_kernel[grid](
        q, k_desc, v_desc, out,
        S, H_q, H_kv, scale * LOG2E,
        q.stride(1), q.stride(2),
        GROUP=H_q // H_kv, HEAD_DIM=D, CAUSAL=bool(causal), NEGATIVE_SCALE=scale < 0,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H_q, H_kv, S, D = 2, 4, 2, 77, 32
    q = torch.randn(B, H_q, S, D, device=device)
    k, v = (torch.randn(B, H_kv, S, D, device=device) for _ in range(2))
    for causal in (True, False):
        k_rep, v_rep = (t.repeat_interleave(H_q // H_kv, dim=1) for t in (k, v))
        expected = torch.nn.functional.scaled_dot_product_attention(q, k_rep, v_rep, is_causal=causal)
        torch.testing.assert_close(gqa_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 10 self-check passed: now run `pytest --level 10`")
