"""Run one case of one level against a learner's function and explain the verdict.

This is the whole correctness engine; the pytest items, the worker process and the test suite all
call `check_case`. It never raises for anything the learner's code does: every outcome is a
`CaseResult` with a short message written for the learner.
"""

from __future__ import annotations

import math
import os
import re
import time
import warnings
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ._lazy import torch
from .guard import KernelWatch, watch_kernels
from .levels.base import Level
from .levels.evidence import (
    batch_step_note,
    borrowed_stride_note,
    far_past_the_end_note,
    program_id_index_note,
    stray_tensor,
    wholly_outside_note,
)
from .loading import KataLoadError, function_site, load_function
from .paths import shown, source_line, traceback_kata_line
from .picture import key_tile_view, output_view, stray_view, tile_view
from .origins import axis_names
from .model import (
    BROKEN_KATA,
    CRASHED,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    Case,
    CaseResult,
    CleanRun,
    Failure,
    LaunchRecord,
    Mode,
    OutOfBounds,
    bug_key,
    causes,
)
from .probes import KernelProbe, store_map
from .reads import headline as reads_headline
from .reads import message as reads_message
from .reads import Unloaded, torch_made_headline, torch_made_message, torch_made_reads, unloaded_inputs, unread_inputs
from .sanitizer import LAUNCH_LOG_VARIABLE, LaunchLog
from .scratch import (
    Allocation,
    call_with_fill,
    colliding_pair,
    filled_allocations,
    idle_writer,
    loaded_elements,
    packed_prefix,
    place_of,
    read_unwritten,
    scratch_of,
    shared_stores,
    short_grid_writer,
    silent_writers,
    stored_by,
    unstored_text,
)
from .traffic import TrafficReport, call_traffic, report_of


def not_implemented_message(level: Level, kata_path: Path) -> str:
    return f"level {level.number} is not implemented yet: open {shown(kata_path)} and fill in the TODOs"


def case_seed(level: Level, case: Case) -> int:
    # Stable across runs and processes, so a failure reproduces with the same numbers.
    return zlib.crc32(f"{level.number}/{case.id}".encode())


# ----- loading, cached per process ----------------------------------------------------------------
# Re-importing a kata for every case would throw away compiled kernels, so the function is kept
# until the file changes on disk.
_functions: dict[Path, tuple[int, Callable[..., Any] | KataLoadError]] = {}


def _kata_function(level: Level, kata_path: Path) -> Callable[..., Any]:
    key = kata_path.resolve()
    try:
        stamp = key.stat().st_mtime_ns
    except OSError:
        stamp = -1
    cached = _functions.get(key)
    if cached is None or cached[0] != stamp:
        try:
            loaded: Callable[..., Any] | KataLoadError = load_function(
                kata_path, level.function, level.positional, level.keywords
            )
        except KataLoadError as error:
            loaded = error
        _functions[key] = (stamp, loaded)
        cached = _functions[key]
    if isinstance(cached[1], KataLoadError):
        raise cached[1]
    return cached[1]


# ----- the check ----------------------------------------------------------------------------------
def check_case(
    level: Level, case: Case, kata_path: Path, mode: Mode, count_traffic: bool | None = None, pictures: bool = False
) -> CaseResult:
    """`count_traffic`: count the call's memory traffic into `result.traffic` when it passes
    (interpreter only); None counts it for the level's representative case only (`traffic_case`).
    `pictures` (--quest-picture): a failing case's view of its output and, on an attention level,
    the key tiles each query program read (the call's loads are recorded), also for the
    representative case when it passes."""
    started = time.perf_counter()
    portability: list[str] = []
    if count_traffic is None:
        count_traffic = mode.interpreted and _is_traffic_case(level, case, mode)
    with warnings.catch_warnings():
        # numpy's overflow and invalid-value warnings from inside the interpreter only repeat, less
        # clearly, what the report says about NaN and inf.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"triton\.")
        result = _check(level, case, kata_path, mode, portability, count_traffic and mode.interpreted, pictures)
    result.portability = portability
    result.duration_s = time.perf_counter() - started
    return result


def _key_tile_picture(level: Level, case: Case, watch: KernelWatch, inputs: dict[str, Any], outputs: tuple[Any, ...]) -> dict[str, Any] | None:
    """Which key tiles of head (0, 0) each query program read, from the loads the check's own call
    recorded (picture.KeyTileView as a dict); None when the level has no such picture or the record
    tells nothing (the keys were copied before the launch, say)."""
    keys = inputs.get(level.picture_keys) if level.picture_keys is not None else None
    out = outputs[0] if outputs else None
    if not _is_tensor(keys) or keys.dim() != 4 or not _is_tensor(out) or not watch.loads:
        return None
    names = {arg.name for launch in watch.launches for arg in launch.tensors if arg.data_ptr == keys.data_ptr()}
    causal = bool(inputs.get("causal", False))
    title = f"case {case.id}" + (", causal" if causal else "")
    view = key_tile_view(watch.loads, store_map(watch, out), keys, tuple(out.shape), causal, title, names)
    return view.to_dict() if view is not None else None


def _passing_picture(level: Level, case: Case, watch: KernelWatch, outputs: tuple[Any, ...], traffic: dict[str, Any] | None) -> dict[str, Any] | None:
    """The passing level's representative case: its first output's tiles, each labelled with the
    program that stored it, and the memory traffic below (picture.TileView as a dict)."""
    out = outputs[0] if outputs else None
    if not _is_tensor(out) or not out.is_contiguous():
        return None
    writers = watch.last_writers(out.data_ptr(), out.numel(), out.element_size())
    lines = TrafficReport.from_dict(traffic).lines() if traffic else []
    view = output_view(out.detach().cpu(), writers, torch.zeros(out.shape, dtype=torch.bool), level.outputs[0], f"case {case.id}: passed", lines[0] if lines else "")
    return view.to_dict() if view is not None else None


