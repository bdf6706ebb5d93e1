"""Evidence shared by the levels' diagnosis rules: which programs stored what, and what a stray access says.

A rule names a bug only when the evidence it needs is there; these helpers compute that evidence and
say nothing when it is missing (compiled runs have no store map, no probe and no guard).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from ..model import Failure, LaunchRecord, OutOfBounds, StoreMap, index_ranges, one_of
from ..origins import axis_names, unravel

if TYPE_CHECKING:
    import torch as torch_types


# ----- the store map: which program stored which output element --------------------------------------
def store_counts(stores: StoreMap) -> "torch_types.Tensor":
    """How many programs stored each output element (flat, int64)."""
    counts = torch.zeros(stores.numel, dtype=torch.int64)
    for elements in stores.elements:
        counts[torch.from_numpy(elements)] += 1
    return counts


def launched_programs(launches: list[LaunchRecord]) -> int:
    """The number of programs all launches of the call started (0 when a grid has a 0 in it)."""
    total = 0
    for launch in launches:
        total += launch.grid[0] * launch.grid[1] * launch.grid[2]
    return total


def grid_text(launches: list[LaunchRecord]) -> str:
    """The grid of the launch(es), as a learner wrote it: (12,) or (3, 2, 4)."""
    grids = []
    for launch in launches:
        dims = written_grid(launch)
        grids.append("(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")")
    return ", ".join(dict.fromkeys(grids))


def written_grid(launch: LaunchRecord) -> list[int]:
    """The launch's grid without its trailing 1s, as the learner most likely wrote it."""
    dims = list(launch.grid)
    while len(dims) > 1 and dims[-1] == 1:
        dims.pop()
    return dims


def overlap_and_gap(stores: StoreMap) -> tuple[int, int]:
    """(elements stored by more than one program, elements stored by none). Both above 0 is the mark of
    programs that compute the wrong elements: two of them land on the same tile, and some tile is left."""
    counts = store_counts(stores)
    return int((counts > 1).sum()), int((counts == 0).sum())


def too_few_programs(stores: StoreMap, silent: list[tuple[int, int, int]]) -> int | None:
    """n when the programs stored exactly elements 0..n-1 of the flat output (n short of its end),
    every launched program stored something (`silent`: those that did not) and nothing past n was
    addressed, not even with the mask off: the premise of "the grid is too small"."""
    covered = stored_prefix(stores)
    if covered is None or covered >= stores.numel or silent or unstored_were_addressed(stores):
        return None
    if restored_programs(stores):
        return None  # a program that stores the same block over and over has work it puts nowhere else
    return covered


def restored_programs(stores: StoreMap) -> list[tuple[tuple[str, tuple[int, int, int]], int]]:
    """(program, times) for every program whose `times` stores all reached one block (see
    StoreMap.repeats): the passes of its loop all store at one place."""
    restored = []
    for key, elements in zip(stores.programs, stores.elements):
        times = stores.repeats.get(key, 1)
        if times > 1 and elements.size:
            restored.append((key, times))
    return restored


def restored_note(stores: StoreMap, gap: int) -> str | None:
    """Programs that store their block several times over while `gap` elements get no store: a loop
    inside each program whose store offset does not advance with it. None otherwise."""
    restored = restored_programs(stores)
    if not gap or not restored:
        return None
    (kernel, program), times = restored[0]
    elements = stores.elements[stores.programs.index((kernel, program))]
    first, last = int(elements.min()), int(elements.max())
    who = f"program {program[0]}" if program[1:] == (0, 0) else f"program {program}"
    return (
        f"likely: {len(restored)} program(s) of `{kernel}` store the same block {times} times over ({who}: "
        f"elements {first}..{last}), while {gap} elements are stored by none: every pass of a loop inside a "
        "program overwrites the same place; its store offset must move on with the loop"
    )


def stored_prefix(stores: StoreMap) -> int | None:
    """n when the stored elements are exactly 0..n-1 of a flat output, each stored once; else None."""
    counts = store_counts(stores)
    if bool((counts > 1).any()):
        return None
    stored = counts > 0
    n = int(stored.sum())
    return n if bool(stored[:n].all()) else None


# ----- stray accesses --------------------------------------------------------------------------------
def past_the_end(stray: OutOfBounds) -> bool:
    """Every stray lane the guard saw lies after the end of the tensor its pointer came from."""
    access = stray.stray
    return access.argument is not None and access.numel is not None and bool(access.offsets) and min(access.offsets) >= access.numel


def grid_of(stray: OutOfBounds) -> tuple[int, int, int] | None:
    """The grid of the launch that made the stray access (the last launch of that kernel)."""
    for launch in reversed(stray.launches):
        if launch.kernel == stray.stray.kernel:
            return launch.grid
    return None


def stray_tensor(stray: OutOfBounds) -> "torch_types.Tensor | None":
    """The tensor the stopped access's pointer came from (its argument in the last launch of that
    kernel); None when the record does not name one."""
    access = stray.stray
    return next(
        (arg.tensor for launch in reversed(stray.launches) if launch.kernel == access.kernel
         for arg in launch.tensors if arg.name == access.argument and isinstance(arg.tensor, torch.Tensor)),
        None,
    )


def wholly_outside_note(stray: OutOfBounds) -> str | None:
    """A tile that lies entirely past the end of a tensor, placed in that tensor's own index space:
    where the tile starts says which of the program's indices overshot (a batch, a head, a row block),
    which the flat offset alone does not. A line for the report: why it overshot (a program id, a
    head count, a stride, a grid or loop too long) the record cannot tell."""
    access = stray.stray
    if not access.wholly_past_the_end or access.argument is None:
        return None
    tensor = stray_tensor(stray)
    if tensor is None or tensor.dim() < 2 or not tensor.is_contiguous() or tensor.numel() != access.numel:
        return None
    shape = list(tensor.shape)
    index = unravel(min(access.offsets), shape)  # the start lies past the end: its first index is past it too
    over = next(axis for axis, (at, size) in enumerate(zip(index, shape)) if at >= size)
    names = axis_names(len(shape)) if len(shape) == 4 else ()
    axis = f"axis {over}" + (f" ({names[over]})" if names and access.argument.lstrip("_").split("_")[0] in _BHSD_NAMES else "")
    program = ", ".join(str(value) for value in access.program_id)
    return (
        f"program ({program}) starts this {access.access} at index {index} of `{access.argument}` (shape {shape}), past the "
        f"end of {axis}, which has {shape[over]}: the index that program computes along that axis overshoots"
    )


