"""Season 2 (levels 9 to 11: the backward pass, grouped-query attention, paged decoding), an in-tree
level pack.

It joins the quest exactly as a pack from another package would: through the `triton_quest_levels`
hook, with nothing in the engine that knows these levels by name. The registry registers it beside
the built-in levels (a pack installed from PyPI would announce itself with an entry point instead).
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..levels.base import Level


@hookimpl
def triton_quest_levels() -> list[Level]:
    from .level9_flash_backward import FlashBackward
    from .level10_gqa_attention import GroupedQueryAttention
    from .level11_paged_decode import PagedDecode

    return [FlashBackward(), GroupedQueryAttention(), PagedDecode()]