def _ruled_out(failure: Failure, diagnoses: list[str]) -> list[str]:
    """The bugs (bug_key) this case rules out: some replay of each was far from its output, and no
    replay of the same bug (another tile width, another size) reproduced it or is named in its report."""
    kept = {bug_key(cause) for line in [*failure.reproduced, *diagnoses] for cause in causes(line)}
    # A replay line that names several slips (one number, two readings) rules out each of them.
    return sorted({bug_key(cause) for line in failure.ruled_out for cause in causes(line)} - kept)


def _stray_picture(stray: OutOfBounds, case: Case, diagnoses: list[str]) -> dict[str, Any] | None:
    """Where the stopped access's stray lanes fell, against the tensor its pointer came from
    (picture.StrayView as a dict); None when that tensor or the lanes cannot be drawn."""
    access = stray.stray
    view = stray_view(access, stray_tensor(stray), f"case {case.id}: {access.access} in kernel `{access.kernel}`, program id {access.program_id}",
                      diagnoses[0] if diagnoses else "")
    return view.to_dict() if view is not None else None


def _is_traffic_case(level: Level, case: Case, mode: Mode) -> bool:
    try:
        chosen = level.traffic_case(mode)
    except Exception:  # noqa: BLE001 - a level pack's choice must never break its checks
        return False
    return chosen is not None and chosen.id == case.id


def _check(
    level: Level, case: Case, kata_path: Path, mode: Mode, portability: list[str], count_traffic: bool = False, pictures: bool = False
) -> CaseResult:
    try:
        function = _kata_function(level, kata_path)
    except NotImplementedError:
        return CaseResult(NOT_IMPLEMENTED, not_implemented_message(level, kata_path), stops_level=True)
    except KataLoadError as error:
        return CaseResult(BROKEN_KATA, str(error), stops_level=True)

    if mode.interpreted:
        from .compat import apply_interpreter_fixes

        apply_interpreter_fixes()
    generator = torch.Generator().manual_seed(case_seed(level, case))
    inputs = level.make_inputs(case, generator)
    reference = level.reference(inputs, case)
    device_inputs = {name: _to_device(value, mode) for name, value in inputs.items()}
    # On the CPU `.to()` returns the same tensors, so keep untouched copies to detect mutation.
    pristine = {name: value.clone() for name, value in inputs.items() if _is_tensor(value)}

    probe = KernelProbe(level, function, mode) if mode.interpreted else None
    # --quest-picture on an attention level: the call's own loads say which key tiles each program read.
    key_tiles = pictures and mode.interpreted and level.picture_keys is not None
    called = _call(level, case, function, device_inputs, mode, kata_path, portability, probe, count_traffic, key_tiles, pictures)
    if isinstance(called, CaseResult):
        return called
    returned, watch, allocations = called

    references = _as_tuple(reference)
    outputs, problem = _outputs_of(level, returned)
    headline = None
    if problem is None:
        found = _check_outputs(level, case, outputs, device_inputs, pristine, references)
        if found is not None:
            problem, headline = found
    if problem is not None:
        site = function_site(function, kata_path)
        return CaseResult(FAILED, f"{site}: {problem}", [headline] if headline else [])

    launch_problem = _check_launches(level, function, device_inputs, outputs, mode, watch)
    if launch_problem is not None:
        return launch_problem

    tolerance = level.tolerance(case, mode)
    compared = []
    for name, out, expected in zip(level.outputs, outputs, references):
        out64 = out.detach().to(device="cpu", dtype=torch.float64)
        close = torch.isclose(out64, expected, rtol=tolerance.rtol, atol=tolerance.atol)
        compared.append((name, out, out64, expected, close))
    wrong = tuple(name for name, _, _, _, close in compared if not bool(close.all()))
    unread = unread_inputs(device_inputs, level.needed_inputs(), watch.launches, mode.interpreted, answer_right=not wrong)
    if unread and not wrong:
        # Right values without reading an input can only come from outside the kernels.
        return CaseResult(FAILED, reads_message(unread, answer_right=True), [reads_headline(unread, answer_right=True)])
    if not wrong and mode.interpreted:
        made = torch_made_reads(device_inputs, watch.launches, watch.stores + watch.atomics)
        if made:
            return CaseResult(FAILED, torch_made_message(made), [torch_made_headline(made)])
    if not wrong:
        beyond = level.check_beyond_values(case, inputs, probe)
        if beyond is not None:
            if key_tiles:
                beyond.key_picture = _key_tile_picture(level, case, watch, device_inputs, outputs)
            return beyond
        passed = CaseResult(PASSED)
        if watch.count_traffic:
            passed.traffic = _traffic(level, case, watch, device_inputs, outputs).to_dict()
        if key_tiles and count_traffic:  # a passing level draws its representative case
            passed.key_picture = _key_tile_picture(level, case, watch, device_inputs, outputs)
        elif pictures and count_traffic and mode.interpreted:
            passed.picture = _passing_picture(level, case, watch, outputs, passed.traffic)
        return passed
    from .report import diagnosed, explain_mismatch  # the report is only needed on failure

    # The first wrong output is shown in full; the others are named, since which of several outputs
    # are wrong is itself a clue (level 9: only dq wrong points at the dq kernel).
    name, out, out64, expected, close = next(entry for entry in compared if entry[0] == wrong[0])
    writers = stores = None
    handed = any(_same_storage(arg.tensor, out) for launch in watch.launches for arg in launch.tensors if _is_tensor(arg.tensor))
    if mode.interpreted and out.is_contiguous() and handed:
        writers = watch.last_writers(out.data_ptr(), out.numel(), out.element_size())
        stores = store_map(watch, out)
    failure = Failure(
        case, inputs, out64, expected, ~close, tolerance, watch.launches, writers,
        output=name, wrong_outputs=wrong, stores=stores, probe=probe,
        outputs={entry[0]: entry[2] for entry in compared}, references={entry[0]: entry[3] for entry in compared},
        handed_to_kernel=handed, unread=unread,
        unloaded=_unloaded_at_every_size(
            level, case, mode, probe, unloaded_inputs(device_inputs, level.needed_inputs(), watch.launches), device_inputs,
            watch.launches,
        )
        if mode.interpreted else [],
    )
    examined = diagnosed(failure, mode)  # the reruns below cost a kernel run each, sanitized on a GPU
    if examined:
        # The level's planted NaN go to 0 with new memory, so that NaN that stay are the arithmetic's.
        cleaned = level.planted_nan_free(device_inputs)
        rerun = nan_origin(
            failure, lambda: _rerun_with_zeros(level, function, cleaned, mode, kata_path), allocations, outputs, kata_path,
            watch if mode.interpreted else None, level.planted_nan,
        )
        if rerun is not None and rerun.watch is not None and failure.output in rerun.outputs:
            loaded = {name: loaded_elements(cleaned[name], rerun.watch.loads) for name in level.planted_nan}
            failure.clean_run = CleanRun(rerun.outputs[failure.output], rerun.watch.launches, loaded)
    if examined and mode.interpreted:
        failure.scratch_headline = _scratch_collision_note(watch, scratch_of(allocations, outputs), kata_path)
    if failure.nan_headline is None and examined:
        precision_origin(
            failure, lambda: _rerun_promoted(level, function, device_inputs, mode, kata_path), allocations, outputs, kata_path, references
        )
    message, diagnoses = explain_mismatch(level, failure, mode)
    if len(level.outputs) > 1:
        right = [other for other in level.outputs if other not in wrong]
        heading = f"wrong: {_names(wrong)}" + (f"; right: {_names(right)}" if right else "") + f". `{name}`:"
        message = f"{heading}\n{message}"
    view = tile_view(failure, message.splitlines()[0] if message else case.id, diagnoses[0] if diagnoses else "") if pictures else None
    return CaseResult(
        FAILED, message, diagnoses, picture=view.to_dict() if view is not None else None, ruled_out=_ruled_out(failure, diagnoses),
        key_picture=_key_tile_picture(level, case, watch, device_inputs, outputs) if key_tiles else None,
    )


