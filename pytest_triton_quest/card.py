"""The GPUs the quest knows, and the roofs a kernel is measured against.

Three kinds of figure, kept apart because they mean different things:

- a datasheet's (`DATASHEETS`): what the vendor says a card can do at most, dense (no sparsity);
- a measurement of the learner's own card (`Measured`: taken by card_rates.py on the first GPU run on
  it, kept in the progress file): what torch reaches there, the roof a kernel can really hope for;
- the copy rates the project itself measured on the two cards it was built on (BENCHMARKS.md).

A `Card` is the roofs one report divides by, with a line saying where each figure came from. A
datasheet is picked by the exact name torch.cuda.get_device_name() reports: a near name (an H200 NVL,
an A100 of the other memory size) has another memory system or other clocks, and a sibling's figure
would mislead. This module imports nothing from the package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar


# ----- what a card must have ------------------------------------------------------------------------
@dataclass(frozen=True)
class Feature:
    """Something a level's checks need from the card, and the first compute capability that has it."""

    name: str
    since: tuple[int, int]
    what: str  # in the learner's words, after "has no"


FEATURES: dict[str, Feature] = {
    "bf16": Feature("bf16", (8, 0), "bfloat16"),  # its arithmetic, conversions and tensor cores came with Ampere
}
# What a case of each dtype needs beyond any CUDA card that Triton runs on. No level needs Hopper
# (9.0): the tensor descriptors of the hidden solutions of levels 8 and 10 are lowered to plain
# loads on older cards by Triton.
DTYPE_NEEDS: dict[str, tuple[str, ...]] = {"bf16": ("bf16",)}


# TF32 tensor cores came with Ampere too; a card without them runs float32 products on its CUDA cores.
TF32_SINCE = (8, 0)


def missing(needs: tuple[str, ...], capability: tuple[int, int]) -> list[Feature]:
    """The features in `needs` that a card of this compute capability lacks."""
    return [FEATURES[name] for name in needs if capability < FEATURES[name].since]


def capability_text(capability: tuple[int, int]) -> str:
    return f"{capability[0]}.{capability[1]}"


# ----- datasheets -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Datasheet:
    """What the vendor's datasheet says a card does at most: dense figures, no sparsity."""

    name: str  # as torch.cuda.get_device_name() reports it
    capability: tuple[int, int]  # CUDA compute capability (major, minor)
    memory_gb_per_s: float  # peak memory bandwidth
    fp16_tflops: float  # dense fp16 tensor cores with fp32 accumulate: what tl.dot on fp16 runs at
    tf32_tflops: float | None  # dense TF32 tensor cores (tl.dot on float32); None: the card has none
    fp32_tflops: float  # CUDA cores, no tensor cores
    source: str  # the document the figures come from
    # The copy rate the project measured on this card, where it did (BENCHMARKS.md): what a kernel can
    # really reach, below the datasheet's bandwidth; and one line saying how it was measured.
    copy_gb_per_s: float | None = None
    copy_source: str = ""

    @property
    def bf16_tflops(self) -> float | None:
        # Every card here with bf16 tensor cores runs them at its fp16 rate: each datasheet gives one
        # figure for both.
        return None if missing(("bf16",), self.capability) else self.fp16_tflops


# Sources, one per document. "Dense" figures are the datasheet's sparsity figures halved where the
# datasheet gives only those (its footnote: "with sparsity"; the dense rate is half).
_H100_DATASHEET = "NVIDIA H100 Tensor Core GPU datasheet"
_A100_DATASHEET = "NVIDIA A100 Tensor Core GPU datasheet"
_ADA_WHITEPAPER = "NVIDIA Ada GPU architecture whitepaper, appendix (GeForce RTX 4090)"

