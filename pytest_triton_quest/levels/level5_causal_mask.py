"""Level 5: the causal mask, hiding every future key (j > i) behind -inf."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from . import evidence
from .base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types



class CausalMask(Level):
    number = 5
    name = "Causal Mask"
    kata_file = "level5_causal_mask.py"
    function = "causal_mask"
    cpu_dtypes = ("fp32",)  # the contract: scores are float32
    positional = ("scores",)
    output_axes = {"out": ("batch", "head", "query", "key")}
    concept = (
        "In a causal (decoder) model, query i may only look at keys 0..i: the future is hidden. The mask "
        "is applied to the scores before softmax by setting every score with key index j > query index i "
        "to -inf, because exp(-inf) = 0 gives those keys exactly zero weight. Each program copies one tile "
        "of the S x S matrix and decides element by element from the GLOBAL row and column indices. In "
        "Flash Attention the same comparison runs on tiles that cross the diagonal, and whole tiles above "
        "the diagonal are skipped without being computed."
    )
    hints = (
        "Think of the scores as B*H independent S x S matrices. Row i is query i, column j is key j. Which "
        "(i, j) pairs must become -inf? Exactly those with j > i: the diagonal (j == i) stays visible.",
        "Use 2-D tiles, like level 4: a grid (cdiv(S, BLOCK_M), cdiv(S, BLOCK_N), B*H), rows = pid_m * "
        "BLOCK_M + tl.arange(0, BLOCK_M) and cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N).",
        "The comparison must use the global indices rows and cols, not tl.arange alone: a tile away from "
        "the top-left corner holds rows and columns that do not start at 0.",
        "cols[None, :] > rows[:, None] is a (BLOCK_M, BLOCK_N) boolean tile that is True on the future keys. "
        "tl.where(future, float('-inf'), x) replaces exactly those.",
        "Masks for memory: in_bounds = (rows[:, None] < S) & (cols[None, :] < S), used by both the load and "
        "the store, so the partial last tiles never touch memory past the end.",
        "Wrapper: x = scores.reshape(B * H, S, S); out = torch.empty_like(x); launch the kernel on x and out; "
        "return out.reshape(B, H, S, S). Writing into a new tensor keeps the caller's scores intact.",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        # (B, H, S, purpose); the input is always float32, as the contract says.
        table: list[tuple[int, int, int, str]] = [
            (1, 1, 1, "a single token: S = 1, nothing to hide"),
            (1, 2, 2, "S = 2: only one future key per head"),
            (2, 2, 77, "ragged S (77 is not a multiple of any block) and B*H = 4 heads"),
            (1, 2, 64, "S a multiple of common blocks"),
            (1, 3, 150, "a longer ragged S: the diagonal crosses several tiles"),
        ]
        if mode.on_gpu:
            table += [
                (2, 8, 1000, "a long ragged sequence"),
                (4, 4, 2048, "a long sequence, a multiple of every block"),
                (3, 5, 1537, "odd B and H, ragged S"),
            ]
        return [
            Case(id=f"fp32-{b}x{h}x{s}", dtype="fp32", purpose=purpose, params={"B": b, "H": h, "S": s})
            for b, h, s, purpose in table
        ]

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        p = case.params
        return {"scores": torch.randn((p["B"], p["H"], p["S"], p["S"]), generator=generator, dtype=torch.float32)}

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        scores = inputs["scores"].to(torch.float64)
        return scores.masked_fill(_future(scores.shape[-1]), float("-inf"))

    def expected_dtype(self, case: Case) -> "torch_types.dtype":
        return torch.float32

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Nothing is computed: every kept score is copied bit for bit and every hidden one must be
        # exactly -inf (the checker already requires infinities to match), so the output must be exact.
        return Tolerance(atol=0.0, rtol=0.0)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        if failure.stores is not None:
            stored = evidence.tile_store_notes(failure.stores, failure.launches, tuple(failure.ref.shape))
            if stored:
                return stored
        scores = failure.inputs["scores"].to(torch.float64)
        notes = _replay_notes(scores, failure.out)
        if not notes and evidence.every_slice_is_the_first(failure.out, failure.ref[:1, :1], 0.0, 0.0):
            notes.append(
                "likely: every (batch, head) slice holds the masked scores of slice [0, 0]: the load leaves out the "
                "offset of the batch and head, bh * stride (scores.stride(1) per head)"
            )
        return notes

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        access = stray.stray
        if stray.probe is None or access.argument is None or not evidence.past_the_end(stray) or access.wholly_past_the_end:
            return []  # a whole tile outside is a wrong start, never a ragged edge's mask
        # One head of S = 128, a multiple of every block: no ragged edge, so a mask cannot be at fault.
        scores = torch.randn((1, 1, 128, 128), generator=torch.Generator().manual_seed(5))
        run = stray.probe.run({"scores": scores})
        if run.out is None:
            return []
        scores64 = scores.to(torch.float64)
        if not evidence.close_to(run.out, scores64.masked_fill(_future(128), float("-inf")), 0.0, 0.0):
            return _replay_notes(scores64, run.out)
        if access.access == "store":
            return [
                "likely: the store mask lets lanes past S through: mask the store with (rows[:, None] < S) & "
                "(cols[None, :] < S), like the load"
            ]
        return [
            evidence.unmasked_note(
                stray,
                f"likely: the load of `{access.argument}` runs without a mask on the partial last tiles: mask it with "
                "(rows[:, None] < S) & (cols[None, :] < S)",
                f"likely: the load of `{access.argument}` has a mask, but it does not test both rows < S and cols < S on "
                "the partial last tiles: mask it with (rows[:, None] < S) & (cols[None, :] < S)",
            )
        ]

    def benchmark_cases(self) -> list[Case]:
        # 4 x 16 heads x 2048^2 float32 scores: 1 GiB in and out, far past the L2.
        return [Case(id="fp32-4x16x2048", dtype="fp32", purpose="benchmark", params={"B": 4, "H": 16, "S": 2048})]

    def baselines(self) -> dict[str, Baseline]:
        def masked_fill(inputs: dict[str, Any]) -> "torch_types.Tensor":
            scores = inputs["scores"]
            future = torch.ones(scores.shape[-1], scores.shape[-1], dtype=torch.bool, device=scores.device).triu(1)
            return scores.masked_fill(future, float("-inf"))

        return {"torch": masked_fill}

    def work(self, case: Case) -> Work:
        p = case.params
        return Work(bytes=2 * 4.0 * p["B"] * p["H"] * p["S"] * p["S"])


def _future(S: int) -> "torch_types.Tensor":
    """(S, S) boolean, True where key j lies in the future of query i (j > i)."""
    return torch.ones(S, S, dtype=torch.bool).triu(diagonal=1)


# Tile sizes a learner's kernel may use for rows or columns.
_BLOCKS = (16, 32, 64, 128)


def _replay_notes(scores: "torch_types.Tensor", out: "torch_types.Tensor") -> list[str]:
    """The known masking bugs whose replay gives exactly this output (nothing is computed here, so a
    replay must match bit for bit, -inf included)."""
    S = scores.shape[-1]
    i = torch.arange(S)[:, None]
    j = torch.arange(S)[None, :]
    inf = float("-inf")
    future = j > i
    candidates: list[tuple["torch_types.Tensor", str]] = [
        (torch.where(future, scores, torch.full_like(scores, inf)),
         "likely: the tl.where arguments are swapped: only the future keys are kept; write "
         "tl.where(future, float('-inf'), x), which hides the future and keeps the rest"),
        (scores.masked_fill(j < i, inf),
         "likely: the mask points the wrong way (its comparison is reversed): the past (j < i) is hidden and the future kept; hide j > i, "
         "i.e. column index greater than row index"),
        (scores.masked_fill(j >= i, inf),
         "likely: the diagonal is masked too (j >= i): a query must see its own key, so hide only j > i"),
        (scores.masked_fill(future, 0.0),
         "likely: hidden scores are set to 0 instead of -inf: softmax would still give them weight exp(0) = 1; "
         "use float('-inf')"),
        (scores, "likely: the future keys (j > i) are not hidden: set them to -inf with "
         "tl.where(cols[None, :] > rows[:, None], float('-inf'), x)"),
        (scores.transpose(-1, -2).masked_fill(future, inf),
         "likely: the scores are read transposed: the row and column strides are swapped in the load, so element "
         "(i, j) comes from (j, i); load x at rows * stride(2) + cols * stride(3)"),
    ]
    if scores.dim() == 4 and scores.shape[0] * scores.shape[1] > 1:
        # The query index taken as the row of the flattened (B * H * S, S) view: slice k's row i is
        # then k * S + i, past every key of every slice but the first, which alone is masked.
        B, H = scores.shape[:2]
        flat_rows = (torch.arange(B * H).reshape(B, H, 1, 1) * S) + i
        candidates.append((
            scores.masked_fill(j > flat_rows, inf),
            "likely: the query index is the row of the flattened (B * H * S) view, (b * H + h) * S + i, so only the "
            "first (batch, head) is masked: compare the key with the row inside its slice, i = row % S",
        ))
    local = ("likely: some future keys are hidden and some are not: compare the GLOBAL row and column indices "
             "(pid * BLOCK + tl.arange), not the offsets inside the tile")
    for rows_block in _BLOCKS:
        for cols_block in _BLOCKS:
            # Tiles of rows and of columns may differ in size: each offset is inside its own tile (a
            # tile as long as S leaves the global index, named below).
            if max(rows_block, cols_block) < S:
                candidates.append((scores.masked_fill((j % cols_block) > (i % rows_block), inf), local))
    for block in _BLOCKS:
        if block < S:
            candidates.append((
                scores.masked_fill((j % block) > i, inf),
                f"likely: the causal test compares each column's place inside its block (of {block}) with the global "
                "row: from the second block of columns on, future keys are kept; compare the global column, "
                "start + tl.arange(0, BLOCK), with the row",
            ))
            candidates.append((
                scores.masked_fill(j > (i % block), inf),
                f"likely: the causal test compares the global column with the row's place inside its block (of "
                f"{block}): from the second block of rows on, past keys are hidden; compare with the global row, "
                "pid * BLOCK + tl.arange(0, BLOCK)",
            ))
            candidates.append((
                scores.masked_fill((j // block) > (i // block), inf),
                "likely: whole tiles above the diagonal are hidden but the diagonal tiles are not masked inside: "
                "rows broadcast along the wrong axis compare lane j with lane j; use rows[:, None] and cols[None, :]",
            ))
    notes = [note for candidate, note in candidates if S > 1 and evidence.close_to(out, candidate, 0.0, 0.0)]
    hidden = out[future.expand_as(out)]
    if not notes and hidden.numel() and bool(torch.isfinite(hidden).all()) and bool((hidden < -1e4).all()):
        if bool((out[~future.expand_as(out)] == scores[~future.expand_as(scores)]).all()):
            notes.append("likely: hidden scores are a large negative number instead of -inf: use float('-inf') exactly")
    return list(dict.fromkeys(notes))