def _unloaded_at_every_size(
    level: Level, case: Case, mode: Mode, probe: KernelProbe | None, unloaded: list[Unloaded], inputs: dict[str, Any],
    launches: list[LaunchRecord],
) -> list[Unloaded]:
    """An input that this case's kernels never loaded, while another like it was loaded, looks like a
    load through the wrong pointer; a loop that never runs at this size (S < BLOCK_N) leaves the same
    record. So the function runs once more on the level's largest case: for an input loaded there,
    the claim names both causes. When no input at all was loaded here, the same run tells code that
    does not run at this size (inputs loaded there) from a kernel that never loads them; a grid with
    no programs is another fact, said elsewhere."""
    needed = {name for name in level.needed_inputs() if _is_tensor(inputs.get(name)) and inputs[name].numel() > 0}
    programs_ran = all(math.prod(launch.grid) > 0 for launch in launches)
    nothing_loaded = bool(unloaded) and programs_ran and {entry.name for entry in unloaded} == needed
    if probe is None or not (nothing_loaded or any(entry.others_loaded for entry in unloaded)):
        return unloaded
    made = [
        (other.id, level.make_inputs(other, torch.Generator().manual_seed(case_seed(level, other))))
        for other in level.cases(mode) if other.id != case.id
    ]
    if not made:
        return unloaded
    largest, larger_inputs = max(made, key=lambda made: sum(value.numel() for value in made[1].values() if _is_tensor(value)))
    run = probe.run(larger_inputs)
    if run.failed and run.stray is None:
        return unloaded
    still = {entry.name for entry in unloaded_inputs(larger_inputs, level.needed_inputs(), run.launches)}
    there = [entry.name for entry in unloaded if entry.name not in still]
    # Several inputs unloaded here and loaded there point at code that does not run at this size as
    # much as no input loaded at all does: one wrong pointer would miss one of them, not several.
    skipped = nothing_loaded or len(there) >= 2
    return [
        entry if entry.name in still
        else replace(
            entry, loaded_in=largest, not_run_here=skipped,
            alongside=tuple(name for name in there if name != entry.name) if skipped else (),
        )
        for entry in unloaded
    ]


@dataclass
class Rerun:
    """The function called again with new memory filled with zeros: its outputs (float64, CPU, by
    name), and under the interpreter what its kernels loaded and stored and the memory it made."""

    outputs: dict[str, Any]
    watch: KernelWatch | None = None
    allocations: list[Allocation] = field(default_factory=list)
    returned: tuple[Any, ...] = ()


def _rerun(
    level: Level, function: Callable[..., Any], inputs: dict[str, Any], mode: Mode, kata_path: Path, fill: float,
    record_loads: bool = False, promote_half: bool = False,
) -> Rerun | None:
    """The function called again, new memory filled with `fill` (and half-precision memory made
    float32 with `promote_half`); None when that call failed."""
    args, kwargs = level.call_arguments(inputs)
    made: list[Allocation] = []
    try:
        with watch_kernels(mode.interpreted, record_loads=record_loads and mode.interpreted) as watch:
            returned = call_with_fill(function, args, kwargs, kata_path, fill, made, promote_half)
            if mode.device == "cuda":
                torch.cuda.synchronize()
    except Exception:  # noqa: BLE001 - a probe: its failure only means nothing is claimed
        return None
    outputs, problem = _outputs_of(level, returned)
    if problem is not None or not all(_is_tensor(out) for out in outputs):
        return None
    named = {name: out.detach().to(device="cpu", dtype=torch.float64) for name, out in zip(level.outputs, outputs)}
    return Rerun(named, watch if mode.interpreted else None, made, tuple(outputs))