def program_id_index_note(stray: OutOfBounds) -> str | None:
    """One element read or written past the end, at an offset equal to the program's id on an axis
    whose grid is longer than the tensor: that program id is used as an index into a tensor it does
    not count (seq_lens read at program_id(0) when axis 0 runs over batch x heads). A `likely:` line:
    the record shows the id, the offset and both lengths; when two axes' ids equal the offset,
    nothing is claimed."""
    access = stray.stray
    grid = grid_of(stray)
    if grid is None or access.lanes != 1 or access.count != 1 or access.numel is None or len(access.offsets) != 1:
        return None
    offset = access.offsets[0]
    axes = [axis for axis in range(3) if access.program_id[axis] == offset and grid[axis] > access.numel]
    if len(axes) != 1 or access.argument is None:
        return None
    axis = axes[0]
    return (
        f"likely: `{access.argument}` is indexed with program_id({axis}), but the grid has {grid[axis]} programs along "
        f"axis {axis} and `{access.argument}` only {access.numel} element{'' if access.numel == 1 else 's'}: that "
        f"program id is not its index (program {tuple(access.program_id)} "
        f"{'stores to' if access.access == 'store' else 'reads'} element {offset})"
    )


def batch_step_note(stray: OutOfBounds) -> str | None:
    """A tile of a (batch, head, sequence, dim) tensor wholly past its end, started by program p of
    a grid axis that counts (batch, head) pairs, at p whole batches (p * stride(0)): each program
    steps a batch where it should step a head. A `likely:` line from the program id, the grid and
    the tile's start; None when the record shows anything else."""
    access = stray.stray
    if not access.wholly_past_the_end or access.argument is None:
        return None
    tensor = stray_tensor(stray)
    grid = grid_of(stray)
    if tensor is None or grid is None or tensor.dim() != 4 or not tensor.is_contiguous() or tensor.numel() != access.numel:
        return None
    B, H = tensor.shape[0], tensor.shape[1]
    axes = [axis for axis in range(3) if grid[axis] == B * H and access.program_id[axis] > 0]
    if H < 2 or len(axes) != 1:
        return None
    axis, pid = axes[0], access.program_id[axes[0]]
    if min(access.offsets) != pid * tensor.stride(0):
        return None
    # One stray program cannot tell a head offset that multiplies the batch stride from a batch index
    # split off the program id the wrong way (pid 1 becomes batch 1, head 0 either way): both are named.
    return (
        f"likely: each program steps a whole batch of `{access.argument}` where it should step one head: program "
        f"{pid} along axis {axis} (B * H = {B * H} programs, one per (batch, head) pair) starts at {pid} * "
        f"stride(0) = {pid * tensor.stride(0)}; the (batch, head) pair's step is stride(1) = {tensor.stride(1)}. "
        f"Either the offset multiplies stride(0), or the batch index and head index are split off the program id "
        f"the wrong way (the right split is b = pid // H, h = pid % H, with H = {H})"
    )


# Names of tensors laid out (batch, head, sequence, head dim) in the attention levels.
_BHSD_NAMES = frozenset({"q", "k", "v", "o", "out", "do", "dq", "dk", "dv"})


def borrowed_stride_note(stray: OutOfBounds) -> str | None:
    """A tile of a (batch, head, sequence, dim) input wholly past its end, started by program p of a
    grid axis at p times a stride of ANOTHER input (its batch or head stride), which differs from this
    tensor's own: the offset multiplies the other tensor's stride (k's batch offset with q's stride
    when q has more heads). A `likely:` line from the start, the program id and both strides; None
    when no single pairing fits."""
    access = stray.stray
    if not access.wholly_past_the_end or access.argument is None:
        return None
    tensor, grid = stray_tensor(stray), grid_of(stray)
    if tensor is None or grid is None or tensor.dim() != 4 or not tensor.is_contiguous():
        return None
    start = min(access.offsets)
    fits = []
    for axis in range(3):
        pid = access.program_id[axis]
        if pid <= 0:
            continue
        for name, other in stray.inputs.items():
            if not isinstance(other, torch.Tensor) or other.dim() != 4 or other.shape == tensor.shape:
                continue
            for dim, what in ((0, "batch"), (1, "head")):
                if other.stride(dim) != tensor.stride(dim) and start == pid * other.stride(dim):
                    fits.append((axis, pid, name, dim, what))
    if len(fits) != 1:
        return None
    axis, pid, name, dim, what = fits[0]
    return (
        f"likely: the {what} offset of `{access.argument}` multiplies `{name}`'s {what} stride: program {pid} along "
        f"axis {axis} starts at {pid} * {name}.stride({dim}) = {start}, past the end; `{access.argument}` has its own "
        f"shape {list(tensor.shape)}, so its {what} stride is stride({dim}) = {tensor.stride(dim)}: pass that one"
    )


def far_past_the_end_note(stray: OutOfBounds) -> str | None:
    """Lanes of the first program (program id (0, 0, 0), whose tile is the tensor's first) reaching
    more than twice the tensor's size: no ragged edge is that wide, and a mask would only hide it. The
    address arithmetic steps too far. None when the record says otherwise."""
    access = stray.stray
    if access.argument is None or not access.numel or not access.far_past_the_end or any(access.program_id):
        return None
    furthest = max(access.offsets)
    return (
        f"likely: the addresses of `{access.argument}` step too far: program (0, 0, 0), whose tile is the first, "
        f"reads up to element {furthest} of the {access.numel} it has ({furthest / access.numel:.1f} times its "
        "size), which no ragged edge explains: a stride is too large (strides passed in another order, or one "
        "multiplied twice), or an offset is built from the wrong program id"
    )


def one_lane_past_the_end(stray: OutOfBounds) -> bool:
    """Exactly one stray lane, at the element just after the end: the mark of `<=` where `<` belongs."""
    access = stray.stray
    return access.count == 1 and access.numel is not None and access.offsets == (access.numel,)


def unmasked_note(stray: OutOfBounds, unmasked: str, masked: str) -> str:
    """The rule's line for an access without a mask, or for one whose mask let the stray lanes
    through: never 'without a mask' for an access that has one."""
    return masked if stray.stray.masked else unmasked


def off_by_one_note(stray: OutOfBounds, compare: str) -> str:
    access = stray.stray
    return (
        f"likely: a mask is off by one: it lets through the lane at element offset {access.numel}, just past the "
        f"end of `{access.argument}`; compare with <, {compare}, not <="
    )


def close_to(out: "torch_types.Tensor", candidate: "torch_types.Tensor", atol: float, rtol: float) -> bool:
    """out matches a candidate answer: finite where it is finite, the same infinities and NaNs elsewhere."""
    if out.shape != candidate.shape:
        return False
    finite = torch.isfinite(candidate)
    if not bool((torch.isfinite(out) == finite).all()):
        return False
    if not bool((torch.isnan(out) == torch.isnan(candidate)).all()):
        return False
    special = ~finite & ~torch.isnan(candidate)
    if bool(special.any()) and not bool((out[special] == candidate[special]).all()):
        return False
    mine, theirs = out[finite], candidate[finite]
    return bool(((mine - theirs).abs() <= atol + rtol * theirs.abs()).all())


