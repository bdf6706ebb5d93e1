"""Level 8's causal block-skipping check (issue 13, point 12) judges the work, not the tiling.

An independent Flash Attention kernel, written here from the contract (not from the hidden solution),
must pass the check with any BLOCK_M / BLOCK_N, BLOCK_N > BLOCK_M included, and the same kernel that
visits every key tile and masks the future ones must fail it with the skipping diagnosis.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_triton_quest.checking import check_case
from pytest_triton_quest.model import Mode
from pytest_triton_quest.registry import level_by_number
from tests.support import ON_GPU

if ON_GPU:
    pytest.skip("the block-skipping check reads the interpreter's loads", allow_module_level=True)
pytestmark = pytest.mark.usefixtures("interpreter")
MODE = Mode("cpu", True, "tests")

KATA = '''
import math
import torch
import triton
import triton.language as tl


@triton.jit
def _attention(q_ptr, k_ptr, v_ptr, o_ptr, S, scale, D: tl.constexpr, CAUSAL: tl.constexpr,
               SKIP: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    tile = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64) * S * D
    rows = tile * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    q = tl.load(q_ptr + head + rows[:, None] * D + dims[None, :], mask=rows[:, None] < S, other=0.0)
    m = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    end = S
    if CAUSAL and SKIP:
        end = tl.minimum((tile + 1) * BLOCK_M, S)
    start = 0
    while start < end:
        keys = start + tl.arange(0, BLOCK_N)
        inside = keys < S
        k = tl.load(k_ptr + head + keys[:, None] * D + dims[None, :], mask=inside[:, None], other=0.0)
        v = tl.load(v_ptr + head + keys[:, None] * D + dims[None, :], mask=inside[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * scale
        seen = inside[None, :]
        if CAUSAL:
            seen = seen & (keys[None, :] <= rows[:, None])
        s = tl.where(seen, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=1))
        alpha = tl.exp(m - m_new)
        p = tl.exp(s - m_new[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new
        start += BLOCK_N
    tl.store(o_ptr + head + rows[:, None] * D + dims[None, :], (acc / l[:, None]).to(o_ptr.dtype.element_ty),
             mask=rows[:, None] < S)


def flash_attention(q, k, v, causal=True, scale=None):
    B, H, S, D = q.shape
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H)
    _attention[grid](q, k, v, out, S, scale, D=D, CAUSAL=bool(causal), SKIP=SKIP, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return out
'''


def write(tmp_path: Path, block_m: int, block_n: int, skip: bool) -> Path:
    path = tmp_path / f"flash_{block_m}_{block_n}_{skip}.py"
    path.write_text(f"BLOCK_M = {block_m}\nBLOCK_N = {block_n}\nSKIP = {skip}\n" + KATA)
    return path


def skipping_case():
    level = level_by_number(8)
    assert level is not None
    return level, next(case for case in level.cases(MODE) if case.params.get("skipping"))


@pytest.mark.parametrize("block_m, block_n", [(16, 64), (64, 16), (32, 128), (64, 64)])
def test_an_independent_kernel_that_skips_passes_with_any_tiles(block_m: int, block_n: int, tmp_path: Path) -> None:
    level, case = skipping_case()
    result = check_case(level, case, write(tmp_path, block_m, block_n, skip=True), MODE)
    assert result.passed, result.message


def test_the_same_kernel_visiting_every_key_tile_fails_with_the_skipping_diagnosis(tmp_path: Path) -> None:
    level, case = skipping_case()
    result = check_case(level, case, write(tmp_path, 32, 32, skip=False), MODE)
    assert not result.passed
    assert "instead of skipped" in result.message
    assert result.diagnoses and "skipping" in result.diagnoses[0]