def _new_memory_unread(failure: Failure, rerun: Rerun) -> bool:
    """True when what new memory holds cannot have reached the output: every element of the output
    was stored, and no kernel loaded an element of the function's own buffers before it was stored
    (interpreter records of the rerun)."""
    watch = rerun.watch
    if watch is None or failure.writers is None or bool((torch.as_tensor(failure.writers[0]) < 0).any()):
        return False
    for allocation in scratch_of(rerun.allocations, rerun.returned):
        tensor = allocation.tensor
        if not tensor.is_contiguous():
            return False
        owner, _ = watch.last_writers(tensor.data_ptr(), tensor.numel(), tensor.element_size())
        if read_unwritten(allocation, watch.loads, owner) is not None:
            return False
    return True


def _rerun_with_zeros(level: Level, function: Callable[..., Any], inputs: dict[str, Any], mode: Mode, kata_path: Path) -> Rerun | None:
    # Its loads are kept (interpreter only): a kernel that reads what no kernel stored is then seen
    # reading it, whatever the values make of it (0 / 0 is NaN with zeros too).
    return _rerun(level, function, inputs, mode, kata_path, 0.0, record_loads=True)


def _rerun_promoted(level: Level, function: Callable[..., Any], inputs: dict[str, Any], mode: Mode, kata_path: Path) -> tuple[Any, ...] | None:
    """The outputs (float64, CPU, in the level's order) with every half-precision buffer the function
    makes in float32 instead; None when that call failed."""
    again = _rerun(level, function, inputs, mode, kata_path, float("nan"), promote_half=True)
    return None if again is None else tuple(again.outputs.values())


def precision_origin(
    failure: Failure,
    rerun: Callable[[], tuple[Any, ...] | None],
    allocations: list[Allocation],
    outputs: tuple[Any, ...],
    kata_path: Path,
    references: tuple[Any, ...],
) -> None:
    """A buffer of the function's own made in float16 or bfloat16, when the same call with it in
    float32 gives the right answer: the precision of what one kernel hands the next is the bug."""
    half = [allocation for allocation in scratch_of(allocations, outputs) if allocation.dtype in ("float16", "bfloat16")]
    if not half:
        return
    again = rerun()
    if again is None or len(again) != len(references):
        return
    tolerance = failure.tolerance
    for out, expected in zip(again, references):
        if out.shape != expected.shape or not bool(torch.isclose(out, expected, rtol=tolerance.rtol, atol=tolerance.atol).all()):
            return
    name = shown(kata_path)
    where = ", ".join(f"{allocation.where(name)} ({allocation.dtype}, shape {list(allocation.shape)})" for allocation in half[:3])
    one = len(half) == 1
    failure.precision_headline = (
        f"likely: {'a buffer' if one else 'buffers'} your kernels hand each other {'is' if one else 'are'} in half "
        f"precision (made at {where}); with {'it' if one else 'them'} in float32 the same call is right, so rounding "
        f"the intermediate values costs the digits the answer needs: make {'it' if one else 'them'} float32"
    )


def nan_origin(
    failure: Failure,
    rerun: Callable[[], Rerun | None],
    allocations: list[Allocation],
    outputs: tuple[Any, ...],
    kata_path: Path,
    watch: KernelWatch | None = None,
    planted: tuple[str, ...] = (),
) -> Rerun | None:
    """Where the NaN of the output come from, when the reference has none there: memory nobody wrote
    (they change when new memory holds zeros), NaN the level planted in `planted` inputs (the rerun
    sets those to 0 too), or the arithmetic (they stay). Fills `failure.nan_lines` and, for a kernel
    that reads a buffer nothing wrote, `failure.nan_headline`. Returns the rerun where the level
    planted NaN and no new memory can have reached the output: it then stands for a probe run on the
    inputs with the planted NaN at 0 (`Failure.clean_run`); None otherwise."""
    out, ref = failure.out, failure.ref
    unexpected = torch.isnan(out) & torch.isfinite(ref)
    if not bool(unexpected.any()) or not allocations:
        return None
    if failure.writers is not None and bool((torch.as_tensor(failure.writers[0]).reshape(out.shape)[unexpected] < 0).all()):
        # The interpreter's store map already shows every such NaN unwritten: no second call needed.
        failure.unwritten = unexpected
        return None
    rerun_result = rerun()
    if rerun_result is None:
        return None
    again = rerun_result.outputs
    if failure.output not in again or again[failure.output].shape != out.shape:
        return None
    read_note = _read_unwritten_note(rerun_result, kata_path, tuple(out.shape))
    second = again[failure.output][unexpected]
    count = int(unexpected.sum())
    stayed = int(torch.isnan(second).sum())
    planted_text = " and ".join(f"`{name}`" for name in planted)
    if planted and read_note is None and _new_memory_unread(failure, rerun_result):
        # New memory cannot have reached the output, so the NaN that went are the planted ones (which,
        # at 0, may well give exact zeros: those are no sign of memory nobody wrote here).
        failure.unwritten = torch.zeros_like(unexpected)
        if stayed:
            failure.nan_lines.append(
                f"{stayed} of the unexpected NaN stay when new memory and the NaN this case plants in {planted_text} "
                "hold zeros: your arithmetic makes them (0 / 0, inf - inf or 0 * inf)"
            )
        if count - stayed:
            failure.nan_lines.append(
                f"{count - stayed} of the unexpected NaN come from the NaN this case plants in {planted_text}, where "
                "the answer never reads: with those at 0 they go, so your kernels read there"
            )
        return rerun_result
    unwritten = torch.zeros_like(unexpected)
    unwritten[unexpected] = second == 0
    failure.unwritten = unwritten
    zeros = int((second == 0).sum())
    computed = count - stayed - zeros
    if read_note is not None:
        # Seen directly: a kernel loaded elements no kernel stored. A NaN that stays with zeros may
        # then be 0 / 0 of that memory, so it is not blamed on the arithmetic.
        failure.nan_lines.append(read_note[0])
        failure.nan_headline = read_note[1]
    if stayed and read_note is None:
        failure.nan_lines.append(
            f"{stayed} of the unexpected NaN stay when new memory"
            + (f" and the NaN this case plants in {planted_text} hold" if planted else " holds")
            + " zeros: your arithmetic makes them (0 / 0, inf - inf or 0 * inf)"
        )
    if zeros and failure.writers is None:  # under the interpreter the store map says it, program by program
        failure.nan_lines.append(
            f"{zeros} of them are the NaN the quest puts in new memory (torch.empty): no kernel wrote those elements"
        )
    if computed:
        scratch = scratch_of(allocations, outputs) or allocations
        name = shown(kata_path)
        where = ", ".join(allocation.where(name) for allocation in scratch[:3])
        if planted:
            # Both went to 0 in the rerun: which of the two a NaN came from is not known.
            failure.nan_lines.append(
                f"{computed} NaN come from memory nobody wrote (torch.empty at {where}) or from the NaN this case "
                f"plants in {planted_text}: they change when both hold zeros"
            )
            return None
        failure.nan_lines.append(
            f"{computed} NaN come from memory nobody wrote: they change when new memory holds zeros instead of "
            f"NaN (memory from torch.empty at {where})"
        )
        unstored = []
        if watch is not None:
            for allocation in scratch[:3]:
                tensor = allocation.tensor
                if tensor.is_contiguous():
                    owner, _ = watch.last_writers(tensor.data_ptr(), tensor.numel(), tensor.element_size())
                    text = unstored_text(allocation, owner, _buffer_axes(tensor, tuple(out.shape)))
                    if text:
                        unstored.append(text)
                        failure.nan_lines.append(f"the buffer of shape {list(tensor.shape)} made at {allocation.where(name)}: {text}")
        if computed >= count // 2 and read_note is None:
            failure.nan_headline = (
                f"likely: a kernel reads memory that was never written: the buffer made by torch.empty at {where} "
                "is read before every element of it is stored"
                + (f" ({unstored[0]})" if len(unstored) == 1 else "")
                + "; store it first, or make it with torch.zeros if zeros are what you mean"
            )
    return None