def rules_out(out: "torch_types.Tensor", candidate: "torch_types.Tensor", atol: float, rtol: float) -> bool:
    """The output cannot be this near miss's replay: both are finite everywhere, and somewhere they
    differ by more than ten tolerances. Where either holds NaN or inf, or the replay runs past what
    float32 holds, the kernel's arithmetic overflowed or read memory nobody wrote, which a float64
    replay does not model: such a case rules nothing out."""
    if out.shape != candidate.shape or not bool(torch.isfinite(out).all()) or not bool(torch.isfinite(candidate).all()):
        return False
    if candidate.numel() and float(candidate.abs().max()) > _FLOAT32_MAX:
        return False
    return bool(((out - candidate).abs() > 10 * (atol + rtol * candidate.abs())).any())


_FLOAT32_MAX = 3.4028234663852886e38


def unwritten(failure: Failure) -> "torch_types.Tensor | None":
    """Output elements that no kernel wrote, where the record says so: no program stored them (the
    interpreter's store map) or they kept the value of new memory (checking.nan_origin). Their NaN
    is memory's, not arithmetic's, so a replay that predicts NaN there proves nothing."""
    mask = failure.unwritten.clone() if failure.unwritten is not None else None
    if failure.writers is not None:
        owner = torch.as_tensor(failure.writers[0]).reshape(failure.out.shape) < 0
        mask = owner if mask is None else mask | owner
    return mask


def unstored_slices_note(failure: Failure) -> str | None:
    """Whole (batch, head) slices of a (batch, head, ...) output that no program stored, while every
    slice that was stored is right: the programs' coverage is the bug, not their arithmetic. Says how
    the stored slices sit (the first K in b * H + h order, the first heads of every batch) and which
    grid axis has as many programs as slices were stored."""
    out = failure.out
    if failure.writers is None or out.dim() < 3:
        return None
    batches, heads = int(out.shape[0]), int(out.shape[1])
    total = batches * heads
    owner = torch.as_tensor(failure.writers[0]).reshape(total, -1)
    unstored = owner < 0
    never = unstored.all(dim=1)
    if not bool(never.any()) or bool((unstored.any(dim=1) & ~never).any()):
        return None  # every slice stored, or some only in part: not a matter of which slices
    if bool(failure.bad.reshape(total, -1)[~never].any()):
        return None  # the stored slices are wrong too: more than coverage is wrong
    if failure.stores is not None and bool((store_counts(failure.stores) > 1).any()):
        return None  # programs store over each other: their index collides, which other rules name
    stored = [index for index in range(total) if not bool(never[index])]
    if not stored:
        return None  # nothing stored at all: the general "never written" report says it
    missing = [index for index in range(total) if bool(never[index])]
    first_missing = missing[0]
    shape = ""
    stored_heads = sorted({index % heads for index in stored})
    if len(stored) == 1:
        shape = f"only (b={stored[0] // heads}, h={stored[0] % heads}) was stored"
    elif stored == list(range(len(stored))):
        shape = f"only the first {len(stored)} in b * H + h order were stored"
    elif len(stored_heads) < heads and stored == [b * heads + h for b in range(batches) for h in stored_heads]:
        shape = f"only heads {describe(stored_heads)} of every batch were stored"
    kernels = {kernel for kernel, _ in failure.writers[1]}
    grids = {launch.grid for launch in failure.launches if launch.kernel in kernels}
    axis_note = ""
    if len(grids) == 1:
        grid = next(iter(grids))
        axes = [axis for axis in range(3) if grid[axis] == len(stored) and len(stored) > 1]
        if len(axes) == 1:
            axis_note = f"; the grid {grid} has {len(stored)} programs along axis {axes[0]}, one per stored slice"
    return (
        f"likely: no program stored {len(missing)} of the {total} (batch, head) slices of `{failure.output}` "
        f"(the first: b={first_missing // heads}, h={first_missing % heads}), and every slice that was stored is right"
        + (f": {shape}" if shape else "")
        + axis_note
        + f"; the grid, or the (batch, head) a program picks from its id, must reach all B * H = {total}"
    )


def unwritten_among(failure: Failure, elements: "torch_types.Tensor") -> bool:
    """Some of `elements` (a bool mask over the output) were never written, as far as the record says."""
    missing = unwritten(failure)
    return missing is not None and bool((missing & elements).any())


def describe(values: Any) -> str:
    return ", ".join(str(value) for value in values)


# ----- what the store map says about the grid and the program -> elements mapping --------------------
def nothing_stored_note(failure_stores: StoreMap | None, launches: list[LaunchRecord], round_up: str) -> str | None:
    """No program stored into the output: a grid with no programs, or stores that go elsewhere. Not
    when a store addressed the output with its mask off: it was reached, and its mask is the news."""
    if failure_stores is None or failure_stores.programs or failure_stores.masked_off:
        return None
    if launches and launched_programs(launches) == 0:
        return (
            f"likely: the grid {grid_text(launches)} has no programs, so nothing is stored: it rounds down to 0; "
            f"{round_up}"
        )
    if launches:
        return (
            "likely: the programs ran but never stored into the tensor you return: the store is never reached "
            "(a loop that does not run?) or goes to another tensor"
        )
    return None


def masked_off_note(stores: StoreMap | None, bad: "torch_types.Tensor") -> str | None:
    """The wrong elements that no program stored were all addressed by a store whose mask switched
    them off: the mask is too strict (the grid and the offsets reach them). None otherwise."""
    if stores is None or not stores.masked_off:
        return None
    counts = store_counts(stores)
    never = (bad.flatten() & (counts == 0)).nonzero().flatten().numpy()
    if never.size == 0 or not bool(_addressed_with_mask_off(stores)[never].all()):
        return None
    import numpy as np

    owners = [key[1] for key, indices in stores.masked_off.items() if np.isin(never, indices).any()]
    what = "1 wrong element that no program stored was" if never.size == 1 else f"{never.size} wrong elements that no program stored were"
    edge = _trailing_edge(never, tuple(bad.shape))
    if edge is not None:
        label, short = edge
        return (
            f"likely: a store mask is too strict: {label} is never stored, though "
            f"{programs_text([_short(owner) for owner in owners])} addressed it with the mask off: the mask stops "
            f"{'one' if short == 1 else short} short (off by {'one' if short == 1 else short}); check its bound (< n, not < n - 1)"
        )
    return (
        f"likely: a store mask is too strict: {what} addressed by "
        f"{programs_text([_short(owner) for owner in owners])} with the mask off; check the store's mask "
        "(a bound off by one, or the wrong one)"
    )


