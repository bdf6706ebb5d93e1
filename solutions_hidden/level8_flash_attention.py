"""Level 8 - Flash Attention: reference solution.

THE IDEA
    Level 7 already computes attention in one kernel with an online softmax and no S x S matrix. Flash
    Attention is that same algorithm arranged so the GPU's tensor cores stay busy:
    - a 2-D grid (query blocks x batch*heads) of programs, each owning a (BLOCK_M, D) tile of queries
      and streaming (BLOCK_N, D) tiles of keys and values through tl.dot;
    - exp2 instead of exp: exp(x) = exp2(x * log2(e)), and the hardware computes exp2 directly, so
      log2(e) is folded into the scale once and the running max lives in log2 units;
    - causal attention does only the work it needs. For a query tile, the key tiles fall in three kinds:
          below the diagonal  every key is visible to every row: no mask at all (the fast path)
          on the diagonal     some keys are in the future: apply the causal mask (j > i -> -inf)
          above the diagonal  no key is visible to any row: skip them, they are never loaded
      which halves the work of causal attention and keeps masks out of the hot loop;
    - k and v are read through tensor descriptors: desc.load([head, start, 0]) fetches a whole tile,
      with zeros for rows past S, and on Hopper the TMA engine does the copy while the warps compute;
    - in the hot loop the scale multiplies the row maxima, not every score, so that
      exp2(qk * scale - m) is one fused multiply-add per score;
    - block sizes, warps and pipelining stages are autotuned on the GPU.

THE ALGORITHM
    One program per (query tile start_m, batch * head):
    1. Load the q tile once; m = -inf, l = 0, acc = 0 (float32); qk_scale = scale * log2(e).
    2. Stage 1, unmasked: keys [0, lo_end), full tiles every row sees entirely:
           causal:     lo_end = start_m * BLOCK_M          (all keys before the tile's first query)
           non-causal: lo_end = (S // BLOCK_N) * BLOCK_N   (every full key tile)
    3. Stage 2, masked: keys [lo_end, hi_end), where padding (j >= S) and, when causal, j > i get -inf:
           causal:     hi_end = min((start_m + 1) * BLOCK_M, S)   (the diagonal tile)
           non-causal: hi_end = S                                  (the ragged last tile, if any)
       Keys from hi_end on are hidden from every row of the tile: skipped.
    4. For each key tile (both stages), the online softmax of level 7 in base 2:
           s = q @ k^T * qk_scale;  m_new = max(m, rowmax(s));  alpha = exp2(m - m_new)
           p = exp2(s - m_new);     l = l * alpha + rowsum(p);  acc = acc * alpha + p @ v;  m = m_new
    5. Store acc / l for the real query rows (i < S).
    BLOCK_M is a multiple of BLOCK_N, so stage 1 ends on a key-tile boundary.

SHAPES AND DTYPES
    q, k, v : (B, H, S, D) contiguous, same dtype: float32 or float16 (bfloat16 on a GPU); S >= 1;
              D a power of two, 16..128
    causal  : True hides every key j > i from query i (query i sees keys 0..i)
    scale   : a float, or None for 1 / sqrt(D)
    returns a new (B, H, S, D) tensor in q's dtype, computed by ONE kernel launch, no S x S buffer

CHECK YOUR WORK
    pytest --level 8          the quest's checks (as level 7's: ragged S, causal and not, large logits,
                              growing scores, explicit scale)
    pytest --hint 8           the next hint, if you are stuck
    python katas/level8_flash_attention.py    a quick local self-check
    pytest --level 8 --benchmark    on a GPU: time it against PyTorch's scaled_dot_product_attention
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
    """Every config keeps BLOCK_M a multiple of BLOCK_N (stage 1 must end on a key-tile boundary) and
    every tl.dot dimension >= 16. Under the interpreter there is nothing to tune and each loop step
    costs milliseconds: one small config, whose key tiles are narrow enough that every CPU case
    spans several of them. On a GPU, the (BLOCK_M, BLOCK_N, num_warps, num_stages, warp
    specialisation) shapes that came first or close on some shape of the benchmark grid in a sweep of
    60 on an H100 (2026-11-27): 128 x 128 tiles for long sequences, 64 x 64 for short causal ones."""
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


def _prune_short(configs: list[triton.Config], named_args: dict, **kwargs) -> list[triton.Config]:
    # A short sequence is over in microseconds: timing every config would cost more than it saves.
    return configs[:1] if named_args["S"] < 1024 else configs


@triton.jit
def attend_block(
    acc, l_i, m_i, q,
    k_desc, v_desc, bh, start_n, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """One (BLOCK_N, D) tile of keys and values through the online softmax, in base 2."""
    # The descriptors see k and v as (B*H, S, D): one tile is (1, BLOCK_N, D) of head bh, and its
    # rows past S come back as zeros, so no load needs a mask.
    k = k_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
    qk = tl.dot(q, tl.trans(k))
    if MASKED:
        cols = start_n + tl.arange(0, BLOCK_N)
        # Padding keys read as 0 and would score 0: they must be -inf. When causal this is implied by
        # j <= i for every stored row i < S, but the rows past S (never stored) rely on it.
        visible = cols[None, :] < S
        if CAUSAL:
            visible = visible & (cols[None, :] <= rows[:, None])
        # Scores in log2 units: exp2(s) below equals exp(q @ k^T * scale).
        s = tl.where(visible, qk * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        p = tl.exp2(s - m_new[:, None])
    else:
        # The hot loop. Scaling the row maxima instead of every score saves a multiply per score,
        # and qk * qk_scale - m becomes one fused multiply-add. It needs qk_scale > 0, so that
        # max(qk) * qk_scale == max(qk * qk_scale): the wrapper makes sure of that.
        m_new = tl.maximum(m_i, tl.max(qk, axis=1) * qk_scale)
        p = tl.exp2(qk * qk_scale - m_new[:, None])

    # In every tile that is processed, each row sees at least one key (key 0 in stage 1, key
    # start_m * BLOCK_M on the diagonal, any key when not causal), so m_new is finite.
    alpha = tl.exp2(m_i - m_new)  # puts what was summed against m_i onto m_new; 0 in the first tile
    l_i = l_i * alpha + tl.sum(p, axis=1)

    v = v_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
    acc = acc * alpha[:, None]
    # p goes to v's dtype for the tensor cores; accumulating into acc saves an addition.
    acc = tl.dot(p.to(v.dtype), v, acc)
    return acc, l_i, m_new


@triton.jit
def attend_keys(
    acc, l_i, m_i, q,
    k_desc, v_desc, bh, lo, hi, rows, S, qk_scale,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    """Stream the key tiles starting at lo, lo + BLOCK_N, ... < hi through attend_block."""
    # A `for` loop lets the compiler software-pipeline the copies of the next tiles (num_stages)
    # behind the tensor-core work on this one.
    for start_n in tl.range(lo, hi, BLOCK_N):
        acc, l_i, m_i = attend_block(
            acc, l_i, m_i, q, k_desc, v_desc, bh, start_n, rows, S, qk_scale,
            MASKED, CAUSAL, BLOCK_N, HEAD_DIM,
        )
    return acc, l_i, m_i


@triton.autotune(configs=_configs(), key=["S", "HEAD_DIM", "CAUSAL"], prune_configs_by={"early_config_prune": _prune_short})
@triton.jit
def flash_attention_kernel(
    q_ptr, k_desc, v_desc, out_ptr,
    S, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    # Causal query tiles near the end of the sequence have the most key tiles to visit: hand those
    # out first, so the short ones fill the gaps at the end instead of a long one running alone.
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        start_m = tl.program_id(0)
    bh = tl.program_id(1)
    # q and out share one contiguous (B*H, S, D) layout. int64: B*H*S*D may exceed 2^31.
    head = bh.to(tl.int64) * stride_bh
    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    row_ok = rows[:, None] < S
    q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok, other=0.0)

    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)  # running max of the scores (log2 units)
    l_i = tl.zeros([BLOCK_M], tl.float32)  # running sum of exp2(s - m_i)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)  # running sum of exp2(s - m_i) * v

    if CAUSAL:
        lo_end = start_m * BLOCK_M  # keys before the tile's first query: visible to all its rows
        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)  # keys after the tile's last query: skipped
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N  # every full key tile
        hi_end = S  # plus the ragged last one, if any

    # Stage 1: full tiles that every row of the query tile sees entirely: no masks.
    acc, l_i, m_i = attend_keys(
        acc, l_i, m_i, q, k_desc, v_desc, bh, 0, lo_end, rows, S, qk_scale,
        False, CAUSAL, BLOCK_N, HEAD_DIM,
    )
    # Stage 2: the diagonal tile (causal) or the ragged last tile (non-causal), masked.
    acc, l_i, m_i = attend_keys(
        acc, l_i, m_i, q, k_desc, v_desc, bh, lo_end, hi_end, rows, S, qk_scale,
        True, CAUSAL, BLOCK_N, HEAD_DIM,
    )

    # l_i >= 1: the row's largest score contributes exp2(0) = 1, so the division is safe.
    out = acc / l_i[:, None]
    tl.store(out_ptr + head + rows[:, None] * stride_s + dims[None, :], out.to(out_ptr.dtype.element_ty), mask=row_ok)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    if scale < 0:
        # softmax(q @ k^T * scale) == softmax((-q) @ k^T * -scale): the kernel's row-max shortcut
        # needs a positive scale, and negating q is exact.
        q, scale = -q, -scale
    q, k, v = (t.contiguous() for t in (q, k, v))
    out = torch.empty_like(q)
    # Tensor descriptors for the keys and values, which every program streams: on Hopper the TMA
    # engine copies their tiles into shared memory. The block shape is set per config (_set_block_shapes).
    k_desc, v_desc = (TensorDescriptor(t, shape=[B * H, S, D], strides=[S * D, D, 1], block_shape=[1, 16, D]) for t in (k, v))

    def grid(meta: dict) -> tuple[int, int]:
        return (triton.cdiv(S, meta["BLOCK_M"]), B * H)

    flash_attention_kernel[grid](
        q, k_desc, v_desc, out,
        S, scale * LOG2E,
        q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal),
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(flash_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 8 self-check passed: now run `pytest --level 8`")
