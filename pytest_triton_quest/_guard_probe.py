"""The tiny kernel that `guard_selftest` runs under Triton's interpreter.

Kept apart because it imports triton: only the self-test imports this module, and it decorates the
function itself (with TRITON_INTERPRET=1 set), so importing it never decides interpreted or compiled.
"""

# No `from __future__ import annotations` here: Triton must see `tl.constexpr` itself, not a string.
import triton.language as tl


def triton_quest_guard_probe(
    x_ptr, out_ptr, n, BLOCK: tl.constexpr, MASKED_LOAD: tl.constexpr, MASKED_STORE: tl.constexpr
):
    # out = x + 1 over n elements. With a flag off, the lanes of the last block past n are not masked:
    # that is the known stray lane the self-test expects the guard to stop.
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    inside = offsets < n
    if MASKED_LOAD:
        x = tl.load(x_ptr + offsets, mask=inside, other=0.0)
    else:
        x = tl.load(x_ptr + offsets)
    if MASKED_STORE:
        tl.store(out_ptr + offsets, x + 1.0, mask=inside)
    else:
        tl.store(out_ptr + offsets, x + 1.0)