def _trailing_edge(never: Any, shape: tuple[int, ...]) -> tuple[str, int] | None:
    """How a report names a set of distinct unstored elements (flat indices into `shape`) that is
    exactly the last rows, or the last columns, of every matrix of the output (the last elements of a
    vector), and how many rows (columns, elements) that is; None for any other set."""
    import numpy as np

    if not shape or never.size == 0 or len(np.unique(never)) != never.size:
        return None
    if len(shape) == 1:
        n = shape[0]
        first = n - never.size
        if first > 0 and int(never.min()) == first:
            return ("the last element" if never.size == 1 else f"the last {never.size} elements ({first}..{n - 1})"), never.size
        return None
    R, C = shape[-2], shape[-1]
    matrices = int(np.prod(shape[:-2]))
    every = "of every slice" if len(shape) > 2 else "of the output"
    for values, length, across, word in (((never // C) % R, R, C, "row"), (never % C, C, R, "column")):
        first = int(values.min())
        count = length - first
        # Every row (column) is no edge, unless there is only one: a one-row score matrix (S = 1).
        if (first == 0 and (length > 1 or word == "column")) or count * across * matrices != never.size:
            continue
        if count == 1:
            return f"the last {word} ({word} {length - 1}) {every}", 1
        return f"the last {count} {word}s ({word}s {first}..{length - 1}) {every}", count
    return None


def slice_collision_note(stores: StoreMap | None, shape: tuple[int, ...]) -> str | None:
    """(batch, head) outputs: whole slices that no program stored while other slices were stored more
    than once. Programs land on each other's slice: the store's batch or head offset is wrong. Named
    by axis when the unstored slices are exactly those past index 0 of one axis; by the step between
    neighbouring programs when that step is measured (overlapping_step_note)."""
    if stores is None or len(shape) < 3:
        return None
    step = overlapping_step_note(stores, shape)
    if step:
        return step
    counts = store_counts(stores).reshape(shape).reshape(shape[0], shape[1], -1)
    unstored = (counts == 0).all(dim=2)
    twice = (counts > 1).any(dim=2)
    if not bool(unstored.any()) or not bool(twice.any()) or bool(unstored.all()):
        return None
    B, H = unstored.shape
    per_head = counts.shape[2]
    past_batch_0 = torch.zeros(B, H, dtype=torch.bool)
    past_batch_0[1:] = True
    past_head_0 = torch.zeros(B, H, dtype=torch.bool)
    past_head_0[:, 1:] = True
    # What is seen is where the results landed; why (an offset left out, a stride too small, or the
    # batch or head worked out wrong from the program id) the record cannot tell apart, so all are named.
    if B > 1 and bool((unstored == past_batch_0).all()):
        return (
            "likely: every batch's results land in batch 0: its slices are stored more than once, no later batch's "
            f"at all; the output's batch offset is missing or too small (one batch is {H * per_head} elements), or the "
            "batch is worked out wrong from the program id"
        )
    if H > 1 and bool((unstored == past_head_0).all()):
        return (
            "likely: every head's results land in head 0: its slices are stored more than once, no later head's at "
            f"all; the output's head offset is missing or too small (one head is {per_head} elements), or the head is "
            "worked out wrong from the program id"
        )
    missing = [tuple(index) for index in unstored.nonzero().tolist()][:3]
    return (
        f"likely: some (batch, head) slices are stored more than once while others, e.g. {describe(missing)}, are never "
        "stored: programs write to each other's slice; check how the store's (batch, head) offset follows from the program id"
    )


def overlapping_step_note(stores: StoreMap, shape: tuple[int, ...]) -> str | None:
    """(batch, head, ...) outputs, one kernel storing them: neighbours along one grid axis (program ids
    that differ by 1 there and nowhere else) whose stores overlap, and whose first stored elements are
    the same number of elements apart for every such pair. That step is measured, not guessed; it is
    named against the strides of the output (contiguous, as the store map's flat indices are).

    Which job the axis had is read off the other axis, never off a program count alone (two key
    tiles and two heads look alike): beside an axis whose steps are whole slices, the overlapping axis
    walks row tiles (started too close for their height); beside an axis that walks row tiles without
    overlap, or alone with a whole slice per program, it picks the (batch, head) slice (with the wrong
    stride). Nothing when the steps differ, or when the other axes do not tell."""
    if len({kernel for kernel, _ in stores.programs}) != 1 or len(shape) < 3:
        return None
    chosen = {pid: elements for (_, pid), elements in zip(stores.programs, stores.elements) if len(elements)}
    first = {pid: int(elements[0]) for pid, elements in chosen.items()}
    strides = [1] * len(shape)
    for dim in range(len(shape) - 2, -1, -1):
        strides[dim] = strides[dim + 1] * int(shape[dim + 1])
    row, slice_size = strides[-2], strides[1]
    import numpy as np

    walks: dict[int, tuple[int, bool]] = {}  # axis -> (its one step, whether neighbours overlap)
    for axis in range(3):
        steps: set[int] = set()
        overlaps = 0
        for pid, start in first.items():
            neighbour = tuple(value + (1 if index == axis else 0) for index, value in enumerate(pid))
            if neighbour in first:
                steps.add(first[neighbour] - start)
                overlaps += int(np.intersect1d(chosen[pid], chosen[neighbour], assume_unique=True).size > 0)
        if len(steps) == 1:
            walks[axis] = (next(iter(steps)), bool(overlaps))
    height = {axis: len({int(index) // row for index in chosen[min(chosen, key=lambda pid: (pid[axis], pid))]}) for axis in walks}
    gaps = bool((store_counts(stores) == 0).any())
    B, H, S = int(shape[0]), int(shape[1]), int(shape[-2])
    for axis, (step, overlap) in walks.items():
        if not overlap or step <= 0:
            continue
        others = [walks[other] for other in walks if other != axis]
        # With one (batch, head) slice in all, there is no slice to pick: the axis walks row tiles.
        beside_slices = B * H == 1 or any(other_step > 0 and other_step % slice_size == 0 for other_step, _ in others)
        beside_tiles = any(0 < other_step < slice_size and not other_overlap for other_step, other_overlap in others)
        programs = 1 + max(pid[axis] for pid in first)
        if beside_slices and len(shape) >= 4 and not beside_tiles:
            return _row_tile_note(step, row, height[axis], axis, programs, gaps)
        whole_slices = not others and height[axis] == S
        if not (beside_tiles or whole_slices) or beside_slices:
            continue
        should = {B * H: ("(batch, head) slice", slice_size), H: ("head", slice_size), B: ("batch", strides[0])}.get(programs)
        if should is None or should[1] == step:
            continue
        names = {strides[dim]: f"one step of dim {dim}" for dim in range(len(shape) - 1, -1, -1)}
        if len(shape) >= 4:
            names[row] = "one row"
        seen = names.get(step, f"{step} elements")
        return (
            f"likely: neighbouring programs along grid axis {axis} ({programs} of them, one per {should[0]}) store "
            f"{step} elements apart ({seen} of the output), so their tiles overlap; one {should[0]} is "
            f"{should[1]} elements: the offset that program id picks multiplies by the wrong stride "
            f"(e.g. the row stride where the {'batch' if should[0] == 'batch' else 'head'} stride belongs)"
        )
    return None


def _row_tile_note(step: int, row: int, height: int, axis: int, programs: int, gaps: bool) -> str | None:
    """Programs along `axis` that each store a tile of `height` rows, started fewer rows apart than
    that: the tile start multiplies the program id by another block size (BLOCK_M for BLOCK_N)."""
    if step % row:
        return None
    apart = step // row
    if apart >= height:
        return None
    return (
        f"likely: the {programs} programs along grid axis {axis} start their tiles {apart} rows apart, but each "
        f"stores {height} rows: the tiles overlap" + (" and the last rows are never stored" if gaps else "")
        + f"; the tile start must be program_id * {height}, the tile's own height (a BLOCK_M where the tile is "
        "BLOCK_N rows, or the other way round)"
    )


def unstored_were_addressed(stores: StoreMap) -> bool:
    """Some element that no program stored was addressed by a store with its mask off: the grid and
    the offsets do reach it, so a claim that the grid is too small would be false."""
    if not stores.masked_off:
        return False
    unstored = (store_counts(stores) == 0).numpy()
    return bool((unstored & _addressed_with_mask_off(stores)).any())


def _addressed_with_mask_off(stores: StoreMap) -> Any:
    """numpy bool per output element: some program's store addressed it with the mask off."""
    import numpy as np

    addressed = np.zeros(stores.numel, dtype=bool)
    for indices in stores.masked_off.values():
        addressed[indices] = True
    return addressed


def _short(program_id: tuple[int, int, int]) -> Any:
    """(3, 0, 0) as 3, the way a 1-D grid's program is named; other ids as they are."""
    return program_id[0] if program_id[1:] == (0, 0) else program_id


def colliding_programs(stores: StoreMap) -> tuple[list[tuple[int, int, int]], int] | None:
    """Two or more programs that stored the same element, and that element; None when none overlap."""
    counts = store_counts(stores)
    twice = (counts > 1).nonzero()
    if twice.numel() == 0:
        return None
    element = int(twice[0])
    import numpy as np

    programs = [program for (_, program), stored in zip(stores.programs, stores.elements) if bool(np.isin(element, stored))]
    return programs, element


def differing_axes(programs: list[tuple[int, int, int]]) -> list[int]:
    return [axis for axis in range(3) if len({program[axis] for program in programs}) > 1]


def stored_box(stores: StoreMap, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(R, C) when the elements stored are exactly rows < R and columns < C of every trailing 2-D slice
    of the output (each once), with something missing; else None."""
    counts = store_counts(stores).reshape(shape)
    if bool((counts > 1).any()):
        return None
    stored = counts > 0
    rows, cols = shape[-2], shape[-1]
    any_row = stored.reshape(-1, rows, cols).any(dim=0)
    R = int(any_row.any(dim=1).sum())
    C = int(any_row.any(dim=0).sum())
    if (R, C) == (rows, cols) or R == 0 or C == 0:
        return None
    box = torch.zeros(rows, cols, dtype=torch.bool)
    box[:R, :C] = True
    return (R, C) if bool((stored == box).all()) else None


def silent_programs(stores: StoreMap, launches: list[LaunchRecord]) -> list[tuple[int, int, int]]:
    """The launched programs of the output's kernel(s) that stored nothing into the output."""
    kernels = {kernel for kernel, _ in stores.programs}
    stored = set(stores.programs)
    silent = []
    for launch in launches:
        if launch.kernel not in kernels:
            continue
        for z in range(launch.grid[2]):
            for y in range(launch.grid[1]):
                for x in range(launch.grid[0]):
                    if (launch.kernel, (x, y, z)) not in stored:
                        silent.append((x, y, z))
    return silent


def row_step_note(stores: StoreMap, shape: tuple[int, ...]) -> str | None:
    """A (M, N) output whose programs (a 1-D grid, one kernel) each start storing k elements after the
    previous one, with k not the row length N: the row stride handed to the kernel is k. Read off
    where each program's first store landed, so it holds whatever the values are."""
    if len(shape) != 2 or len({kernel for kernel, _ in stores.programs}) != 1 or len(stores.programs) < 3:
        return None
    if any(program[1:] != (0, 0) for _, program in stores.programs):
        return None
    starts = sorted((program[0], int(elements.min())) for (_, program), elements in zip(stores.programs, stores.elements) if len(elements))
    pids = [pid for pid, _ in starts]
    if pids != list(range(pids[0], pids[0] + len(pids))):
        return None
    step = starts[1][1] - starts[0][1]
    rows, N = shape
    if step <= 0 or step == N or any(b - a != step for (_, a), (_, b) in zip(starts, starts[1:])):
        return None
    if starts[0][1] != starts[0][0] * step:
        return None
    column = " (the column stride, x.stride(1), or no stride at all?)" if step == 1 else ""
    return (
        f"likely: program p starts its row at element p * {step}, not p * {N}: its row offset steps by {step}{column}; "
        f"rows are {N} elements apart: row p starts at p * x.stride(0) in x and p * out.stride(0) in out"
    )


def programs_text(ids: list[Any], limit: int = 4) -> str:
    """'program 3' or 'programs 1, 2, 3, 4 ...'."""
    shown = describe(ids[:limit]) + (" ..." if len(ids) > limit else "")
    return f"program {shown}" if len(ids) == 1 else f"programs {shown}"


# ----- tiled (batch, head, S, S) outputs: levels 4 and 5 ---------------------------------------------
_AXIS_FIX = {
    0: "the query rows must be rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M), with pid_m = tl.program_id(0)",
    1: "the key columns must be cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N), with pid_n = tl.program_id(1)",
    2: "each (batch, head) needs its own offset, bh * stride, with bh = tl.program_id(2)",
}


def tile_store_notes(stores: StoreMap, launches: list[LaunchRecord], shape: tuple[int, ...]) -> list[str]:
    """What the stores of a tiled (B, H, S, S) output say: no programs, too few, tiles started at the
    wrong origin, programs that compute the same tile (named by the grid axis whose program ids
    collide), or programs mapped off the edge."""
    round_up = "round every tile count up with triton.cdiv(S, BLOCK)"
    nothing = nothing_stored_note(stores, launches, round_up)
    if nothing is not None:
        return [nothing]
    restored = restored_note(stores, overlap_and_gap(stores)[1])
    if restored is not None:
        return [restored]
    silent = silent_programs(stores, launches)
    covered = too_few_programs(stores, silent)
    grids = {tuple(written_grid(launch)) for launch in launches}
    if covered is not None and len(grids) == 1 and len(next(iter(grids))) == 1:
        # A 1-D grid over the flat output whose programs store exactly its first `covered` elements.
        return [
            f"likely: the grid {grid_text(launches)} is too small: its {len(stores.programs)} program(s) store the "
            f"first {covered} elements of the flat output and the last, partial block gets no program; round the "
            "program count up with triton.cdiv(total, BLOCK)"
        ]
    overlap, gap = overlap_and_gap(stores)
    origin = tile_origin_note(stores, shape, overlap or gap)
    if origin is not None:
        return [origin]
    mapping = tile_mapping_note(stores, launches, silent, shape, overlap, gap)
    if mapping is not None:
        return [mapping]
    collision = colliding_programs(stores)
    if collision is not None and gap:
        programs, _ = collision
        axes = differing_axes(programs)
        if len(axes) == 1 and _template_grid(stores, launches, shape):
            shown = describe(programs[:2])
            return [f"likely: programs {shown} store the same elements while {gap} are stored by none: {_AXIS_FIX[axes[0]]}"]
        return []
    misplaced = misplaced_tiles_note(stores, silent, gap)
    if misplaced is not None:
        return [misplaced]
    short = too_few_tiles_note(stores, launches, silent, shape)
    if short is not None:
        return [short]
    box = stored_box(stores, shape)
    if (
        box is not None and not silent and not unstored_were_addressed(stores)
        and (box[0] == shape[-2] or not walked_inside(stores, launches, shape, -2))
        and (box[1] == shape[-1] or not walked_inside(stores, launches, shape, -1))
    ):
        # A short side that no two programs split among them is walked inside each program: more
        # programs would not reach it, so the grid is not what is too small (unreached_columns_note).
        R, C = box
        short = "rows and columns" if R < shape[-2] and C < shape[-1] else "rows" if R < shape[-2] else "columns"
        return [
            f"likely: the grid {grid_text(launches)} is too small: its programs store rows 0..{R - 1} and columns "
            f"0..{C - 1} of each (batch, head), and the last, partial block of {short} gets no program; {round_up}"
        ]
    return []


def too_few_tiles_note(
    stores: StoreMap, launches: list[LaunchRecord], silent: list[tuple[int, int, int]], shape: tuple[int, ...]
) -> str | None:
    """One grid axis numbers the tiles, and its programs took exactly tiles 0..P-1 (in row-major or
    column-major order), each storing its whole tile, while the tiles after P got no program: the axis
    is launched with too few programs (one tile count, not the product of both)."""
    kernels = {kernel for kernel, _ in stores.programs}
    grids = {tuple(launch.grid) for launch in launches if launch.kernel in kernels}
    # Masked-off lanes are not asked about: a program that stored its whole tile, clipped at the edge,
    # had a mask that let through all it should, and its padding lanes may address anything.
    if len(kernels) != 1 or len(grids) != 1 or len(shape) < 2 or silent:
        return None
    grid = grids.pop()
    R, C = shape[-2], shape[-1]
    starts, height, width = _program_tiles(stores, R, C)
    if not starts or any(row % height or col % width for row, col in starts.values()):
        return None
    row_tiles, col_tiles = -(-R // height), -(-C // width)
    if row_tiles < 2 or col_tiles < 2:
        return None  # one line of tiles: no flat tile index to count, the grid's own axis is the tile index
    sizes = {program: len(elements) for (_, program), elements in zip(stores.programs, stores.elements)}
    if any(sizes[program] != min(height, R - row) * min(width, C - col) for program, (row, col) in starts.items()):
        return None  # a program stored part of its tile, or more than one: not one tile per program
    # The right split of a flat tile index in each order: tiles per row of tiles, or per column.
    orders = {"row-major": col_tiles, "column-major": row_tiles}
    for axis in range(3):
        count = grid[axis]
        if not 1 <= count < row_tiles * col_tiles or {program[axis] for program in starts} != set(range(count)):
            continue
        for order, per_line in orders.items():
            if not all(
                _split_tile_index(order, program[axis], per_line) == (row // height, col // width)
                for program, (row, col) in starts.items()
            ):
                continue
            grid_short = (
                f"likely: the grid {grid_text(launches)} is too small: axis {axis} numbers the tiles, and its "
                f"{count} programs take tiles 0..{count - 1} of {row_tiles} x {col_tiles} tiles of {height} x "
                f"{width} ({order}, (row tile, column tile) = {_split_text(order, per_line)}); the other "
                f"{row_tiles * col_tiles - count} "
                f"tiles get no program; launch {row_tiles} * {col_tiles} programs on that axis, "
                "triton.cdiv(S, BLOCK_M) * triton.cdiv(S, BLOCK_N)"
            )
            # The tiles taken are one line of tiles, one per program: the stores cannot tell that from
            # programs that each own a line and walk along it in a loop that stops early. A column of
            # tiles, each program's rows cut short on the right, is unreached_columns_note's to name
            # (where the columns stop); the tile read off the stores may be several of the kernel's.
            if order == "column-major" and count == row_tiles:
                return None
            if order == "row-major" and count == col_tiles:
                walk = f"likely: each program owns a column of tiles and its loop over the {row_tiles} row tiles stops after the first"
                return one_of([grid_short, walk])
            return grid_short
    return None


def _program_tiles(stores: StoreMap, R: int, C: int) -> tuple[dict[tuple[int, int, int], tuple[int, int]], int, int]:
    """Where each program's stores into its (R, C) slice begin, as (first row, first column), and the
    tallest and widest span any program stored (0 when none stored)."""
    import numpy as np

    starts: dict[tuple[int, int, int], tuple[int, int]] = {}
    height = width = 0
    for (_, program), elements in zip(stores.programs, stores.elements):
        flat = np.asarray(elements, dtype=np.int64) % (R * C)
        if flat.size == 0:
            continue
        rows, cols = flat // C, flat % C
        starts[program] = (int(rows.min()), int(cols.min()))
        height, width = max(height, int(rows.max() - rows.min()) + 1), max(width, int(cols.max() - cols.min()) + 1)
    return starts, height, width


def tile_mapping_note(
    stores: StoreMap, launches: list[LaunchRecord], silent: list[tuple[int, int, int]], shape: tuple[int, ...], overlap: int, gap: int
) -> str | None:
    """Tiles stored twice or not at all because of how each program finds its tile: the tile index
    split the wrong way, or the store's row stride not the output's. None without overlap or gap."""
    if not overlap and not gap:
        return None
    return tile_decode_note(stores, silent, shape) or store_row_stride_note(stores, launches, shape, overlapping=bool(overlap))


def _template_grid(stores: StoreMap, launches: list[LaunchRecord], shape: tuple[int, ...]) -> bool:
    """The output's kernel ran on the template's grid, (row tiles, column tiles, batch * heads) for
    the tile the busiest program stored: only then does a grid axis say which index it feeds."""
    kernels = {kernel for kernel, _ in stores.programs}
    grids = {launch.grid for launch in launches if launch.kernel in kernels}
    if len(grids) != 1 or len(shape) != 4:
        return False
    B, H, R, C = shape
    _, height, width = _program_tiles(stores, R, C)
    height, width = max(height, 1), max(width, 1)
    return grids.pop() == (-(-R // height), -(-C // width), B * H)


def store_row_stride_note(
    stores: StoreMap, launches: list[LaunchRecord], shape: tuple[int, ...], overlapping: bool = False
) -> str | None:
    """Every program stored its tile as runs of columns that lie another distance apart than the
    output's rows: the store's row stride is not the output's. Named with the argument whose row
    stride it is, where one has it."""
    import numpy as np

    C = shape[-1]
    steps: set[int] = set()
    packed: set[int] = set()  # the lengths of programs stored as one run
    for elements in stores.elements[:64]:
        flat = np.asarray(elements, dtype=np.int64)
        if flat.size < 2:
            continue
        breaks = np.nonzero(np.diff(flat) != 1)[0]
        if breaks.size == 0:
            packed.add(int(flat.size))
            continue  # one run: a single row (or a whole slice), nothing to measure
        starts = np.concatenate(([flat[0]], flat[breaks + 1]))
        if len(set(np.diff(np.concatenate(([0], breaks + 1, [flat.size]))).tolist())) != 1:
            return None  # runs of several lengths: not one tile laid out by one stride
        steps.update(np.diff(starts).tolist())
    # (argument name, row stride) of every matrix-like argument, in launch order.
    row_strides = [
        (arg.name, arg.tensor.stride(-2)) for launch in launches for arg in launch.tensors
        if arg.tensor is not None and arg.tensor.dim() >= 2
    ]
    if not steps and len(packed) == 1 and overlapping:
        # Tiles whose rows are as far apart as they are wide are stored as one run each. Runs longer
        # than a row and not whole rows, which overlap, are tiles packed by another tensor's stride
        # (a flat grid over the output stores runs that never overlap).
        run = packed.pop()
        widths = [width for _, width in row_strides if width not in (0, C)]
        if run > C and run % C and any(run % width == 0 for width in widths):
            steps = {next(width for width in widths if run % width == 0)}
    if len(steps) != 1:
        return None
    step = steps.pop()
    if step <= 0 or step % C == 0:
        return None  # rows C apart, or whole rows some rows apart (a program that strides over rows)
    owners = list(dict.fromkeys(name for name, width in row_strides if width == step))
    whose = f" ({step} is the row stride of {', '.join(f'`{name}`' for name in owners[:2])})" if owners else ""
    return (
        f"likely: every program stores its tile's rows {step} elements apart, but the output's rows are {C} apart: "
        f"the store's row stride is not the output's{whose}; pass the output's own strides, out.stride(...)"
    )


def tile_origin_note(stores: StoreMap, shape: tuple[int, ...], misstored: int) -> str | None:
    """Tiles of a (..., R, C) output whose row (or column) starts step by another amount than the
    tiles' own height (width), where that leaves elements stored twice or not at all (`misstored`):
    each tile's origin multiplies the wrong block size. Read off where each program's stores begin
    and end."""
    import numpy as np

    if not misstored:
        return None
    R, C = shape[-2], shape[-1]
    corners = set()  # (row, column) where each program's stores into the first slice begin
    spans: dict[int, list[tuple[int, int]]] = {-2: [], -1: []}  # per axis, each program's (first, last)
    for elements in stores.elements:
        flat = np.asarray(elements, dtype=np.int64)
        if flat.size == 0:
            continue
        if flat.min() // (R * C) != flat.max() // (R * C):
            # A tile at a wrong origin inside its slice stays inside it (its mask bounds the true rows,
            # which lie further down); stores that run on into the next slice start at a wrong slice
            # offset, whatever the tiles do.
            return None
        first = flat[flat < R * C]
        if first.size:
            corners.add((int((first // C).min()), int((first % C).min())))
        within = flat % (R * C)
        for axis, coords in ((-2, within // C), (-1, within % C)):
            spans[axis].append((int(coords.min()), int(coords.max())))
    # Tiles: in the first slice, every row start meets every column start (a grid of tiles). Row
    # stripes whose column loop starts at the row's tile are not (their starts go together).
    if len(corners) != len({r for r, _ in corners}) * len({c for _, c in corners}):
        return None
    for axis, lines in ((-2, "rows"), (-1, "columns")):
        size = R if axis == -2 else C
        ordered = sorted({low for low, _ in spans[axis]})
        extent = max((high - low + 1 for low, high in spans[axis]), default=0)
        if len(ordered) < 2 or ordered[0] != 0:
            continue
        step = ordered[1]
        # A tile is a power of two wide (tl.arange), and so is a block size: a program that stores a
        # whole stripe in a loop (77 columns) is not one tile, and says nothing about tile origins.
        if step == extent or not _power_of_two(step) or not _power_of_two(extent):
            continue
        if ordered != list(range(0, size, step))[: len(ordered)]:
            continue
        effect = "overlap" if step < extent else f"leave {step - extent} {lines} between them that no tile covers"
        offset, block = ("row", "BLOCK_M") if axis == -2 else ("column", "BLOCK_N")
        return (
            f"likely: the tiles' {lines} start {step} apart but each tile spans {extent} {lines}, so tiles {effect}: "
            f"the {offset} offset multiplies the wrong block size; tile t's {lines} must start at t * {extent}, the "
            f"tile's own ({block} in the template's names)"
        )
    return None


def tile_decode_note(stores: StoreMap, silent: list[tuple[int, int, int]], shape: tuple[int, ...]) -> str | None:
    """A flat tile index split into (row tile, column tile) with the wrong count (the other axis's, or
    a count rounded down where the last tile is ragged) or with // and % swapped. Each program's tile
    is read off where its stores begin; the note is given only when one wrong split reproduces every
    program's tile (and sends each silent program off the edge) while no right split does."""
    kernels = {kernel for kernel, _ in stores.programs}
    if len(kernels) != 1 or len(shape) < 2:
        return None
    R, C = shape[-2], shape[-1]
    starts, height, width = _program_tiles(stores, R, C)
    if not starts or not _power_of_two(height) or not _power_of_two(width):
        return None
    if any(row % height or col % width for row, col in starts.values()):
        return None  # tiles off their grid: tile_origin_note's business
    row_tiles, col_tiles = -(-R // height), -(-C // width)
    if row_tiles < 2 or col_tiles < 2:
        return None  # a tile as tall (wide) as the output may be clipped: its true size is not seen
    axes = [axis for axis in range(3) if len({program[axis] for program in [*starts, *silent]}) > 1]
    # (order, the split of p with n tiles per step, n, whether it is a right split). Square tiles
    # make the other axis's count the same count: only a rounded-down one can differ then.
    counts = sorted({col_tiles, row_tiles, R // height, C // width} - {0})
    splits = [("row-major", n, n == col_tiles) for n in counts] + [("column-major", n, n == row_tiles) for n in counts]
    for axis in axes:
        fitting = []
        for name, count, right in splits:
            seen_fit = all(
                _split_tile_index(name, program[axis], count) == (row // height, col // width)
                for program, (row, col) in starts.items()
            )
            off_edge = all(
                row >= row_tiles or col >= col_tiles
                for row, col in (_split_tile_index(name, program[axis], count) for program in silent)
            )
            if seen_fit and off_edge:
                fitting.append((name, count, right))
        if not fitting or any(right for _, _, right in fitting):
            continue
        name, count, _ = fitting[0]
        tiles = f"{row_tiles} row tiles and {col_tiles} column tiles of {height} x {width}"
        pid = f"pid = tl.program_id({axis})"
        if count not in (row_tiles, col_tiles):
            extent, block = (C, width) if name == "row-major" else (R, height)
            return (
                f"likely: the tile index is split with a tile count rounded down, {extent} // {block} = {count}: "
                f"(row tile, column tile) = {_split_text(name, count)}, with {pid}, reproduces where every program "
                f"stored; the last, partial tile counts too: there are {tiles}, so count them with triton.cdiv"
            )
        if name == "row-major":
            return (
                f"likely: the tile index is split with the number of row tiles: (row tile, column tile) = "
                f"{_split_text(name, count)}, with {pid}, reproduces where every program stored; there are "
                f"{tiles}, so split with the number of column tiles: {_split_text(name, col_tiles)}"
            )
        return (
            f"likely: the tile index's // and % are swapped: program {pid} stores row tile "
            f"pid % {count} and column tile pid // {count}, which reproduces where every program stored; there are "
            f"{tiles}, so use {_split_text('row-major', col_tiles)}"
        )
    return None


def _split_tile_index(order: str, pid: int, count: int) -> tuple[int, int]:
    """(row tile, column tile) of flat tile index `pid`, with `count` tiles to a row of tiles
    ("row-major") or to a column of tiles ("column-major")."""
    return (pid // count, pid % count) if order == "row-major" else (pid % count, pid // count)


def _split_text(order: str, count: int) -> str:
    """_split_tile_index as the kernel would write it."""
    return f"(pid // {count}, pid % {count})" if order == "row-major" else f"(pid % {count}, pid // {count})"


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def misplaced_tiles_note(stores: StoreMap, silent: list[tuple[int, int, int]], gap: int) -> str | None:
    """Programs that store nothing (`silent`) beside `gap` elements that no program stores, in a grid
    large enough to cover every element with the tile the busiest program stored: not a grid too
    small nor a mask too strict (no store reached the missing elements), so the program id -> tile
    mapping sends some programs off the edge while other tiles get none. One kernel only; None where
    the record says otherwise."""
    kernels = {kernel for kernel, _ in stores.programs}
    if len(kernels) != 1 or not gap or not silent or unstored_were_addressed(stores):
        return None
    tile = max(len(elements) for elements in stores.elements)
    programs = len(stores.programs) + len(silent)
    if programs * tile < stores.numel:
        return None
    return (
        f"likely: programs are mapped to the wrong tiles: {len(silent)} of the {programs} programs of "
        f"`{kernels.pop()}` store nothing while {gap} elements get no program, though {programs} programs of "
        f"{tile} elements would cover all {stores.numel}; check how each program id becomes its (row tile, "
        "column tile) pair, and which tile count each division or grid axis uses"
    )


def every_slice_is_the_first(out: "torch_types.Tensor", first: "torch_types.Tensor", atol: float, rtol: float) -> bool:
    """Every (batch, head) slice of `out` equals `first`, the right answer of slice [0, 0], though the
    right answers of the slices differ: the kernel reads head 0 for every head."""
    B, H = out.shape[0], out.shape[1]
    if B * H < 2:
        return False
    return close_to(out, first.expand_as(out), atol, rtol)


# ----- stores that stop short inside each program -----------------------------------------------------
def _programs_split(stores: StoreMap, shape: tuple[int, ...], axis: int) -> bool:
    """Some line along `axis` of a (..., rows, cols) output (a row for -1, a column for -2) holds the
    stores of two or more programs: the grid spreads that axis over programs, rather than each program
    walking it in a loop of its own."""
    import numpy as np

    rows, cols = shape[-2], shape[-1]
    owner: dict[int, int] = {}
    for index, elements in enumerate(stores.elements):
        flat = np.asarray(elements, dtype=np.int64)
        if flat.size == 0:
            continue
        slices = flat // (rows * cols)
        lines = slices * rows + flat // cols % rows if axis == -1 else slices * cols + flat % cols
        for line in np.unique(lines).tolist():
            if owner.setdefault(line, index) != index:
                return True
    return False


def walked_inside(stores: StoreMap, launches: list[LaunchRecord], shape: tuple[int, ...], axis: int) -> bool:
    """Each program walks `axis` (-2 rows, -1 columns) of the output in a loop of its own: no two
    programs share a line along it, and the grid as written has no axis of one program, which could
    be that axis with too few programs."""
    kernels = {kernel for kernel, _ in stores.programs}
    if any(1 in written_grid(launch) for launch in launches if launch.kernel in kernels):
        return False
    return not _programs_split(stores, shape, axis)


def unreached_columns_note(
    stores: StoreMap | None, bad: "torch_types.Tensor", shape: tuple[int, ...], launches: list[LaunchRecord]
) -> str | None:
    """Wrong elements that no program stored (not all of them switched off by a store mask), in rows
    that programs did store into, where no two programs split the columns among them: each program
    walks the columns of its rows itself, and its stores stop early (or start late). Said with where
    they stop."""
    if stores is None or len(shape) < 2 or not stores.programs:
        return None
    rows, cols = shape[-2], shape[-1]
    counts = store_counts(stores)
    never_flat = bad.flatten() & (counts == 0)
    if not bool(never_flat.any()) or bool(torch.as_tensor(_addressed_with_mask_off(stores))[never_flat].all()):
        return None  # nothing of the kind, or a store mask switched them all off: masked_off_note's case
    never = never_flat.reshape(-1, rows, cols)
    stored = (counts > 0).reshape(-1, rows, cols)
    touched = never.any(dim=-1)  # (slice, row) pairs with a never-stored wrong element
    if not bool(stored.any(dim=-1)[touched].all()) or not walked_inside(stores, launches, shape, -1):
        return None  # whole rows unstored (a grid or row matter), or the grid may split the columns
    # Each touched row: stored columns one contiguous run, the rest never stored.
    runs: dict[tuple[int, int], list[int]] = {}
    for index, row in touched.nonzero().tolist():
        columns = stored[index, row].nonzero().flatten()
        first, last = int(columns[0]), int(columns[-1])
        if int(columns.numel()) != last - first + 1 or (first, last) == (0, cols - 1):
            return None
        runs.setdefault((first, last), []).append(row)
    (first, last), at = next(iter(sorted(runs.items(), key=lambda item: item[1][0])))
    rows = sorted(set(at))
    rows_text = f"rows {index_ranges(rows, limit=len(rows))}"
    missing = [text for text in (f"0..{first - 1}" if first > 0 else "", f"{last + 1}..{cols - 1}" if last < cols - 1 else "") if text]
    side = " and ".join(
        part for part, present in (("starts late", first > 0), ("stops early", last < cols - 1)) if present
    )
    others = " (other rows are cut elsewhere)" if len(runs) > 1 else ""
    return (
        f"likely: columns {' and '.join(missing)} of {rows_text} are never written: the stores into those rows "
        f"cover only columns {first}..{last}{others}; no two programs share a row, so each program walks its "
        f"rows' columns itself, and its column loop {side} (its bound, or the offsets it stores at); every "
        f"row's stores must reach columns 0..{cols - 1}"
    )