def _buffer_axes(tensor: Any, out_shape: tuple[int, ...]) -> tuple[str, ...]:
    """A buffer shaped like the output's leading axes takes their names (batch, head, ...)."""
    dims = tensor.dim()
    return axis_names(len(out_shape))[:dims] if tuple(tensor.shape) == out_shape[:dims] else ()


def _scratch_collision_note(watch: KernelWatch, scratch: list[Allocation], kata_path: Path) -> str | None:
    """A `likely:` line when two programs of one kernel stored the same elements of one of the
    function's own buffers: programs of one launch run in no set order, so which value stays is luck,
    and whatever reads the buffer gets one program's result where it expects the other's."""
    for allocation in scratch[:4]:
        tensor = allocation.tensor
        if not tensor.is_contiguous():
            continue
        shared = shared_stores(tensor, watch.stores)
        if shared is None:
            continue
        writer, most, where = shared
        return (
            f"likely: programs of `{writer}` overwrite each other in {_buffer_text(allocation, kata_path)} made at "
            f"{allocation.where(shown(kata_path))} ({int(where.sum())} elements stored by up to {most} programs): "
            f"{_colliders(tensor, watch.stores, writer)}; each program must store to its own place"
        )
    return None


def _buffer_text(allocation: Allocation, kata_path: Path) -> str:
    """How a report names one of the function's own buffers: by its variable where the line has one."""
    called = allocation.variable(kata_path)
    return f"`{called}`, the buffer" if called else "the buffer"


_ONE_ID_LEFT_OUT = "store offset does not change with"


def _colliders(tensor: Any, stores: list[Any], writer: str) -> str:
    """Two programs of `writer` that stored the same element of the buffer, and what the record says of
    them. Which programs collide is recorded; why (an index left out, a wrong multiplier, a program id
    split the wrong way) is not. When the two differ in one program id alone and stored exactly the
    same elements, the store offset did not change with that id: that much is said, no more."""
    pair = colliding_pair(tensor, stores, writer)
    if pair is None:
        return "some programs store the same elements, so its store index does not tell them apart"
    first, second = pair
    axes = [axis for axis in range(3) if first[axis] != second[axis]]
    same = stored_by(tensor, stores, writer, first) == stored_by(tensor, stores, writer, second)
    if len(axes) == 1 and same:
        return (
            f"programs {first} and {second}, which differ only in tl.program_id({axes[0]}), store the same elements, "
            f"so its {_ONE_ID_LEFT_OUT} tl.program_id({axes[0]})"
        )
    return f"programs {first} and {second} store the same elements, so its store index does not tell them apart"