DATASHEETS: tuple[Datasheet, ...] = (
    # H200 SXM: 4.8 TB/s; FP16 and BF16 tensor 1,979 TFLOPS with sparsity, so 989.4 dense; TF32 989
    # with sparsity, so 494.7 dense; FP32 67. Copy: BENCHMARKS.md, "Season 2, on an H200".
    Datasheet(
        "NVIDIA H200", (9, 0), 4800.0, 989.4, 494.7, 67.0, "NVIDIA H200 Tensor Core GPU datasheet (SXM)",
        4223.0, "4223 GB/s measured by the project (a 1 GiB dst.copy_(src) timed by do_bench, BENCHMARKS.md, 2026-12-01)",
    ),
    # H100 SXM5, the 80GB HBM3 part: 3.35 TB/s; FP16 1,979 with sparsity, so 989.4 dense; TF32 989, so
    # 494.7; FP32 67. Copy: BENCHMARKS.md, "Measured (2026-11-27)": x + y and softmax top out at the
    # 3.0 TB/s a plain copy reaches on this card.
    Datasheet(
        "NVIDIA H100 80GB HBM3", (9, 0), 3350.0, 989.4, 494.7, 67.0, f"{_H100_DATASHEET} (H100 SXM)",
        3000.0, "3.0 TB/s measured by the project (a plain copy, BENCHMARKS.md, 2026-11-27)",
    ),
    # H100 PCIe (80GB HBM2e): 2 TB/s; FP16 1,513 with sparsity, so 756.5 dense; TF32 756, so 378; FP32 51.
    Datasheet("NVIDIA H100 PCIe", (9, 0), 2000.0, 756.5, 378.0, 51.0, f"{_H100_DATASHEET} (H100 PCIe)"),
    # A100, every form: FP16 and BF16 tensor 312 dense (624 with sparsity), TF32 156 dense, FP32 19.5.
    # Bandwidth: 40GB PCIe and SXM 1,555 GB/s; 80GB PCIe 1,935 GB/s; 80GB SXM 2,039 GB/s.
    Datasheet("NVIDIA A100-SXM4-80GB", (8, 0), 2039.0, 312.0, 156.0, 19.5, f"{_A100_DATASHEET} (A100 80GB SXM)"),
    Datasheet("NVIDIA A100-SXM4-40GB", (8, 0), 1555.0, 312.0, 156.0, 19.5, f"{_A100_DATASHEET} (A100 40GB SXM)"),
    Datasheet("NVIDIA A100 80GB PCIe", (8, 0), 1935.0, 312.0, 156.0, 19.5, f"{_A100_DATASHEET} (A100 80GB PCIe)"),
    Datasheet("NVIDIA A100-PCIE-40GB", (8, 0), 1555.0, 312.0, 156.0, 19.5, f"{_A100_DATASHEET} (A100 40GB PCIe)"),
    # L4: 300 GB/s; FP16 and BF16 tensor 242 with sparsity, so 121 dense; TF32 120, so 60; FP32 30.3.
    Datasheet("NVIDIA L4", (8, 9), 300.0, 121.0, 60.0, 30.3, "NVIDIA L4 Tensor Core GPU datasheet"),
    # L40S: 864 GB/s; FP16 and BF16 tensor 362.05 dense (733 with sparsity); TF32 183 dense; FP32 91.6.
    Datasheet("NVIDIA L40S", (8, 9), 864.0, 362.05, 183.0, 91.6, "NVIDIA L40S GPU datasheet"),
    # RTX 3090: 936 GB/s; FP16 tensor with FP32 accumulate 71 dense (142 with FP16 accumulate, the
    # figure GeForce marketing quotes); TF32 35.6 dense; FP32 35.6.
    Datasheet(
        "NVIDIA GeForce RTX 3090", (8, 6), 936.0, 71.0, 35.6, 35.6,
        "NVIDIA Ampere GA102 GPU architecture whitepaper, appendix (GeForce RTX 3090)",
    ),
    # RTX 4090: 1,008 GB/s; FP16 tensor with FP32 accumulate 165.2 dense (330.3 with FP16 accumulate);
    # TF32 82.6 dense; FP32 82.6.
    Datasheet("NVIDIA GeForce RTX 4090", (8, 9), 1008.0, 165.2, 82.6, 82.6, _ADA_WHITEPAPER),
    # T4: 320 GB/s; mixed precision (FP16 multiply, FP32 accumulate) 65 TFLOPS; FP32 8.1; no TF32, no bf16.
    Datasheet("Tesla T4", (7, 5), 320.0, 65.0, None, 8.1, "NVIDIA T4 Tensor Core GPU datasheet"),
)


def datasheet_for(gpu: str | None) -> Datasheet | None:
    """The datasheet of this exact device name, or None."""
    return next((sheet for sheet in DATASHEETS if sheet.name == gpu), None)


