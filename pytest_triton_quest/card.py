"""Reference cards: what a GPU can do at most, for drawing a roofline under measured kernels.

One place for these figures, so a plot, a note and a document never disagree. A card is picked by
the exact name torch.cuda.get_device_name() reports: a near name (an H100 PCIe, an H200 NVL) has
another memory system and other clocks, and a roof borrowed from its sibling would mislead.
This module imports nothing from the package.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    """A GPU's two roofs: the memory system's copy rate and the tensor cores' dense fp16 peak."""

    name: str  # as torch.cuda.get_device_name() reports it
    copy_gb_per_s: float  # measured: bytes read plus bytes written by a device-to-device copy, per second
    peak_fp16_tflops: float  # the datasheet's dense fp16 tensor-core throughput (no sparsity)
    source: str  # one line saying where the numbers come from
    peak_tf32_tflops: float = 0.0  # dense TF32 tensor cores: what tl.dot on float32 runs at
    peak_fp32_tflops: float = 0.0  # CUDA cores, for kernels without tl.dot

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
        """The tensor-core peak a tl.dot on `dtype` inputs runs against: float32 goes through TF32."""
        return self.tf32_flops_per_s if dtype == "fp32" else self.fp16_flops_per_s

    def ridge(self) -> float:
        """The arithmetic intensity (FLOP/byte) where the two roofs meet."""
        return self.peak_fp16_tflops * 1e12 / (self.copy_gb_per_s * 1e9)

    def roof_tflops(self, intensity: float) -> float:
        """The most TFLOP/s a kernel of this arithmetic intensity can reach on this card."""
        return min(self.peak_fp16_tflops, intensity * self.copy_gb_per_s * 1e9 / 1e12)


CARDS: tuple[Card, ...] = (
    # Copy rate: BENCHMARKS.md, "Season 2, on an H200": a 1 GiB dst.copy_(src) timed by do_bench ran at
    # 4223 GB/s (driver 580.159.04, torch 2.11). Peak: NVIDIA H200 datasheet (SXM), FP16 tensor core
    # 1,979 TFLOPS with sparsity, so 989.4 dense; TF32 989 with sparsity, so 494.7 dense; FP32 67.
    Card(
        "NVIDIA H200", 4223.0, 989.4,
        "copy 4223 GB/s measured (a 1 GiB dst.copy_(src) timed by do_bench, BENCHMARKS.md, 2026-12-01); "
        "peaks from the H200 SXM datasheet, dense: fp16 989.4, TF32 494.7, FP32 67 TFLOP/s",
        494.7, 67.0,
    ),
    # Copy rate: BENCHMARKS.md, "Measured (2026-11-27)": x + y and softmax top out at the 3.0 TB/s that
    # a plain copy reaches on this card. Peak: NVIDIA H100 datasheet (SXM5, the 80GB HBM3 part), FP16
    # tensor core 1,979 TFLOPS with sparsity, so 989.4 dense.
    Card(
        "NVIDIA H100 80GB HBM3", 3000.0, 989.4,
        "copy 3.0 TB/s measured (BENCHMARKS.md); peaks from the H100 SXM5 datasheet, dense: fp16 989.4, TF32 494.7, FP32 67 TFLOP/s",
        494.7, 67.0,
    ),
)

# The card the quest's numbers are quoted for when the learner's own card is unknown (the CPU).
REFERENCE = CARDS[0]


def card_for(gpu: str | None) -> Card | None:
    """The reference card of this exact device name, or None: then no roof is drawn."""
    return next((card for card in CARDS if card.name == gpu), None)