def _read_unwritten_note(rerun: Rerun, kata_path: Path, out_shape: tuple[int, ...]) -> tuple[str, str] | None:
    """(report line, headline) when the rerun's kernels loaded elements of one of the function's own
    buffers that no kernel stored; None when none did, or nothing was recorded (compiled runs)."""
    watch = rerun.watch
    if watch is None or not watch.loads:
        return None
    name = shown(kata_path)
    for allocation in scratch_of(rerun.allocations, rerun.returned)[:4]:
        tensor = allocation.tensor
        if not tensor.is_contiguous():
            continue
        owner, _ = watch.last_writers(tensor.data_ptr(), tensor.numel(), tensor.element_size())
        found = read_unwritten(allocation, watch.loads, owner)
        if found is None:
            continue
        count = int(found.read_unstored.sum())
        readers = ", ".join(f"`{kernel}`" for kernel in found.readers) or "a kernel"
        place = place_of(found.read_unstored, _buffer_axes(tensor, out_shape))
        line = (
            f"{readers} loaded {count} element{'s' if count != 1 else ''} of the buffer of shape {list(tensor.shape)} "
            f"made at {allocation.where(name)} that no kernel ever stored" + (f" (at {place})" if place else "")
        )
        elsewhere = ""
        shared = shared_stores(tensor, watch.stores)
        if shared is not None:
            # Programs that overwrite each other beside elements nobody stored: the writer's index
            # leaves out what tells its programs apart, whatever the reader does.
            writer, most, where = shared
            at = place_of(where, _buffer_axes(tensor, out_shape))
            line += f"; up to {most} programs of `{writer}` stored the same elements (at {at})"
            colliders = _colliders(tensor, watch.stores, writer)
            elsewhere = f", while programs of `{writer}` overwrite each other at {at}: {colliders}"
            filled = packed_prefix(tensor, watch.stores, writer)
            if filled is not None and _ONE_ID_LEFT_OUT not in colliders:
                # Overlapping stores, all in a prefix, the rest never stored: offsets packed too close.
                line += f"; every store of `{writer}` lands in its first {filled} of {tensor.numel()} elements"
                elsewhere += (
                    f"; its stores all land in the first {filled} of the {tensor.numel()} elements, so the store "
                    "offset steps too little from one program to the next (a count in it too small)"
                )
        elif found.stored_unread:
            line += f"; {found.stored_unread} elements that were stored there are never loaded"
            elsewhere = ": the kernel that writes it and the kernel that reads it index it differently"
        elif (quiet := silent_writers(tensor, watch.stores, watch.launches, int((torch.as_tensor(owner) < 0).sum()))):
            writer, silent = quiet
            line += f"; {silent} programs of `{writer}` stored nothing there, as many as the unwritten elements need"
            elsewhere = (
                f": {silent} programs of `{writer}` ran but stored nothing (an early return, or a store masked off), "
                "and the elements they did not write are read anyway; read only what was written, or have every "
                "program store its part"
            )
        elif (idle := idle_writer(tensor, watch.stores, watch.launches)):
            writer, grid = idle
            elsewhere = (
                f": `{writer}`, which is handed it, runs on the grid {grid}, which has no program (an axis "
                "that rounds down to 0, as size // BLOCK does when the size is below one block); count the "
                "programs with triton.cdiv"
            )
        elif (short := short_grid_writer(tensor, watch.stores, watch.launches, owner)):
            writer, grid, written, size, block = short
            elsewhere = (
                f": the grid {grid} of `{writer}` is too small: its programs store blocks of {block} along the "
                f"last axis, indices 0..{written - 1} of {size}, and the last, partial block gets no program; "
                "count the programs with triton.cdiv"
            )
        verb = "reads" if len(found.readers) <= 1 else "read"
        headline = (
            f"likely: {readers} {verb} memory that was never written: {count} element{'s' if count != 1 else ''} of "
            f"{_buffer_text(allocation, kata_path)} "
            f"made by torch.empty at {allocation.where(name)}" + (f" (at {place})" if place else "")
            + (elsewhere or "; compare the elements the writing kernel stores with those the reading kernel loads, "
               "or make the buffer with torch.zeros if zeros are what you mean")
        )
        return line, headline
    return None


def _traffic(level: Level, case: Case, watch: KernelWatch, inputs: dict[str, Any], outputs: tuple[Any, ...]) -> TrafficReport:
    """The passing call's memory traffic, against the level's minimum (see traffic.py)."""
    named = dict(zip(level.outputs, outputs))
    first = outputs[0] if outputs else None
    stores = (lambda: store_map(watch, first)) if _is_tensor(first) else None
    return report_of(level, case, call_traffic(watch, inputs, named, stores))