# ----- a measurement of the learner's card -------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    """What torch reached on one card: the copy rate and dense matrix-product rates (card_rates.py)."""

    name: str
    capability: tuple[int, int]
    copy_gb_per_s: float  # bytes read plus bytes written by a device-to-device copy, per second
    fp16_tflops: float  # torch.matmul on fp16, square sizes that fill the card
    bf16_tflops: float | None  # None: the card has no bf16 (compute capability below 8.0)
    tf32_tflops: float | None  # float32 with TF32 allowed; None: the card has no TF32
    fp32_tflops: float  # float32 with TF32 off: CUDA cores
    torch: str  # torch.__version__ that measured it
    measured_at: str  # ISO 8601, UTC

    RATES: ClassVar[tuple[str, ...]] = ("copy_gb_per_s", "fp16_tflops", "bf16_tflops", "tf32_tflops", "fp32_tflops")
    OPTIONAL: ClassVar[tuple[str, ...]] = ("bf16_tflops", "tf32_tflops")  # None: the card has none

    def to_json(self) -> dict[str, Any]:
        """The progress file's entry; the card's name is its key there."""
        return {
            "capability": list(self.capability),
            **{rate: getattr(self, rate) for rate in self.RATES},
            "torch": self.torch,
            "measured_at": self.measured_at,
        }

    @classmethod
    def from_json(cls, name: Any, data: Any) -> "Measured":
        """Strict: anything unexpected raises ValueError, saying what, so the entry can be dropped."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("its card name is empty")
        if not isinstance(data, dict):
            raise ValueError("it is not an object")
        capability = data.get("capability")
        if not (isinstance(capability, list) and len(capability) == 2 and all(_is_small_count(part) for part in capability)):
            raise ValueError("`capability` is not [major, minor]")
        rates = {}
        for rate in cls.RATES:
            value = data.get(rate)
            if value is None and rate in cls.OPTIONAL:
                rates[rate] = None
            elif _is_rate(value):
                rates[rate] = float(value)
            else:
                raise ValueError(f"`{rate}` is {value!r}, not a positive number")
        for text in ("torch", "measured_at"):
            if not isinstance(data.get(text), str):
                raise ValueError(f"`{text}` is not text")
        return cls(name, (capability[0], capability[1]), **rates, torch=data["torch"], measured_at=data["measured_at"])


def _is_small_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100


def _is_rate(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


# ----- the roofs a report divides by --------------------------------------------------------------------
@dataclass(frozen=True)
class Card:
    """A GPU's roofs: the memory system's rate and the tensor cores' dense peaks, with their source."""

    name: str  # as torch.cuda.get_device_name() reports it
    copy_gb_per_s: float  # the memory roof: a measured copy rate, else the datasheet's bandwidth
    peak_fp16_tflops: float  # dense fp16 tensor cores (no sparsity)
    source: str  # one line saying where each figure comes from
    peak_tf32_tflops: float = 0.0  # dense TF32 tensor cores: what tl.dot on float32 runs at; 0: none
    peak_fp32_tflops: float = 0.0  # CUDA cores, for kernels without tl.dot
    peak_bf16_tflops: float = 0.0  # 0: as fp16
    copy_measured: bool = True  # the memory roof is a copy someone timed, not a datasheet's bandwidth
    peaks_measured: bool = False  # the compute roofs were timed on this card

    # The same figures in base units, for the traffic report's arithmetic.
    @property
    def copy_bytes_per_s(self) -> float:
        return self.copy_gb_per_s * 1e9

    @property
    def fp16_flops_per_s(self) -> float:
        return self.peak_fp16_tflops * 1e12

    @property
    def tf32_flops_per_s(self) -> float:
        return self.peak_tf32_tflops * 1e12

    @property
    def fp32_flops_per_s(self) -> float:
        return self.peak_fp32_tflops * 1e12

    def tensor_flops_per_s(self, dtype: str) -> float:
        """The peak a tl.dot on `dtype` inputs runs against: float32 goes through TF32, or through the
        CUDA cores on a card without TF32 (a T4)."""
        if dtype == "fp32":
            return self.tf32_flops_per_s or self.fp32_flops_per_s
        if dtype == "bf16" and self.peak_bf16_tflops:
            return self.peak_bf16_tflops * 1e12
        return self.fp16_flops_per_s

    def ridge(self) -> float:
        """The arithmetic intensity (FLOP/byte) where the two roofs meet."""
        return self.peak_fp16_tflops * 1e12 / (self.copy_gb_per_s * 1e9)

    def roof_tflops(self, intensity: float) -> float:
        """The most TFLOP/s a kernel of this arithmetic intensity can reach on this card."""
        return min(self.peak_fp16_tflops, intensity * self.copy_gb_per_s * 1e9 / 1e12)

    @property
    def memory_roof(self) -> str:
        """The memory roof in words, for a plot's label."""
        kind = "copy rate" if self.copy_measured else "datasheet bandwidth"
        return f"{kind} {bandwidth(self.copy_gb_per_s)}"


def datasheet_card(sheet: Datasheet) -> Card:
    """The roofs of a card known only from its datasheet (and the project's copy rate, if any)."""
    return Card(
        sheet.name, sheet.copy_gb_per_s or sheet.memory_gb_per_s, sheet.fp16_tflops, datasheet_figures(sheet),
        sheet.tf32_tflops or 0.0, sheet.fp32_tflops, sheet.bf16_tflops or 0.0, copy_measured=sheet.copy_gb_per_s is not None,
    )


