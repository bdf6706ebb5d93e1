"""Issue 22's evidence engines: each claim rests on a recorded fact, and says nothing without one.

- origins.py: right values in the wrong place are traced to where they belong (any level, any output);
- reads.py: a kernel that never reads an input the answer needs fails, also when the answer is right;
- scratch.py: memory made with torch.empty holds NaN during a check, so reading it before it is written
  fails every time, and the NaN are traced to the allocating line;
- a store mask that switched off elements its program addressed is not called a grid that is too
  small, and an output PyTorch wrote after the kernels is never said to be "never stored".
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from pytest_triton_quest.checking import check_case
from pytest_triton_quest.model import LaunchRecord, Mode, Tolerance
from pytest_triton_quest.origins import axis_names, describe, find_provenance
from pytest_triton_quest.registry import level_by_number
from tests.support import ON_GPU, REPO, write_kata

KATAS = REPO / "tests" / "evidence_katas"
TIGHT = Tolerance(atol=1e-6, rtol=1e-6)


# ----- provenance: pure, on made-up outputs ------------------------------------------------------------
def _line(out: torch.Tensor, ref: torch.Tensor, name: str = "out") -> str | None:
    found = find_provenance({name: out}, {name: ref}, TIGHT)
    return None if found is None else describe(found, {name: axis_names(out.dim())})


def _attention_shaped(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, 40, 32, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_every_batch_holding_batch_0s_answer_names_the_batch_offset() -> None:
    ref = _attention_shaped()
    out = ref.clone()
    out[1] = ref[0]
    line = _line(out, ref)
    assert line is not None and "batch offset is missing" in line and "(batch 1, head 0, row 0, column 0)" in line


def test_every_head_holding_head_0s_answer_names_the_head_offset() -> None:
    ref = _attention_shaped()
    out = ref.clone()
    out[:, 1:] = ref[:, :1]
    line = _line(out, ref)
    assert line is not None and "head offset is missing" in line and "batch" not in line.split(";")[1]


def test_a_missing_head_offset_is_given_to_the_one_input_with_as_many_heads() -> None:
    """Level 10 with one kv head: every query head holding head 0's answer can only be q read at head
    0, since k and v have no other head to be read at."""
    from pytest_triton_quest.model import Case, Failure
    from pytest_triton_quest.report import _sole_carriers

    ref = _attention_shaped()
    out = ref.clone()
    out[:, 1:] = ref[:, :1]
    q = torch.zeros(2, 3, 40, 32)
    kv = torch.zeros(2, 1, 40, 32)
    failure = Failure(Case("c", "fp32", "test"), {"q": q, "k": kv, "v": kv, "causal": True}, out, ref, out != ref, TIGHT, [])
    names = ("batch", "head", "query", "dim")
    carriers = _sole_carriers(failure, names)
    assert carriers == {"head": "q"}
    found = find_provenance({"out": out}, {"out": ref}, TIGHT)
    assert found is not None
    line = describe(found, {"out": names}, carriers)
    assert line is not None and "the head offset of `q` is missing" in line, line
    # With k and v as many heads as q, no one input is named.
    failure.inputs.update(k=q, v=q)
    assert _sole_carriers(failure, names) == {}


def test_a_transposed_output_is_named() -> None:
    ref = torch.randn(48, 48, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    line = _line(ref.T.contiguous(), ref)
    assert line is not None and "transposed" in line


def test_a_transposed_causal_output_is_named_with_its_minus_inf() -> None:
    """Half the wrong elements of a transposed causal score matrix are -inf, which no segment search
    can place; the whole output equal to the reference's transpose explains them all."""
    scores = torch.randn(2, 64, 64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ref = scores.masked_fill(torch.ones(64, 64, dtype=torch.bool).triu(1), float("-inf"))
    line = _line(ref.transpose(-1, -2).contiguous(), ref)
    assert line is not None and "transposed" in line
    symmetric = scores + scores.transpose(-1, -2)
    assert _line(symmetric.transpose(-1, -2).contiguous(), symmetric) is None  # nothing wrong, nothing said


def test_an_output_stored_with_another_inputs_head_stride_is_named() -> None:
    """Scores (2, 3, 20, 20) stored with q's head stride (20 * 8): heads overlap, the tail of the
    output is never written (NaN, as new memory is during a check); the replay of that store names it,
    and a right output or one with unrelated noise names nothing."""
    from pytest_triton_quest.store_strides import stride_slip_note

    generator = torch.Generator().manual_seed(5)
    ref = torch.randn(2, 3, 20, 20, generator=generator, dtype=torch.float64)
    q = torch.randn(2, 3, 20, 8, generator=generator)
    strides = (3 * 20 * 20, 20 * 8, 20, 1)
    out = torch.full((ref.numel(),), float("nan"), dtype=torch.float64)
    index = sum(torch.arange(size).reshape([-1 if axis == d else 1 for d in range(4)]) * stride
                for axis, (size, stride) in enumerate(zip(ref.shape, strides)))
    out[index.flatten()] = ref.flatten()  # in order: the last writer of a place is the last head
    axes = axis_names(4)
    line = stride_slip_note(out.reshape(ref.shape), ref, {"q": q, "k": q.clone()}, TIGHT, axes)
    assert line is not None and "head stride is taken from `q` or `k`" in line and "160" in line, line
    assert stride_slip_note(ref.clone(), ref, {"q": q}, TIGHT, axes) is None
    noisy = ref + torch.randn(ref.shape, generator=generator, dtype=torch.float64)
    assert stride_slip_note(noisy, ref, {"q": q}, TIGHT, axes) is None


def test_two_exchanged_tiles_are_traced_to_each_other() -> None:
    ref = torch.randn(48, 48, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    out = ref.clone()
    out[0:16, 16:32], out[16:32, 0:16] = ref[16:32, 0:16], ref[0:16, 16:32]
    line = _line(out, ref)
    assert line is not None
    assert any(pair in line for pair in ("(row 16, column 0) holds the answer of (row 0, column 16)", "(row 0, column 16) holds the answer of (row 16, column 0)"))
    assert "rows are exchanged in pairs; columns are exchanged in pairs" in line


def test_answers_that_also_sit_at_their_own_place_are_blamed_on_the_loads() -> None:
    """Each column tile holds the diagonal tile's keys (k loaded with the query tile's rows): the
    moved answers are also right at home, so they were computed twice; no store moves a value twice."""
    ref = torch.randn(48, 48, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    out = ref.clone()
    for tile in range(3):
        rows = slice(16 * tile, 16 * tile + 16)
        for other in range(3):
            out[rows, 16 * other : 16 * other + 16] = ref[rows, 16 * tile : 16 * tile + 16]
    line = _line(out, ref)
    assert line is not None and "those answers also sit at their own place" in line, line
    assert "exchanged" not in line and "the store is not what moved them" in line


def test_outputs_in_another_order_are_named_by_name() -> None:
    a, b, c = (torch.randn(2, 2, 20, 16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) for seed in (3, 4, 5))
    found = find_provenance({"dq": b, "dk": a, "dv": c}, {"dq": a, "dk": b, "dv": c}, TIGHT)
    assert found is not None
    line = describe(found, {})
    assert line is not None and "wrong order" in line and "`dq` holds the answer of `dk`" in line


def test_batch_and_head_flattened_with_another_head_count_is_named() -> None:
    """Level 11's partials stored at b * Hkv + h: (b, h) and (b', h') with the same b * Hkv + h collide."""
    ref = torch.randn(2, 4, 1, 32, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    out = ref.clone()
    out[0, 2], out[0, 3] = ref[1, 0], ref[1, 1]
    line = _line(out, ref)
    assert line is not None and "computed with 2 heads per batch" in line


def test_a_mapping_no_rule_covers_is_an_observation_not_a_headline() -> None:
    from pytest_triton_quest.origins import observation

    ref = torch.randn(64, 32, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    order = torch.randperm(64, generator=torch.Generator().manual_seed(8))
    out = ref[order]
    found = find_provenance({"out": out}, {"out": ref}, TIGHT)
    assert found is not None and describe(found, {"out": axis_names(2)}) is None
    seen = observation(found, {"out": axis_names(2)})
    assert seen is not None and seen.startswith("100% of the wrong elements hold right values of other places: (row ")


def test_values_that_belong_nowhere_are_not_traced() -> None:
    ref = _attention_shaped()
    out = ref + 0.5 * _attention_shaped(seed=9)
    assert _line(out, ref) is None


def test_a_few_traced_segments_among_many_wrong_ones_are_not_reported() -> None:
    """Most of the wrong elements must be explained before a mapping is claimed."""
    ref = _attention_shaped()
    out = ref + 0.5 * _attention_shaped(seed=9)
    out[1, 0, :4] = ref[0, 0, :4]  # 4 rows of 240 wrong ones belong elsewhere
    assert _line(out, ref) is None


# ----- the checks, on small katas (compiled too: none of this needs the interpreter) ---------
needs_interpreter = pytest.mark.skipif(ON_GPU, reason="the store map is the interpreter's")
MODE = Mode("cuda", False, "QUEST_TEST_DEVICE=cuda") if ON_GPU else Mode("cpu", True, "tests")


def _check(kata: str, case_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, str, list[str]]:
    level = level_by_number(int(kata.removeprefix("level").split("_")[0]))
    assert level is not None
    katas = tmp_path / "katas"
    katas.mkdir(parents=True)
    path = katas / level.kata_file
    shutil.copyfile(KATAS / kata, path)
    monkeypatch.chdir(tmp_path)
    result = check_case(level, level.case_by_id(case_id, MODE), path, MODE)
    return result.passed, result.message, result.diagnoses


@pytest.mark.usefixtures("interpreter")
def test_a_right_answer_computed_by_pytorch_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passed, message, diagnoses = _check("level1_torch_answer.py", "fp32-1000", tmp_path, monkeypatch)
    assert not passed
    assert "never read `x`, `y`, yet the answer is right" in message
    assert diagnoses == ["likely: the answer is computed with PyTorch, not by your kernels: no kernel reads `x`, `y`"]


@pytest.mark.usefixtures("interpreter")
def test_an_input_passed_in_place_of_another_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passed, message, diagnoses = _check("level1_x_passed_twice.py", "fp32-1000", tmp_path, monkeypatch)
    assert not passed
    assert "no kernel was given `y`" in message
    assert diagnoses == ["likely: x is passed to the kernel in place of y: it adds x to itself; pass y"]


@pytest.mark.usefixtures("interpreter")
def test_inputs_copied_by_a_cast_count_as_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passed, message, _ = _check("level1_cast_inputs.py", "fp16-1000", tmp_path, monkeypatch)
    assert passed, message


@needs_interpreter
@pytest.mark.usefixtures("interpreter")
def test_a_tensor_pytorch_computed_between_launches_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every input is read, and the answer is right: what gives it away is a kernel reading a tensor
    # no kernel stored into that is none of the inputs' values (the row max is, so it is not named).
    passed, message, diagnoses = _check("level3_torch_row_sums.py", "fp32-20x5", tmp_path, monkeypatch)
    assert not passed
    assert message.startswith("kernel `normalise_kernel` reads `sum_ptr` (float32, shape (20,)): no kernel wrote it")
    assert "max_ptr" not in message
    assert diagnoses == [
        "likely: part of the answer is computed with PyTorch: kernel `normalise_kernel` reads `sum_ptr` (float32, shape (20,)), which no kernel wrote"
    ]


@pytest.mark.usefixtures("interpreter")
def test_a_buffer_kernels_wrote_with_atomic_adds_is_not_called_pytorchs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A blind author's level 9 (dQ added with tl.atomic_add into a zeroed buffer) was rejected as
    # "PyTorch computed it": atomics were not counted as writes.
    passed, message, _ = _check("level3_atomic_row_sums.py", "fp32-20x5", tmp_path, monkeypatch)
    assert passed, message


@pytest.mark.usefixtures("interpreter")
def test_inputs_scaled_or_transposed_by_pytorch_count_as_the_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passed, message, _ = _check("level4_prescaled_inputs.py", "fp16-2x1x150x32-scale2.5", tmp_path, monkeypatch)
    assert passed, message


@pytest.mark.usefixtures("interpreter")
def test_reading_scratch_nobody_wrote_fails_and_names_the_allocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (KATAS / "level1_unwritten_scratch.py").read_text().splitlines()
    line = next(number for number, text in enumerate(source, 1) if "scratch = torch.empty_like" in text)
    for attempt in range(2):  # the same verdict every time: the scratch holds NaN, never leftovers
        passed, message, diagnoses = _check("level1_unwritten_scratch.py", "fp32-1000", tmp_path / str(attempt), monkeypatch)
        assert not passed
        assert "1 NaN come from memory nobody wrote" in message
        if not ON_GPU:  # which elements no program stored is the interpreter's record
            assert f"the buffer of shape [1000] made at katas/level1_vector_add.py:{line}: 1 of its 1000 elements was never stored: those at element 999" in message
        assert diagnoses and "reads memory that was never written" in diagnoses[0], diagnoses
        assert f"torch.empty at katas/level1_vector_add.py:{line}" in diagnoses[0], diagnoses
        if not ON_GPU:  # the interpreter records the loads: the element read is named, and who read it
            assert "`add_kernel` reads memory" in diagnoses[0] and "of `scratch`, the buffer" in diagnoses[0], diagnoses
            assert "(at element 999)" in diagnoses[0], diagnoses


@pytest.mark.usefixtures("interpreter")
def test_an_output_pytorch_wrote_is_not_called_never_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passed, message, _ = _check("level1_cast_after_kernel.py", "fp16-1000", tmp_path, monkeypatch)
    assert not passed
    assert "never stored by any program" not in message
    assert "`out` was never handed to a kernel: PyTorch wrote its values" in message


@needs_interpreter
@pytest.mark.usefixtures("interpreter")
def test_a_mask_one_short_is_not_called_a_small_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22, class 1: `offsets < n - 1` with a triton.cdiv grid was reported as a grid too small."""
    source = (REPO / "solutions_hidden" / "level1_vector_add.py").read_text()
    edited = source.replace("    mask = offsets < n  #", "    mask = offsets < n - 1  #")
    assert edited != source
    (tmp_path / "level1_edited.py").write_text(edited)
    monkeypatch.setattr("tests.test_evidence.KATAS", tmp_path)
    passed, message, diagnoses = _check("level1_edited.py", "fp32-98765", tmp_path / "run", monkeypatch)
    assert not passed
    assert diagnoses and "store mask is too strict" in diagnoses[0] and "grid" not in diagnoses[0].split(":")[1], diagnoses


def test_an_exception_about_dot_shapes_names_the_transpose() -> None:
    """Level 4's tl.dot(q, k) without tl.trans raised and got no headline (issue 13's corpus)."""
    from pytest_triton_quest.checking import _exception_headlines

    try:
        try:
            raise AssertionError("input and other must have equal reduction dimensions")
        except AssertionError as inner:
            raise RuntimeError("interpreter error") from inner
    except RuntimeError as error:
        assert _exception_headlines(error) and "tl.trans" in _exception_headlines(error)[0]
    assert _exception_headlines(ValueError("something else")) == []


def test_a_scalar_indexed_like_a_block_is_named_at_its_kernel_line(tmp_path: Path) -> None:
    """The interpreter raises its own error from the kernel's: the report names the kernel's line (the
    launch line alone says nothing), and the rank-0 indexing gets a headline."""
    from pytest_triton_quest.checking import _describe_exception, _exception_headlines

    kata = tmp_path / "kata.py"
    kata.write_text("def kernel():\n    page[:, None] * 2\n\ndef launch():\n    kernel()\n")
    namespace: dict[str, Any] = {}
    exec(compile(kata.read_text(), str(kata), "exec"), namespace)
    try:
        try:
            namespace["launch"]()
        except NameError as inner:
            raise ValueError("too many indices for tensor of rank 0") from inner
    except ValueError as error:
        # The outer error's own frames are in this test; the cause's reach the kernel's line 2.
        text = _describe_exception(error, kata)
        headlines = _exception_headlines(error, kata)
    assert "\nin the kernel, at " in text and ":2: page[:, None] * 2" in text, text
    assert headlines and headlines[0].startswith("likely: `page` is a single value (rank 0") and "x[:, None]" in headlines[0]


def test_neighbouring_programs_a_row_apart_name_the_stride() -> None:
    """A (batch, head) offset that multiplies by the row stride: program bh stores its tile one row
    after program bh - 1's, so their tiles overlap; the measured step is named (held-out level 8)."""
    import numpy as np

    from pytest_triton_quest.levels.evidence import slice_collision_note
    from pytest_triton_quest.model import StoreMap

    shape = (1, 3, 8, 4)  # batch, head, rows, columns
    row = 4
    elements = [np.arange(bh * row, bh * row + 8 * row) for bh in range(3)]
    stores = StoreMap([("k", (0, bh, 0)) for bh in range(3)], elements, int(np.prod(shape)))
    line = slice_collision_note(stores, shape)
    assert line is not None and "store 4 elements apart (one row of the output)" in line, line
    assert "one head is 32 elements" in line and "wrong stride" in line


def test_row_tiles_started_closer_than_their_height_are_named() -> None:
    """Level 9's dK/dV tile started at program_id * BLOCK_M while it holds BLOCK_N rows: the measured
    step and height are named, and the rows left unstored are said only because some are."""
    import numpy as np

    from pytest_triton_quest.levels.evidence import slice_collision_note
    from pytest_triton_quest.model import StoreMap

    shape = (1, 2, 10, 4)  # batch, head, rows, columns
    programs = [(p, h, 0) for h in range(2) for p in range(3)]
    # Rows 0-3, 2-5, 4-7 of 10 in each head's slice of 40 elements.
    elements = [np.arange(h * 40 + p * 2 * 4, h * 40 + (p * 2 + 4) * 4) for p, h, _ in programs]
    stores = StoreMap([("dkdv", pid) for pid in programs], elements, int(np.prod(shape)))
    line = slice_collision_note(stores, shape)
    assert line is not None and "start their tiles 2 rows apart, but each stores 4 rows" in line, line
    assert "the last rows are never stored" in line and "program_id * 4" in line


def test_programs_that_store_into_batch_0_are_named() -> None:
    import numpy as np

    from pytest_triton_quest.levels.evidence import slice_collision_note
    from pytest_triton_quest.model import StoreMap

    shape = (2, 2, 4, 8)  # batch, head, rows, columns
    slice_size = 4 * 8
    # Four programs, one per (batch, head); those of batch 1 store into batch 0's slices.
    elements = [np.arange(h * slice_size, (h + 1) * slice_size) for b in range(2) for h in range(2)]
    stores = StoreMap([("k", (b * 2 + h, 0, 0)) for b in range(2) for h in range(2)], elements, int(np.prod(shape)))
    line = slice_collision_note(stores, shape)
    assert line is not None and line.startswith("likely: every batch's results land in batch 0")
    assert "batch offset is missing or too small" in line



# ----- coverage: whole (batch, head) slices no program stored ------------------------------------------
def _coverage_failure(stored_slices: list[int], wrong_in_stored: bool = False) -> Any:
    """A (2, 4, 8, 16) output whose stored slices (b * 4 + h) are right unless told otherwise."""
    import numpy as np

    from pytest_triton_quest.model import Case, Failure, LaunchRecord

    shape = (2, 4, 8, 16)
    ref = torch.randn(*shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    out = torch.full(shape, float("nan"), dtype=torch.float64)
    owner = np.full(int(np.prod(shape)), -1, dtype=np.int64)
    per_slice = 8 * 16
    table = []
    for program, index in enumerate(stored_slices):
        out.view(8, 8, 16)[index] = ref.view(8, 8, 16)[index]
        owner[index * per_slice:(index + 1) * per_slice] = program
        table.append(("attention", (0, program, 0)))
    if wrong_in_stored:
        out.view(8, 8, 16)[stored_slices[0], 0, 0] += 1.0
    bad = ~torch.isclose(out, ref)
    launch = LaunchRecord("attention", (1, len(stored_slices), 1), [])
    return Failure(Case("c", "fp32", "test"), {}, out, ref, bad, TIGHT, [launch], (owner, table), output="out")


def test_slices_no_program_stored_name_the_grid() -> None:
    from pytest_triton_quest.levels.evidence import unstored_slices_note

    line = unstored_slices_note(_coverage_failure([0, 1, 2, 3]))
    assert line is not None and line.startswith("likely: no program stored 4 of the 8 (batch, head) slices of `out`")
    assert "only the first 4 in b * H + h order" in line and "the grid (1, 4, 1) has 4 programs along axis 1" in line
    line = unstored_slices_note(_coverage_failure([0, 1, 4, 5]))
    assert line is not None and "only heads 0, 1 of every batch were stored" in line


def test_coverage_is_not_claimed_when_stored_slices_are_wrong_too() -> None:
    from pytest_triton_quest.levels.evidence import unstored_slices_note

    assert unstored_slices_note(_coverage_failure([0, 1, 2, 3], wrong_in_stored=True)) is None
    assert unstored_slices_note(_coverage_failure(list(range(8)))) is None  # nothing unstored


# ----- a tile wholly past the end of a tensor ------------------------------------------------------------
def test_a_tile_wholly_past_the_end_is_placed_in_the_tensors_index_space() -> None:
    from pytest_triton_quest.guard import BoundsViolation
    from pytest_triton_quest.levels.evidence import wholly_outside_note
    from pytest_triton_quest.model import Case, LaunchRecord, OutOfBounds, TensorArg

    k = torch.zeros(1, 1, 17, 32)
    arg = TensorArg("k_ptr", k.numel(), 4, 0, k)
    launch = LaunchRecord("attention", (1, 2, 1), [arg])
    whole = BoundsViolation("attention", "load", "k_ptr", (544, 1055), 512, 544, (0, 1, 0), tile=True, lanes=512)
    assert "a mask would only hide the bug" in whole.hint()
    line = wholly_outside_note(OutOfBounds(Case("c", "fp32", "test"), {}, whole, [launch]))
    assert line is not None and "at index [1, 0, 0, 0] of `k_ptr` (shape [1, 1, 17, 32]), past the end of axis 0 (batch), which has 1" in line
    assert not line.startswith("likely")  # a fact for the report: which index overshot, not why
    # A ragged edge (some lanes inside) is a mask's job: neither the note nor the hint says otherwise.
    edge = BoundsViolation("attention", "load", "k_ptr", (544, 560), 17, 544, (0, 0, 0), tile=True, lanes=512)
    assert wholly_outside_note(OutOfBounds(Case("c", "fp32", "test"), {}, edge, [launch])) is None
    assert "Mask the load" in edge.hint()


def test_the_first_program_reading_far_past_the_end_is_said_to_step_too_far() -> None:
    """Program (0, 0, 0) reading more than twice a tensor's size past its start: no ragged edge is that
    wide, so neither the hint nor the line suggests a mask; another program, or lanes just past the
    end, say nothing of the kind."""
    from pytest_triton_quest.guard import BoundsViolation
    from pytest_triton_quest.levels.evidence import far_past_the_end_note
    from pytest_triton_quest.model import Case, OutOfBounds

    def stray(program: tuple[int, int, int], offsets: tuple[int, ...]) -> OutOfBounds:
        access = BoundsViolation("scores", "load", "Q", offsets, 64, 1000, program, tile=True, lanes=256)
        return OutOfBounds(Case("c", "fp32", "test"), {}, access, [])

    far = stray((0, 0, 0), (1000, 7600))
    assert "addresses step too far" in far.stray.hint() and "Mask" not in far.stray.hint()
    line = far_past_the_end_note(far)
    assert line is not None and "reads up to element 7600 of the 1000 it has (7.6 times its size)" in line
    assert far_past_the_end_note(stray((0, 0, 0), (1000, 1100))) is None  # a ragged edge's reach
    assert far_past_the_end_note(stray((3, 0, 0), (1000, 7600))) is None  # a later program's tile may lie further on


# ----- loads of a scratch buffer's unstored elements; programs one wrong stride apart -----------------
def test_loads_of_elements_no_kernel_stored_are_found_and_the_misplaced_stores_counted() -> None:
    import numpy as np

    from pytest_triton_quest.scratch import Allocation, read_unwritten

    buffer = torch.zeros(4, 3, dtype=torch.float32)
    base, size = buffer.data_ptr(), buffer.element_size()
    owner = np.full(12, -1, dtype=np.int64)
    owner[:6] = 0  # the writer stored rows 0 and 1
    loads = [("reduce", (0, 0, 0), "p", np.array([base + index * size for index in (3, 4, 5, 6, 7, 8)], dtype=np.int64))]
    found = read_unwritten(Allocation(10, (4, 3), "float32", buffer), loads, owner)
    assert found is not None and found.readers == ["reduce"]
    assert found.read_unstored.tolist()[2] == [True, True, True] and int(found.read_unstored.sum()) == 3
    assert found.stored_unread == 3  # row 0 was stored and never read: the two index it differently
    everything_stored = np.zeros(12, dtype=np.int64)
    assert read_unwritten(Allocation(10, (4, 3), "float32", buffer), loads, everything_stored) is None


def _tile_stores(R: int, C: int, height: int, width: int, tile_of: Any, programs: int) -> Any:
    """A store map of one (R, C) output: program p stores the tile tile_of(p) = (row tile, column tile)."""
    import numpy as np

    from pytest_triton_quest.model import StoreMap

    stored, elements = [], []
    for p in range(programs):
        tr, tc = tile_of(p)
        rows = [r for r in range(tr * height, tr * height + height) if r < R]
        cols = [c for c in range(tc * width, tc * width + width) if c < C]
        if rows and cols:
            stored.append(("scores", (p, 0, 0)))
            elements.append(np.array(sorted(r * C + c for r in rows for c in cols), dtype=np.int64))
    return StoreMap(stored, elements, R * C)


def test_blocks_divided_by_their_own_sums_are_not_a_loop_that_stops_early() -> None:
    """The first whole block of such a row is the softmax of those columns, as when the loop stops
    before the tail; the tail holds its own softmax, which no early stop writes, so only the
    block-by-block normaliser is named."""
    from pytest_triton_quest.levels.level3_softmax import _replay_notes

    x = torch.randn(3, 700, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    out = torch.cat([torch.softmax(x[:, s : s + 512], dim=-1) for s in (0, 512)], dim=-1)
    notes = _replay_notes(x, out, TIGHT)
    assert any("each block of 512 columns is divided by its own sum" in note for note in notes), notes
    assert not any("only the first 512 columns" in note for note in notes), notes
    stopped = torch.cat([torch.softmax(x[:, :512], dim=-1), torch.full((3, 188), float("nan"), dtype=torch.float64)], dim=-1)
    assert any("only the first 512 columns" in note for note in _replay_notes(x, stopped, TIGHT))


def test_a_tile_index_split_with_the_row_tile_count_is_named() -> None:
    from pytest_triton_quest.levels.evidence import silent_programs, tile_decode_note

    R, C, height, width = 64, 64, 32, 16  # 2 row tiles, 4 column tiles
    launches = [LaunchRecord("scores", (8, 1, 1), ())]
    wrong = _tile_stores(R, C, height, width, lambda p: (p // 2, p % 2), 8)
    line = tile_decode_note(wrong, silent_programs(wrong, launches), (1, 1, R, C))
    assert line is not None and "split with the number of row tiles: (row tile, column tile) = (pid // 2, pid % 2)" in line, line
    assert "(pid // 4, pid % 4)" in line
    swapped = _tile_stores(R, C, height, width, lambda p: (p % 4, p // 4), 8)
    line = tile_decode_note(swapped, silent_programs(swapped, launches), (1, 1, R, C))
    assert line is not None and "// and % are swapped" in line, line
    # A right split, row-major or column-major, names nothing.
    for right in (lambda p: (p // 4, p % 4), lambda p: (p % 2, p // 2)):
        stores = _tile_stores(R, C, height, width, right, 8)
        assert tile_decode_note(stores, silent_programs(stores, launches), (1, 1, R, C)) is None


def test_a_tile_index_split_with_a_count_rounded_down_is_named() -> None:
    """Square tiles, S = 77: split with 77 // 32 = 2 column tiles where triton.cdiv gives 3."""
    from pytest_triton_quest.levels.evidence import silent_programs, tile_decode_note

    R = C = 77
    launches = [LaunchRecord("scores", (9, 1, 1), ())]
    floored = _tile_stores(R, C, 32, 32, lambda p: (p // 2, p % 2), 9)
    line = tile_decode_note(floored, silent_programs(floored, launches), (1, 1, R, C))
    assert line is not None and "a tile count rounded down, 77 // 32 = 2" in line and "triton.cdiv" in line, line
    right = _tile_stores(R, C, 32, 32, lambda p: (p // 3, p % 3), 9)
    assert tile_decode_note(right, silent_programs(right, launches), (1, 1, R, C)) is None


def test_a_grid_of_one_tile_count_is_named_and_a_loop_that_stops_is_named_beside_it() -> None:
    """Programs that each stored one whole tile, tiles 0..P-1 in order, and no program for the rest:
    too few programs on the axis that numbers the tiles. When the tiles taken are exactly one line
    of tiles, a loop along the other axis that stops after one tile leaves the same stores, so both
    are named; five of nine tiles can only be a short grid."""
    from pytest_triton_quest.levels.evidence import too_few_tiles_note

    R = C = 77
    line_of_tiles = _tile_stores(R, C, 32, 32, lambda p: (p // 3, p % 3), 3)
    line = too_few_tiles_note(line_of_tiles, [LaunchRecord("scores", (3, 1, 1), ())], [], (1, 1, R, C))
    assert line is not None and line.startswith("likely, one of these") and "the grid (3,) is too small" in line, line
    assert "its loop over the 3 row tiles stops after the first" in line
    five = _tile_stores(R, C, 32, 32, lambda p: (p // 3, p % 3), 5)
    line = too_few_tiles_note(five, [LaunchRecord("scores", (5, 1, 1), ())], [], (1, 1, R, C))
    assert line is not None and line.startswith("likely: the grid (5,) is too small") and "tiles 0..4 of 3 x 3" in line, line
    partial = _tile_stores(R, C, 32, 32, lambda p: (p // 3, p % 3), 9)
    assert too_few_tiles_note(partial, [LaunchRecord("scores", (9, 1, 1), ())], [], (1, 1, R, C)) is None


def test_tiles_stored_with_another_tensors_row_stride_are_named() -> None:
    import numpy as np

    from pytest_triton_quest.levels.evidence import store_row_stride_note
    from pytest_triton_quest.model import StoreMap, TensorArg

    C, D = 40, 16  # the output's rows are 40 apart; q's are 16
    q = torch.zeros(40, D)
    elements = [np.array(sorted(r * D + c for r in range(t * 8, t * 8 + 8) for c in range(8)), dtype=np.int64) for t in range(5)]
    stores = StoreMap([("scores", (t, 0, 0)) for t in range(5)], elements, 40 * C)
    launches = [LaunchRecord("scores", (5, 1, 1), (TensorArg("q_ptr", q.numel(), 4, q.data_ptr(), q),))]
    line = store_row_stride_note(stores, launches, (40, C))
    assert line is not None and "rows 16 elements apart, but the output's rows are 40 apart" in line, line
    assert "16 is the row stride of `q_ptr`" in line
    # Whole rows some rows apart (a program that strides over rows) are not a stride claim.
    rows = [np.concatenate([np.arange(r * C, r * C + C) for r in range(p, 40, 5)]) for p in range(5)]
    assert store_row_stride_note(StoreMap([("k", (p, 0, 0)) for p in range(5)], rows, 40 * C), launches, (40, C)) is None


def test_programs_one_column_stride_apart_are_named() -> None:
    import numpy as np

    from pytest_triton_quest.levels.evidence import row_step_note
    from pytest_triton_quest.model import StoreMap

    rows, N = 6, 10
    stores = StoreMap([("softmax", (p, 0, 0)) for p in range(rows)], [np.arange(p, p + N) for p in range(rows)], rows * N)
    line = row_step_note(stores, (rows, N))
    assert line is not None and "starts its row at element p * 1, not p * 10" in line and "column stride" in line
    right = StoreMap([("softmax", (p, 0, 0)) for p in range(rows)], [np.arange(p * N, (p + 1) * N) for p in range(rows)], rows * N)
    assert row_step_note(right, (rows, N)) is None


# ----- level 9: which range each wrong gradient row sums ----------------------------------------------------
@pytest.mark.skipif(ON_GPU, reason="the corpus is run under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_a_dkdv_walk_that_starts_at_the_key_tile_is_named_by_its_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-causal dK/dV that starts the query walk at the key tile, as the causal case does."""
    from tests.mistakes import all_mistakes

    level = level_by_number(9)
    assert level is not None
    solution = REPO / "solutions_hidden" / level.kata_file
    mistake = next(m for number, m in all_mistakes() if number == 9 and m.name == "noncausal_dkdv_skips_earlier_queries")
    kata = write_kata(level.kata_file, mistake.apply(solution.read_text(), str(solution)), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    result = check_case(level, level.case_by_id("fp32-1x2x77x32-full-scale0.3", mode), kata, mode)
    assert not result.passed and result.diagnoses, result.message
    line = result.diagnoses[0]
    assert "the dk/dv kernel walks the wrong queries" in line and "key 32 sums queries 32..76, not 0..76" in line
    assert "with causal=False every query from 0 is summed" in line


# ----- blind-written mistakes (tests/blind, corpus): what the record shows, whoever wrote the bug ------------
def _blind(relative: str, case_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    source = REPO / "tests" / "blind" / relative
    level = level_by_number(int(source.parent.name.removeprefix("level")))
    assert level is not None
    kata = write_kata(level.kata_file, source.read_text(), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    result = check_case(level, level.case_by_id(case_id, mode), kata, mode)
    assert not result.passed
    return result.message, result.diagnoses


@pytest.mark.skipif(ON_GPU, reason="what kernels load is recorded under the interpreter")
@pytest.mark.usefixtures("interpreter")
@pytest.mark.parametrize(
    ("relative", "case_id", "expected"),
    [
        # v is handed to the kernel and never loaded, while k (its shape and dtype) is.
        ("level10/v_from_k_pointer.py", "fp32-1x1/1x1x16-causal", "a load meant for `v` uses the wrong pointer"),
        # The split kernel's programs store to the same scratch elements; the reducer reads the rest.
        ("level11/partial_store_without_piece.py", "fp32-2/1x16-page8-lens1_17_40",
         "programs of `paged_split_kernel` overwrite each other at [2, :, 0]"),
        # One element read past the end of seq_lens, at the program's own id along a longer axis.
        ("level11/seq_len_by_program.py", "fp32-8/2x32-page16-lens77_5-scale0.3",
         "`seq_lens_ptr` is indexed with program_id(0), but the grid has 4 programs along axis 0"),
        # NaN exactly where a float32 softmax with no max subtracted overflows, right elsewhere.
        ("level11/reduce_without_global_max.py", "fp16-2/2x16-page8-lens23_64-large", "an exp is taken without the max subtracted"),
        # Reproduced by the answer over the keys before the last, partial tile.
        ("level10/ragged_tail_skipped.py", "fp16-1x8/1x33x16-full", "the last, partial tile of keys is never visited: key 32 gets"),
        # A q tile wholly past the end, started by program p of the (batch, head) axis at p * stride(0).
        ("level7/batch_stride_for_head.py", "fp16-1x2x1x32-full",
         "each program steps a whole batch of `q_ptr` where it should step one head: program 1 along axis 1"),
        # Programs that stored nothing, and tile counts that fit the grid read the other way round.
        ("level2/grid_axes_swapped.py", "fp32-77x45x1", "the grid's axes are swapped: c (77 x 45) in tiles of up to 64 rows"),
        # Reproduced by the online softmax whose alpha leaves out the scale.
        ("level7/scale_missing_in_alpha.py", "fp32-1x3x77x32-full", "likely: alpha misses the scale"),
        # Reproduced by the gradients over (query, key) pairs with the diagonal tile's test reversed.
        ("level9/causal_mask_flipped_in_transposed_tile.py", "fp32-2x1x77x32-causal",
         "in the dk/dv kernel the causal test inside the diagonal tile is flipped"),
        # Batch e: replays of the input read transposed, tile-local keys in the causal test, a merge
        # of normalised splits, delta taken at the key's index.
        ("level5/tile_read_transposed.py", "fp32-2x2x77", "the scores are read transposed"),
        ("level8/causal_mask_tile_local_keys.py", "fp32-2x2x77x32-causal", "compares each key's place inside its tile"),
        ("level11/reduce_pieces_normalised_first.py", "fp32-2/1x16-page8-lens1_17_40", "the merge averages each split's normalised output"),
        ("level9/dkdv_delta_indexed_by_keys.py", "fp32-2x1x77x32-causal", "delta is taken at the key's index, not the query's"),
        # A k tile wholly past the end, started at row b * Hq + 0 by the program of batch 1.
        ("level10/kv_row_batch_times_hq.py", "fp16-2x6/3x64x16-full-scale-0.5-wide",
         "the program of batch 1, query head 0 starts its load of `k_ptr` at (batch, head) row 6 = 1 * Hq + 0"),
        # Batches m and n (seventh session). A q tile wholly past the end along the batch axis: a
        # whole tile outside is a wrong start, which no mask fixes, so no mask is blamed.
        ("level4/m_head_index_swap.py", "fp32-1x2x64x16-scale0.3", "each program steps a whole batch of `q_ptr`"),
        # Programs that store nothing beside tiles nobody stores, in a grid large enough for all.
        ("level4/n_scores_tile_decode.py", "fp32-1x2x64x16-scale0.3",
         "the tile index is split with the number of row tiles: (row tile, column tile) = (pid // 2, pid % 2)"),
        # A causal key loop that ends at the query block's start, walked in wider key tiles; the first
        # block's rows see no key and hold 0 (not NaN): still that replay's "no key at all".
        ("level6/m_causal_kv_end.py", "fp32-2x2x77x32-causal", "the diagonal tile is skipped"),
        # delta broadcast along the wrong axis of a square tile (both authors, both orientations).
        ("level9/m_delta_broadcast_axis.py", "fp32-2x1x77x32-causal", "delta is broadcast along the wrong axis of the tile"),
        ("level9/n_bwd_delta_wrong_axis.py", "fp32-1x2x77x32-full-scale0.3", "delta is broadcast along the wrong axis of the tile"),
        # Splits kept in natural-log units, merged with exp2.
        ("level11/m_reduce_exp2.py", "fp32-2/1x16-page8-lens1_17_40", "the merge rescales with exp2 while the splits' maxima are in natural-log units"),
        # The slot stepped by the head stride and the head by the slot stride.
        ("level11/h_slot_and_head_strides_swapped.py", "fp32-4/2x32-page16-lens50_33-large",
         "the slot and the kv head are addressed with each other's strides"),
        # Logical pages read (NaN from pages no sequence owns): with those zeroed, the near miss shows.
        ("level11/n_paged_logical_page_offset.py", "fp32-8/2x32-page16-lens77_5-scale0.3",
         "the cache is addressed with the logical page number"),
        # Batch p: tile rows started at a multiple of the other block size (gaps between tiles).
        ("level4/p_query_rows_use_block_n.py", "fp32-1x2x64x16-scale0.3", "the tiles' rows start 32 apart but each tile spans 16 rows"),
        # A 1-D grid over the flat output that rounds down: only a prefix is stored.
        ("level5/p_grid_rounds_down.py", "fp32-2x2x77", "the grid (23,) is too small: its 23 program(s) store the first 23552"),
        # A softmax in base 2.
        ("level3/p_exp2_without_log2e.py", "fp32-20x5", "exp2 is used without log2(e)"),
        # 1 / D for the default scale is the default scale squared: both causes are named.
        ("level4/p_default_scale_one_over_d.py", "fp32-2x2x77x32", "or the default scale is 1 / D"),
        # kv head h % (Hq // Hkv): where Hkv equals the group, h % Hkv gives the same heads; both named.
        ("level11/m_kv_head_modulo.py", "fp32-4/2x32-page16-lens50_33-large", "query head h is served by kv head h % (Hq // Hkv)"),
        # Eighth session. A lane of padding only: exp(-inf - (-inf)) = NaN, told from the inverted
        # rescale (which also makes NaN) by rows 2048 wide, where no lane is padding only.
        ("level3/k_padding_lane_nan.py", "fp16-13x100", "a lane that holds only padding keeps its max at -inf"),
        # Tiles decoded with // and % swapped, read off where each program stored.
        ("level4/p_tile_row_col_swapped.py", "fp32-1x2x64x16-scale0.3", "the tile index's // and % are swapped"),
        # The output stored with q's strides: the replay of that store reproduces it (rows of each tile
        # D apart, not S, where the replay leaves too much unexplained: see the next case).
        ("level4/q_out_strides_from_q.py", "fp32-2x2x77x32", "the output is stored with the strides of `q` or `k`"),
        ("level4/q_out_strides_from_q.py", "fp16-2x1x150x32-scale2.5", "the store's row stride is not the output's"),
        # k loaded at the query tile's rows: answers copied, so the loads moved them, not the store.
        ("level4/r_key_rows_from_query_tile.py", "fp32-1x2x64x16-scale0.3", "those answers also sit at their own place"),
        # A loop over the head dimension that assigns instead of adding, or stops a chunk early.
        ("level4/t_d_chunk_overwrite.py", "fp32-2x2x77x32", "only the last 16 features (d = 16..31) count"),
        ("level4/u_head_dim_loop_short.py", "fp32-2x2x77x32", "only the first 16 of the 32 features enter the dot product"),
        # Pages taken as contiguous from each sequence's first page (blind batch v).
        ("level11/v_pages_assumed_contiguous.py", "fp32-2/1x16-page8-lens1_17_40", "the pages are taken as contiguous"),
        # Splits with no tokens return before storing, and the merge reads every split: as many
        # programs stored nothing as the elements nobody wrote need.
        ("level11/r_reduce_reads_every_piece.py", "fp32-2/1x16-page8-lens1_17_40", "programs of `paged_split_kernel` ran but stored nothing"),
        # Ninth session, batches x and y. A tile count rounded down (S // BLOCK_N) in the split of
        # the tile index; a grid of one tile count where the product belongs.
        ("level4/x_col_tile_count_floored.py", "fp32-2x2x77x32", "the tile index is split with a tile count rounded down, 77 // 32 = 2"),
        ("level4/x_grid_missing_row_tiles.py", "fp32-2x2x77x32", "the grid (3, 4) is too small: axis 0 numbers the tiles"),
        # Head-dimension loops: chunk numbers used as offsets, the scale inside the loop.
        ("level4/x_dim_chunk_index_as_offset.py", "fp32-2x2x77x32", "the chunks of the head dimension start at 0, 1, 2"),
        ("level4/x_scale_inside_dim_loop.py", "fp16-2x1x150x32-scale2.5", "the scale multiplies the running sum inside the loop"),
        ("level4/x_head_offset_row_stride.py", "fp32-2x2x77x32", "the (batch, head) offset of q and k multiplies the row stride"),
        # q read at the kv head's offset, told from q read at head h // group by the second batch.
        ("level10/y_q_loaded_from_kv_head.py", "fp32-2x8/2x77x32-causal-scale0.3", "likely: q is read at the kv head's offset"),
        # Pages looked up inside their split; a last tile of one page (8 tokens, no tile width).
        ("level11/y_page_index_piece_relative.py", "fp32-4/4x16-page64-lens130_64-scale-0.25",
         "the page entry is looked up from the token's place inside its split"),
        ("level11/v_tail_scores_not_masked.py", "fp32-2/1x16-page8-lens1_17_40", "the tokens past seq_len in the last tile (of 8)"),
        # Batch ab: dS without P, delta loaded at the key tile's rows, the slot at the head stride.
        ("level9/ab_ds_without_p.py", "fp32-1x2x77x32-full-scale0.3", "dS leaves out its factor P"),
        ("level9/ab_delta_at_key_rows.py", "fp32-2x1x77x32-causal", "delta is loaded at the key tile's rows"),
        ("level11/ab_slot_uses_head_stride.py", "fp32-8/2x32-page16-lens77_5-scale0.3", "the slot inside the page steps the kv head's stride"),
        # Tenth session, batches ac to ae. A k mask that lets key S through (cols <= S).
        ("level4/ac_col_mask_off_by_one.py", "fp32-2x2x77x32", "the k mask is off by one: it lets key S through"),
        # delta's kernel launched on S // ROWS programs: none below one block, the tail above.
        ("level9/ac_delta_grid_floor.py", "fp32-1x1x1x16-causal", "runs on the grid (1, 0, 1), which has no program"),
        ("level9/ac_delta_grid_floor.py", "fp32-1x2x77x32-full-scale0.3", "indices 0..63 of 77, and the last, partial block gets no program"),
        # A running max that starts at 0, told from exp without a max by the same call on large scores.
        ("level10/ad_running_max_zero_init.py", "fp32-1x4/2x48x16-causal-negative", "the running max starts at 0 instead of -inf"),
        # The merge in the wrong base at a split size of 48 tokens, read off the split kernel's grid;
        # the splits counted with a floor.
        ("level11/ad_merge_natural_exp.py", "fp32-8/2x32-page16-lens77_5-scale0.3", "the merge rescales with exp while"),
        ("level11/ad_last_piece_dropped.py", "fp32-8/2x32-page16-lens77_5-scale0.3", "the splits are counted with a floor, seq_len // 48"),
        # A transposed store, the -inf above the diagonal included.
        ("level5/ae_output_strides_swapped.py", "fp32-1x2x64", "the output is transposed"),
        # The output's head offset with q's head stride (batch af); a loop whose passes all store at
        # the first block (batch aj).
        ("level4/af_out_head_stride_from_q.py", "fp32-2x2x77x32", "the output's head stride is taken from `q` or `k`"),
        ("level1/aj_store_missing_chunk_offset.py", "fp32-1000", "store the same block 4 times over"),
        # q read with its head and row strides swapped: program 0 reads far past the end (batch ak);
        # pages and slots found inside 48-token splits; split programs that share scratch (batch al).
        ("level4/ak_q_strides_swapped.py", "fp32-2x2x77x32", "the addresses of `Q` step too far"),
        ("level11/al_page_lookup_piece_local.py", "fp32-8/2x32-page16-lens77_5-scale0.3",
         "the page entry is looked up from the token's place inside its split"),
        ("level11/al_scratch_piece_stride.py", "fp32-8/2x32-page16-lens77_5-scale0.3",
         "programs of `_decode_piece` overwrite each other in `part_m`"),
        # A flat tile index split with the row-tile count, on a case of one row tile: no swapped grid
        # is claimed (a column offset of a row tile's width leaves the same stores); the case of two
        # row tiles names the split (batch an).
        ("level2/an_tile_decode_divides_by_row_tiles.py", "fp32-37x37x37", "program 1 ran but stored nothing"),
        ("level2/an_tile_decode_divides_by_row_tiles.py", "fp16-123x77x150", "the tile index is split with the number of row tiles"),
        ("level2/an_col_offset_uses_block_m.py", "fp16-123x77x150", "the tiles' columns start 64 apart but each tile spans 32 columns"),
        # The causal test flipped in every tile a walk from the diagonal visits; delta from O twice (batch am).
        ("level9/am_dkdv_causal_mask_reversed.py", "fp32-2x1x77x32-causal", "the causal test inside the diagonal tile is flipped"),
        ("level9/am_delta_loads_o_twice.py", "fp32-2x1x77x32-causal", "delta is rowsum(O * O)"),
        # Batch ao to aq: a loop over D that never runs when D fits one chunk (q and k loaded only in a
        # larger case); a scratch offset without the batch (the two programs differ in one id); the
        # probabilities of head 0 read back by a second kernel.
        ("level4/ao_d_loop_stops_early.py", "fp32-1x2x64x16-scale0.3", "the loop (or branch) that loads `q` and `k` does not run at this size"),
        ("level9/ap_stats_offset_ignores_batch.py", "fp32-2x1x77x32-causal", "which differ only in tl.program_id(1)"),
        ("level6/aq_pv_probs_head_offset_missing.py", "fp32-1x3x77x32-full", "weighs its own v with the attention weights of slice [0, 0]"),
        # Batches ar and as: a row mask one short (the last row of every slice never stored); tile-local
        # causal indices with row and column tiles of different sizes; k and v stepped by BLOCK_N elements.
        ("level4/ar_query_row_bound.py", "fp32-2x2x77x32", "the last row (row 76) of every slice is never stored"),
        ("level5/ar_tile_local_compare.py", "fp32-1x2x64", "compare the GLOBAL row and column indices"),
        ("level8/as_kv_advance_elements.py", "fp32-1x3x77x32-full", "pointers advance by BLOCK_N elements"),
        # Batch au: a key loop over whole tiles only. At S = 1 neither k nor v is loaded, while a larger
        # case loads both: the loop does not run (not a wrong pointer). On a causal ragged case two
        # replays fit; the probe at S = 160 (whole tiles) is right, which only the tail cut allows.
        ("level7/au_ragged_keys_skipped.py", "fp32-1x1x1x16-causal", "the loop (or branch) that loads `k` and `v` does not run at this size"),
        ("level7/au_ragged_keys_skipped.py", "fp32-2x2x77x32-causal", "the last, partial tile of keys is never visited"),
    ],
)
def test_a_blind_mistake_is_named_from_its_record(relative: str, case_id: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message, diagnoses = _blind(relative, case_id, tmp_path, monkeypatch)
    assert diagnoses and expected in diagnoses[0], (diagnoses, message)


@pytest.mark.skipif(ON_GPU, reason="the corpus is run under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_an_all_nan_output_is_not_blamed_on_the_wrong_side_max(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Level 10: an inverted rescale makes every row NaN, which the wide case's rows (each spans more
    than exp2 takes) fit; the same call on ordinary scores with the default scale is all NaN too, so
    the max taken on the wrong side (right there) is not named."""
    message, diagnoses = _blind("level10/ad_correction_inverted.py", "fp16-2x6/3x64x16-full-scale-0.5-wide", tmp_path, monkeypatch)
    assert not any("wrong side" in line for line in diagnoses), (diagnoses, message)


@pytest.mark.skipif(ON_GPU, reason="the corpus is run under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_a_near_miss_one_case_names_is_ruled_out_by_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Level 11, pages looked up from the token's place inside its split: on the case of pages of
    128 the replay of a lookup per 256-token tile reproduces the output, and it is named there; on
    the case of pages of 16 the same replay is far from the output, and the case says so, so the
    level's summary leaves the line out (test_diagnoses)."""
    from pytest_triton_quest.model import bug_key

    source = REPO / "tests" / "blind" / "level11" / "y_page_index_piece_relative.py"
    level = level_by_number(11)
    assert level is not None
    kata = write_kata(level.kata_file, source.read_text(), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    named = check_case(level, level.case_by_id("fp16-8/1x64-page128-lens1_200", mode), kata, mode)
    note = "likely: the page entry of token t is looked up as t // 256 (a tile width): it is block_table[b, t // page_size]"
    assert any(note.removeprefix("likely: ") in line for line in named.diagnoses), named.diagnoses
    other = check_case(level, level.case_by_id("fp32-8/2x32-page16-lens77_5-scale0.3", mode), kata, mode)
    assert not other.passed and bug_key(note) in other.ruled_out, other.ruled_out


@pytest.mark.skipif(ON_GPU, reason="the corpus is run under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_walk_ranges_say_nothing_when_ranges_far_apart_give_the_same_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On large scores a softmax is nearly one-hot, so a wrong dq row is also the sum over ranges that
    share little; the record does not say which one the walk took, and no walk is named."""
    from tests.mistakes import all_mistakes

    level = level_by_number(9)
    assert level is not None
    solution = REPO / "solutions_hidden" / level.kata_file
    mistake = next(m for number, m in all_mistakes() if number == 9 and m.name == "qk_scale_without_log2e")
    kata = write_kata(level.kata_file, mistake.apply(solution.read_text(), str(solution)), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    result = check_case(level, level.case_by_id("fp16-1x2x64x16-causal-large", mode), kata, mode)
    assert not result.passed
    assert not any("walks the wrong" in line for line in result.diagnoses), result.diagnoses


@pytest.mark.skipif(ON_GPU, reason="the corpus is run under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_a_causal_mask_multiplied_into_p_is_named_from_where_its_nan_fall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN exactly where a walk over tiles meets hidden pairs whose exp overflowed (inf * 0)."""
    from tests.mistakes import all_mistakes

    level = level_by_number(9)
    assert level is not None
    solution = REPO / "solutions_hidden" / level.kata_file
    mistake = next(m for number, m in all_mistakes() if number == 9 and m.name == "mask_by_multiplication")
    kata = write_kata(level.kata_file, mistake.apply(solution.read_text(), str(solution)), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    result = check_case(level, level.case_by_id("fp16-1x2x64x16-causal-large", mode), kata, mode)
    assert not result.passed
    assert result.diagnoses and "the causal mask is applied by multiplying P by it" in result.diagnoses[0], result.diagnoses


# ----- stores that stop short inside each program (blind batch j) ---------------------------------------
def _row_walk_stores(shape: tuple[int, int], columns_of_row: list[range], rows_per_program: int) -> Any:
    """A (rows, cols) output whose programs each own `rows_per_program` rows and walk their columns."""
    import numpy as np

    from pytest_triton_quest.model import StoreMap

    rows, cols = shape
    programs, elements = [], []
    for first in range(0, rows, rows_per_program):
        stored = [row * cols + col for row in range(first, min(first + rows_per_program, rows)) for col in columns_of_row[row]]
        programs.append(("k", (first // rows_per_program, 0, 0)))
        elements.append(np.array(sorted(stored), dtype=np.int64))
    return StoreMap(programs, elements, rows * cols)


def test_columns_each_program_never_reaches_are_named_with_where_its_stores_stop() -> None:
    """Level 3's wide rows: each program stores the whole blocks of its row and stops before the tail."""
    from pytest_triton_quest.levels.evidence import unreached_columns_note

    stores = _row_walk_stores((4, 24), [range(16)] * 4, 1)
    bad = torch.zeros(4, 24, dtype=torch.bool)
    bad[:, 16:] = True
    line = unreached_columns_note(stores, bad, (4, 24), [LaunchRecord("k", (4, 1, 1), ())])
    assert line is not None and line.startswith("likely: columns 16..23 of rows 0..3 are never written"), line
    assert "cover only columns 0..15" in line and "its column loop stops early" in line


def test_columns_a_row_tile_starts_late_on_are_named() -> None:
    """Level 4 with the key loop of each query tile starting at the tile's own row."""
    from pytest_triton_quest.levels.evidence import unreached_columns_note

    stores = _row_walk_stores((8, 8), [range((row // 4) * 4, 8) for row in range(8)], 4)
    bad = torch.zeros(8, 8, dtype=torch.bool)
    bad[4:, :4] = True
    line = unreached_columns_note(stores, bad, (8, 8), [LaunchRecord("k", (2, 1, 1), ())])
    assert line is not None and line.startswith("likely: columns 0..3 of rows 4..7 are never written"), line
    assert "cover only columns 4..7;" in line and "starts late" in line


def test_unreached_columns_are_not_claimed_where_programs_split_the_columns() -> None:
    """Two programs per row, each its own half: a missing third would be the grid's matter."""
    import numpy as np

    from pytest_triton_quest.levels.evidence import tile_store_notes, unreached_columns_note
    from pytest_triton_quest.model import LaunchRecord, StoreMap

    shape = (1, 1, 4, 12)
    elements = [np.array([row * 12 + col for row in range(4) for col in range(half * 4, half * 4 + 4)]) for half in range(2)]
    stores = StoreMap([("k", (0, half, 0)) for half in range(2)], elements, 48)
    bad = torch.zeros(shape, dtype=torch.bool)
    bad[..., 8:] = True
    launches = [LaunchRecord("k", (1, 2, 1), ())]
    assert unreached_columns_note(stores, bad, shape, launches) is None
    (grid,) = tile_store_notes(stores, launches, shape)
    assert "the grid (1, 2) is too small" in grid and "partial block of columns gets no program" in grid


def test_a_short_side_each_program_walks_is_not_called_a_small_grid() -> None:
    """Every program stores the first 4 columns of its rows (the column tile's start left out): more
    programs would not reach column 4, so the grid is not named."""
    from pytest_triton_quest.levels.evidence import tile_store_notes, unreached_columns_note
    from pytest_triton_quest.model import LaunchRecord

    stores = _row_walk_stores((8, 12), [range(4)] * 8, 4)
    launches = [LaunchRecord("k", (2, 1, 1), ())]
    assert tile_store_notes(stores, launches, (1, 1, 8, 12)) == []
    bad = torch.zeros(1, 1, 8, 12, dtype=torch.bool)
    bad[..., 4:] = True
    line = unreached_columns_note(stores, bad, (1, 1, 8, 12), launches)
    assert line is not None and "columns 4..11 of rows 0..7 are never written" in line
    # A grid with an axis of one program might be a column axis with too few programs: no claim.
    one = [LaunchRecord("k", (2, 1, 3), ())]
    assert unreached_columns_note(stores, bad, (1, 1, 8, 12), one) is None


def test_a_head_offset_that_multiplies_the_row_stride_is_named() -> None:
    """Level 4 with k's (batch, head) offset bh * stride_s: head bh reads k from row bh on."""
    from pytest_triton_quest.levels.slice_sources import slice_source_note
    from pytest_triton_quest.model import Case, Failure

    generator = torch.Generator().manual_seed(3)
    q, k = (torch.randn(1, 3, 6, 4, generator=generator, dtype=torch.float64) for _ in range(2))
    ref = q @ k.transpose(-1, -2)
    out = ref.clone()
    flat = k.flatten()
    for h in range(1, 3):
        out[0, h] = q[0, h] @ flat[h * 4 : h * 4 + 24].view(6, 4).T
    bad = ~torch.isclose(out, ref)
    failure = Failure(Case("c", "fp32", "test"), {"q": q, "k": k}, out, ref, bad, TIGHT, [])
    line = slice_source_note(failure, ("q", "k"), lambda s: s["q"] @ s["k"].transpose(-1, -2))
    assert line is not None and line.startswith("likely: `k` is read from the wrong offset"), line
    assert "multiplies its row stride (4) where the head stride (24) belongs" in line


def test_a_huge_compiled_case_shows_what_it_saw_and_leaves_the_naming_to_smaller_ones() -> None:
    """On an H100 a failing level 4 took 2.8x its passing time, in float64 replays of 67-million-element
    cases; those are not diagnosed on a GPU, and every case is on the CPU."""
    from pytest_triton_quest.levels.base import Level
    from pytest_triton_quest.model import Case, Failure
    from pytest_triton_quest.registry import level_by_number
    from pytest_triton_quest.report import DIAGNOSED_ELEMENTS, explain_mismatch

    level = level_by_number(4)
    assert isinstance(level, Level)
    S = 1 + int((DIAGNOSED_ELEMENTS) ** 0.5)
    generator = torch.Generator().manual_seed(1)
    q, k = (torch.randn(1, 1, S, 16, generator=generator, dtype=torch.float64) for _ in range(2))
    ref = q @ k.transpose(-1, -2) * 0.25
    out = ref * 0.25  # the scale applied twice
    case = Case("fp32-huge", "fp32", "test", {"B": 1, "H": 1, "S": S, "D": 16, "scale": 0.25})
    failure = Failure(case, {"q": q, "k": k, "scale": 0.25}, out, ref, ~torch.isclose(out, ref), TIGHT, [])
    message, headlines = explain_mismatch(level, failure, Mode("cuda", False, "test"))
    assert headlines == [] and "not diagnosed: on a GPU only cases of at most 2,097,152 output elements" in message
    assert "every value is off by a constant factor of about 0.25" in message, "what was observed stays"
    _, headlines = explain_mismatch(level, failure, Mode("cpu", True, "test"))
    assert headlines and "scale is applied twice" in headlines[0]


def test_an_offset_that_multiplies_another_inputs_stride_is_named() -> None:
    """Level 10 with k's batch offset b * q.stride(0): q has four times k's heads, so program b = 1
    starts four of k's batches in, past its end (blind batch k)."""
    from pytest_triton_quest.guard import BoundsViolation
    from pytest_triton_quest.levels.evidence import borrowed_stride_note
    from pytest_triton_quest.model import Case, LaunchRecord, OutOfBounds, TensorArg

    q, k = torch.zeros(2, 8, 5, 4), torch.zeros(2, 2, 5, 4)
    arg = TensorArg("k_ptr", k.numel(), 4, 0, k)
    launch = LaunchRecord("gqa", (1, 8, 2), [arg])
    start = q.stride(0)  # 160, while k has 80 elements
    stray = BoundsViolation("gqa", "load", "k_ptr", (start, start + 19), 20, k.numel(), (0, 0, 1), tile=True, lanes=20)
    line = borrowed_stride_note(OutOfBounds(Case("c", "fp32", "test"), {"q": q, "k": k}, stray, [launch]))
    assert line is not None and line.startswith("likely: the batch offset of `k_ptr` multiplies `q`'s batch stride"), line
    assert "its batch stride is stride(0) = 40" in line
    # No other input's stride fits the start: nothing is claimed.
    other = BoundsViolation("gqa", "load", "k_ptr", (120, 139), 20, k.numel(), (0, 0, 1), tile=True, lanes=20)
    assert borrowed_stride_note(OutOfBounds(Case("c", "fp32", "test"), {"q": q, "k": k}, other, [launch])) is None


def test_a_column_compared_inside_its_block_with_the_global_row_is_named() -> None:
    from pytest_triton_quest.levels.level5_causal_mask import _replay_notes

    S = 40
    scores = torch.randn(1, 1, S, S, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    i, j = torch.arange(S)[:, None], torch.arange(S)[None, :]
    (note,) = _replay_notes(scores, scores.masked_fill((j % 16) > i, float("-inf")))
    assert "compares each column's place inside its block (of 16) with the global row" in note


def test_splits_that_store_their_normalised_output_before_an_unnormalised_merge_are_named() -> None:
    from pytest_triton_quest.season2.level11_paged_decode import _MERGE_BUGS, _decode64, _split_decode64
    from pytest_triton_quest.registry import level_by_number

    level = level_by_number(11)
    assert level is not None
    case = next(c for c in level.cases(MODE) if max(c.params["seq_lens"]) > 64)
    inputs = level.make_inputs(case, torch.Generator().manual_seed(0))
    twice = _split_decode64(inputs, 32, 16, "merge_normalised_twice")
    right = _decode64(inputs)
    assert not torch.allclose(twice, right, equal_nan=True), "the bug changes the answer"
    assert "divides by the normalisers again" in _MERGE_BUGS["merge_normalised_twice"]


@needs_interpreter
@pytest.mark.usefixtures("interpreter")
def test_a_key_loop_that_stops_before_the_partial_tile_is_named_and_never_a_wrong_pointer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below one tile the loop never runs, so k is never loaded: that looked like a load of k through
    q's pointer, but the function, run once more on a larger case, does load k there: both causes
    are named."""
    passed, message, diagnoses = _check("level4_key_loop_whole_tiles.py", "fp32-1x1x1x16", tmp_path / "one", monkeypatch)
    assert not passed and "is given `k` (as `k_ptr`) but no load of any kernel addresses it" in message
    assert not any(line.startswith("likely: a load meant for `k` uses the wrong pointer:") for line in diagnoses), diagnoses
    assert any("or the loop that loads it does not run at this size" in line for line in diagnoses), diagnoses
    passed, _, diagnoses = _check("level4_key_loop_whole_tiles.py", "fp32-2x2x77x32", tmp_path / "ragged", monkeypatch)
    assert not passed and diagnoses and diagnoses[0].startswith("likely: columns 64..76 of rows 0..76 are never written"), diagnoses


@pytest.mark.skipif(ON_GPU, reason="the corpus is run under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_nan_from_the_cache_slots_a_case_plants_are_not_blamed_on_the_arithmetic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Level 11 fills the cache slots past seq_len with NaN on purpose. A kernel that reads one slot
    too many gets NaN from there: the rerun that asks where NaN come from sets those planted NaN to 0
    as well as new memory, so the report says they come from the planted NaN (not "your arithmetic
    makes them"), and the level's diagnosis reuses that run instead of calling the function again."""
    from pytest_triton_quest.levels import base
    from tests.mistakes import all_mistakes

    level = level_by_number(11)
    assert level is not None
    mistake = next(m for number, m in all_mistakes() if number == 11 and m.name == "seq_len_mask_inclusive")
    solution = REPO / "solutions_hidden" / level.kata_file
    kata = write_kata(level.kata_file, mistake.apply(solution.read_text(), str(solution)), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    calls = []
    real_run = base.Level.call_arguments

    def counted(self: base.Level, inputs: dict[str, object]) -> object:
        calls.append(1)
        return real_run(self, inputs)

    monkeypatch.setattr(base.Level, "call_arguments", counted)
    result = check_case(level, level.case_by_id("fp32-2/1x16-page8-lens1_17_40", mode), kata, mode)
    assert "come from the NaN this case plants in `k_cache` and `v_cache`" in result.message, result.message
    assert "your arithmetic makes them" not in result.message
    assert result.diagnoses and "loads past seq_len run without a mask" in result.diagnoses[0], result.diagnoses
    assert len(calls) == 2, calls  # the check's own call and the rerun: no probe for the diagnosis


def test_unstored_elements_are_named_by_the_edge_they_form_and_only_then() -> None:
    """A store mask one short leaves the last row (column, element) of every slice unstored; the note
    names that edge only when the unstored set is exactly it."""
    import numpy as np

    from pytest_triton_quest.levels.evidence import _trailing_edge

    shape = (2, 3, 5, 4)
    last_row = np.array([index for index in range(2 * 3 * 5 * 4) if (index // 4) % 5 == 4])
    assert _trailing_edge(last_row, shape) == ("the last row (row 4) of every slice", 1)
    last_two_columns = np.array([index for index in range(2 * 3 * 5 * 4) if index % 4 >= 2])
    assert _trailing_edge(last_two_columns, shape) == ("the last 2 columns (columns 2..3) of every slice", 2)
    assert _trailing_edge(np.array([97, 98, 99]), (100,)) == ("the last 3 elements (97..99)", 3)
    assert _trailing_edge(last_row[:-1], shape) is None  # one slice's last row is stored after all
    assert _trailing_edge(np.array([3, 7]), (2, 4)) == ("the last column (column 3) of the output", 1)
    assert _trailing_edge(np.array([0, 1, 2, 3]), (2, 4)) is None  # the first row is no trailing edge


def test_stores_packed_into_a_prefix_of_a_buffer_are_told_from_stores_that_reach_its_end() -> None:
    """packed_prefix: where every store of one kernel lands in the first M elements of a buffer and
    the rest is never stored (offsets that step too little), M; otherwise None."""
    import numpy as np

    from pytest_triton_quest.scratch import packed_prefix

    buffer = torch.zeros(12)
    start, size = buffer.data_ptr(), buffer.element_size()

    def stores(*runs: tuple[str, list[int]]) -> list[tuple[str, tuple[int, int, int], object]]:
        return [(kernel, (p, 0, 0), np.array([start + size * i for i in elements], dtype=np.int64)) for p, (kernel, elements) in enumerate(runs)]

    assert packed_prefix(buffer, stores(("split", [0, 1, 2, 3]), ("split", [2, 3, 4, 5])), "split") == 6
    assert packed_prefix(buffer, stores(("split", [0, 1, 2, 3]), ("split", [8, 9, 10, 11])), "split") is None  # reaches the end
    assert packed_prefix(buffer, stores(("other", [0, 1])), "split") is None  # the kernel stored nothing there