def _names(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _outputs_of(level: Level, returned: Any) -> tuple[tuple[Any, ...], str | None]:
    """The returned tensors in the level's order, or what is wrong with the shape of the answer."""
    if len(level.outputs) == 1:
        return (returned,), None
    expected = f"a tuple ({', '.join(level.outputs)})"
    if returned is None:
        return (), f"`{level.function}` returned None: return {expected}"
    if not isinstance(returned, (tuple, list)):
        return (), f"`{level.function}` returned a {type(returned).__name__}, expected {expected}"
    if len(returned) != len(level.outputs):
        return (), f"`{level.function}` returned {len(returned)} values, expected {len(level.outputs)}: {expected}"
    return tuple(returned), None


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def _to_device(value: Any, mode: Mode) -> Any:
    return value.to(mode.device) if _is_tensor(value) else value


def _to_cpu(value: Any) -> Any:
    return value.cpu() if _is_tensor(value) else value


def _call(
    level: Level,
    case: Case,
    function: Callable[..., Any],
    inputs: dict[str, Any],
    mode: Mode,
    kata_path: Path,
    portability: list[str],
    probe: KernelProbe | None,
    count_traffic: bool = False,
    record_loads: bool = False,
    pictures: bool = False,
) -> tuple[Any, KernelWatch, list[Allocation]] | CaseResult:
    args, kwargs = level.call_arguments(inputs)
    watch: KernelWatch | None = None
    out = None
    allocations: list[Allocation] = []
    try:
        with watch_kernels(mode.interpreted, record_loads=record_loads, count_traffic=count_traffic) as watch:
            if not mode.interpreted and os.environ.get(LAUNCH_LOG_VARIABLE):
                watch.on_launch = LaunchLog(Path(os.environ[LAUNCH_LOG_VARIABLE]))
            with filled_allocations(kata_path) as allocations:
                out = function(*args, **kwargs)
            if mode.device == "cuda":
                torch.cuda.synchronize()
    except NotImplementedError:
        return CaseResult(NOT_IMPLEMENTED, not_implemented_message(level, kata_path), stops_level=True)
    except Exception as error:  # noqa: BLE001 - learner code may raise anything
        if watch is not None:
            portability.extend(watch.portability)
        if watch is not None and watch.violation is not None:
            stray = OutOfBounds(case, {name: _to_cpu(value) for name, value in inputs.items()}, watch.violation, watch.launches, probe)
            # Where a tile that lies wholly outside starts, in the tensor's own index space, is a fact
            # for the report; which index overshot is the level's to say, when it can.
            outside = wholly_outside_note(stray)
            message = watch.violation.describe() + (f"\n{outside}" if outside else "")
            # The level's own reading first; then what the record alone shows about the index.
            generic = (
                program_id_index_note(stray) or batch_step_note(stray) or borrowed_stride_note(stray)
                or far_past_the_end_note(stray)
            )
            diagnoses = level.diagnose_out_of_bounds(stray) or ([generic] if generic else [])
            view = _stray_picture(stray, case, diagnoses) if pictures else None
            return CaseResult(FAILED, message, diagnoses, stray_picture=view)
        if is_cuda_error(error):
            # Without PyTorch's caching allocator (under compute-sanitizer) freeing a tensor calls
            # cudaFree, which in a poisoned context aborts the process before it can answer: keep
            # every tensor of this call (the traceback holds the learner's frames) until it exits.
            _POISONED.append((error, inputs, out))
            return CaseResult(
                CRASHED,
                f"the kernel crashed: {_first_line(error)}; likely an out-of-bounds access: check the masks",
                stops_level=True,
                process_poisoned=True,
            )
        return CaseResult(FAILED, _describe_exception(error, kata_path), _exception_headlines(error, kata_path))
    portability.extend(watch.portability)
    return out, watch, allocations


_POISONED: list[Any] = []  # what a call that hit a CUDA error held; this process is retired after it


def is_cuda_error(error: BaseException) -> bool:
    """CUDA reported an error: the context is poisoned, and the process must not run anything else."""
    text = f"{type(error).__name__}: {error}"
    return "CUDA error" in text or "AcceleratorError" in text or "illegal memory access" in text


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# Triton's own words for a tl.dot whose operands do not chain, interpreted and compiled.
_DOT_SHAPES = ("equal reduction dimensions", "not compatible for matmul", "incompatible dimensions")


def _exception_headlines(error: BaseException, kata_path: Path | None = None) -> list[str]:
    """A likely: line for an exception whose own message names the bug; none otherwise."""
    text = " ".join(str(part) for part in _chain(error)).lower()
    if "too many indices for tensor of rank 0" in text:
        # The kernel line that raised names the value, when one is indexed there with None.
        line = _kernel_line(error, kata_path) if kata_path is not None else None
        found = re.search(r"(\w+)\s*\[\s*(?::\s*,\s*None|None\s*,\s*:)", line or "")
        what = f"`{found.group(1)}` is a single value" if found else "a single value"
        return [
            f"likely: {what} (rank 0, e.g. what tl.load gives for one address, or a program id) but is indexed "
            "like a block, x[:, None]: load one value per lane from a block of addresses (offsets + tl.arange) "
            "when each lane needs its own"
        ]
    if any(words in text for words in _DOT_SHAPES):
        return [
            "likely: the operands of tl.dot do not chain: tl.dot(a, b) multiplies a (M, K) by b (K, N), so b's "
            "first dimension must be a's last; a tile loaded as (N, K) goes in as tl.trans(b)"
        ]
    return []


def _chain(error: BaseException) -> list[BaseException]:
    """The exception and those it was raised from (the interpreter wraps the kernel's own)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _describe_exception(error: BaseException, kata_path: Path) -> str:
    """The exception in a few lines, located at the deepest frame of the kata file. The interpreter
    raises its own error from the kernel's, whose traceback holds the kernel line that failed: that
    line is named (and quoted) as well as the launch."""
    where = traceback_kata_line(error.__traceback__, kata_path)
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    body = "\n".join(lines[:12]) + ("\n..." if len(lines) > 12 else "")
    head = f"{where}: " if where else ""
    text = f"{head}your function raised {type(error).__name__}" + (f":\n{body}" if body else "")
    inner = _kernel_where(error, kata_path)
    if inner and inner != where:
        source = source_line(kata_path, int(inner.rsplit(":", 1)[1]))
        text += f"\nin the kernel, at {inner}" + (f": {source}" if source else "")
    return text


def _kernel_where(error: BaseException, kata_path: Path) -> str | None:
    """`file:line` in the kata of the error the interpreter's own was raised from (the kernel's line)."""
    return next((where for cause in _chain(error)[1:] if (where := traceback_kata_line(cause.__traceback__, kata_path))), None)


def _kernel_line(error: BaseException, kata_path: Path) -> str | None:
    where = _kernel_where(error, kata_path) or traceback_kata_line(error.__traceback__, kata_path)
    return source_line(kata_path, int(where.rsplit(":", 1)[1])) if where else None


def _check_outputs(
    level: Level,
    case: Case,
    outputs: tuple[Any, ...],
    inputs: dict[str, Any],
    pristine: dict[str, Any],
    references: tuple[Any, ...],
) -> tuple[str, str | None] | None:
    """What is wrong with the outputs before any value is compared: (the report's line, the headline
    it supports, if any); None when nothing is."""
    several = len(level.outputs) > 1
    device = next((value.device for value in inputs.values() if _is_tensor(value)), None)
    expected_dtype = level.expected_dtype(case)
    first_input = next((name for name, value in inputs.items() if _is_tensor(value)), None)
    for name, out, reference in zip(level.outputs, outputs, references):
        what = f"`{name}`" if several else "the output"
        if out is None:
            return (f"{what} is None" if several else f"`{level.function}` returned None: return the output tensor"), None
        if not _is_tensor(out):
            kind = type(out).__name__
            return (f"{what} is a {kind}, expected a torch.Tensor" if several else f"`{level.function}` returned a {kind}, expected a torch.Tensor"), None
        if tuple(out.shape) != tuple(reference.shape):
            shapes = f"{tuple(out.shape)}, expected {tuple(reference.shape)}"
            return (f"`{name}` has shape {shapes}" if several else f"the output has shape {shapes}"), None
        if out.dtype != expected_dtype:
            dtypes = f"{out.dtype}, expected {expected_dtype}"
            shown_dtype = str(out.dtype).removeprefix("torch.")
            like = f", e.g. torch.empty_like({first_input})" if first_input and inputs[first_input].dtype == expected_dtype else ""
            return (f"`{name}` has dtype {dtypes}" if several else f"the output has dtype {dtypes}"), (
                f"likely: {what} is made (or cast) as {shown_dtype}: make it in "
                f"{str(expected_dtype).removeprefix('torch.')}, the dtype this case expects{like}"
            )
        if device is not None and out.device != device:
            return f"{what} is on {out.device}, expected {device} (where the inputs are)", None
        for input_name, value in inputs.items():
            if _is_tensor(value) and _same_storage(out, value):
                return f"{what} shares memory with the input `{input_name}`: return a new tensor", (
                    f"likely: {what} is the input `{input_name}` itself (or a view of it), so your kernel writes over "
                    f"the caller's data: allocate a new tensor for it, e.g. torch.empty_like({input_name})"
                )
    for index, out in enumerate(outputs):
        for other_name, other in zip(level.outputs[index + 1 :], outputs[index + 1 :]):
            # Slices of one buffer are fine (a packed dq/dk/dv, as flash-attn returns them); overlap is not.
            if _overlap(out, other):
                return f"`{level.outputs[index]}` and `{other_name}` share memory: return a new tensor for each", None
    for name, original in pristine.items():
        if not _unchanged(inputs[name].cpu(), original):
            return f"your function changed its input `{name}`: inputs are read-only, write to a new tensor", (
                f"likely: something writes into the input `{name}` (a store through its pointer, or an in-place "
                "PyTorch op on it): inputs are read-only; write every result to a tensor of your own"
            )
    return None


def _unchanged(now: Any, before: Any) -> bool:
    """Equal element for element, NaN where NaN was (level 11's cache holds NaN on purpose)."""
    if now.shape != before.shape or now.dtype != before.dtype:
        return False
    same = now == before
    if now.is_floating_point():
        same |= now.isnan() & before.isnan()
    return bool(same.all())


def _overlap(a: Any, b: Any) -> bool:
    """The two tensors' memory spans (lowest to highest element) intersect."""

    def span(t: Any) -> tuple[int, int]:
        low = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()) if stride < 0)
        high = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()) if stride > 0)
        return t.data_ptr() + low * t.element_size(), t.data_ptr() + (high + 1) * t.element_size()

    if a.numel() == 0 or b.numel() == 0:
        return False
    (a_low, a_high), (b_low, b_high) = span(a), span(b)
    return a_low < b_high and b_low < a_high