def measured_card(measured: Measured) -> Card:
    """The roofs of the learner's card, as measured on it, with its datasheet's figures in the source."""
    return Card(
        measured.name, measured.copy_gb_per_s, measured.fp16_tflops, measured_figures(measured),
        measured.tf32_tflops or 0.0, measured.fp32_tflops, measured.bf16_tflops or 0.0,
        copy_measured=True, peaks_measured=True,
    )


def card_for(gpu: str | None, measured: Measured | None = None) -> Card | None:
    """The roofs of this exact device: its measured figures where it was measured, else its datasheet's,
    else None (then no roof is drawn)."""
    if measured is not None and measured.name == gpu:
        return measured_card(measured)
    sheet = datasheet_for(gpu)
    return datasheet_card(sheet) if sheet is not None else None


# ----- the figures in words -----------------------------------------------------------------------------
def bandwidth(gb_per_s: float, exact: bool = False) -> str:
    """A memory rate as people say it: TB/s from 1000 GB/s on. `exact` keeps a datasheet's digits."""
    if gb_per_s >= 1000:
        return f"{gb_per_s / 1000:g} TB/s" if exact else f"{gb_per_s / 1000:.2f} TB/s"
    return f"{gb_per_s:g} GB/s" if exact else f"{gb_per_s:.0f} GB/s"


def tflops(value: float, exact: bool = False) -> str:
    """A compute rate: a measurement to 3 figures or so; `exact` keeps a datasheet's digits."""
    if exact:
        return f"{value:g}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def figure_rows(measured: Measured | None, sheet: Datasheet | None) -> list[tuple[str, str, str]]:
    """(figure, measured, datasheet) for each figure: "none" where the card has none, "-" where that
    source is missing."""

    def rate(value: float | None, memory: bool, exact: bool) -> str:
        if value is None:
            return "none"
        return bandwidth(value, exact) if memory else f"{tflops(value, exact)} TFLOP/s"

    rows = []
    for label, memory, attribute in (
        ("copy", True, "copy_gb_per_s"),
        ("fp16 tensor cores", False, "fp16_tflops"),
        ("bf16 tensor cores", False, "bf16_tflops"),
        ("tf32 tensor cores", False, "tf32_tflops"),
        ("fp32 (no tensor cores)", False, "fp32_tflops"),
    ):
        mine = rate(getattr(measured, attribute), memory, False) if measured is not None else "-"
        # A datasheet gives the memory's bandwidth, the most a copy could reach.
        theirs_attribute = "memory_gb_per_s" if memory else attribute
        theirs = rate(getattr(sheet, theirs_attribute), memory, True) if sheet is not None else "-"
        rows.append((label, mine, theirs))
    return rows


def measured_figures(measured: Measured) -> str:
    """One line: each measured figure, the datasheet's beside it where the card is in the table."""
    sheet = datasheet_for(measured.name)
    parts = []
    for label, mine, theirs in figure_rows(measured, sheet):
        if mine == "none" and theirs in ("none", "-"):
            parts.append(f"{label}: none on this card")
            continue
        beside = f" (datasheet {theirs})" if sheet is not None else ""
        parts.append(f"{label} {mine} measured{beside}")
    when = f"measured {measured.measured_at[:10]} with torch {measured.torch}"
    where = "" if sheet is not None else "; this card is in no datasheet table of card.py"
    return "; ".join(parts) + f" ({when}{where})"


def datasheet_figures(sheet: Datasheet) -> str:
    """One line: the datasheet's figures, and the project's measured copy rate where there is one."""
    if sheet.copy_gb_per_s is not None:
        memory = f"copy {sheet.copy_source} (datasheet {bandwidth(sheet.memory_gb_per_s, exact=True)})"
    else:
        memory = f"memory {bandwidth(sheet.memory_gb_per_s, exact=True)} (datasheet, not measured: a copy reaches less)"
    tf32 = f"tf32 {tflops(sheet.tf32_tflops, exact=True)}" if sheet.tf32_tflops else "no tf32"
    peaks = f"fp16 {tflops(sheet.fp16_tflops, exact=True)}, {tf32}, fp32 {tflops(sheet.fp32_tflops, exact=True)} TFLOP/s"
    return f"{memory}; dense peaks from the {sheet.source}: {peaks}"


# The card the quest's numbers are quoted for when the learner's own card is unknown (the CPU): the
# H200, first in the table, the card the project's benchmarks ran on.
REFERENCE = datasheet_card(DATASHEETS[0])