def _same_storage(a: Any, b: Any) -> bool:
    return bool(a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())


def _check_launches(
    level: Level,
    function: Callable[..., Any],
    inputs: dict[str, Any],
    outputs: tuple[Any, ...],
    mode: Mode,
    watch: KernelWatch,
) -> CaseResult | None:
    launches = watch.launches
    if not launches:
        return CaseResult(
            FAILED,
            "no Triton kernel was launched: the answer must come from your kernel, not from PyTorch",
            ["likely: the level is computed with PyTorch operations instead of a Triton kernel"],
        )
    limit = level.max_launches
    if limit is not None and len(launches) > limit:
        # The first call of an autotuned kernel also launches its benchmark runs: count a second call.
        args, kwargs = level.call_arguments(inputs)
        with watch_kernels(mode.interpreted) as again:
            function(*args, **kwargs)
        launches = again.launches
        if len(launches) > limit:
            names = ", ".join(sorted({launch.kernel for launch in launches}))
            if limit == 1:
                return CaseResult(
                    FAILED,
                    f"one call made {len(launches)} kernel launches ({names}); level {level.number} must be ONE fused kernel",
                    ["likely: attention is split into several kernels; fuse scores, softmax and P @ V into one"],
                )
            return CaseResult(
                FAILED,
                f"one call made {len(launches)} kernel launches ({names}); level {level.number} allows at most {limit}",
            )
    sxs = level.sxs_elements(inputs)
    if sxs is not None:
        for launch in launches:
            for tensor in launch.tensors:
                if tensor.numel >= sxs:
                    return CaseResult(
                        FAILED,
                        f"kernel `{launch.kernel}` received `{tensor.name}` with {tensor.numel} elements, "
                        f"the size of the full S x S score matrix; level {level.number} must never build it",
                        ["likely: the scores are materialised in memory instead of kept in registers tile by tile"],
                    )
    # The copies are judged on the call whose outputs are known (a second call made new ones), each
    # tensor once: an autotuned first call hands the same buffers to hundreds of timing launches.
    given = {value.untyped_storage().data_ptr() for value in [*inputs.values(), *outputs] if _is_tensor(value)}
    judged: set[tuple[int, int]] = set()
    for launch in watch.launches:
        for arg in launch.tensors:
            tensor = arg.tensor
            if tensor is None or not _is_tensor(tensor) or tensor.untyped_storage().data_ptr() in given:
                continue
            if (arg.data_ptr, arg.numel) in judged:
                continue
            judged.add((arg.data_ptr, arg.numel))
            copy = level.forbidden_copy(inputs, tensor)
            if copy is not None:
                return CaseResult(FAILED, f"kernel `{launch.kernel}` received `{arg.name}`, {copy}")
    return None
