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
    source: str  # one line saying where both numbers come from

    def ridge(self) -> float:
        """The arithmetic intensity (FLOP/byte) where the two roofs meet."""
        return self.peak_fp16_tflops * 1e12 / (self.copy_gb_per_s * 1e9)

    def roof_tflops(self, intensity: float) -> float:
        """The most TFLOP/s a kernel of this arithmetic intensity can reach on this card."""
        return min(self.peak_fp16_tflops, intensity * self.copy_gb_per_s * 1e9 / 1e12)


CARDS: tuple[Card, ...] = (
    # Copy rate: BENCHMARKS.md, "Season 2, on an H200": a 1 GiB dst.copy_(src) timed by do_bench ran at
    # 4223 GB/s (driver 580.159.04, torch 2.11). Peak: NVIDIA H200 datasheet (SXM), FP16 tensor core
    # 1,979 TFLOPS with sparsity, so 989.4 dense.
    Card("NVIDIA H200", 4223.0, 989.4, "copy 4223 GB/s measured (BENCHMARKS.md); 989.4 TFLOP/s dense fp16, H200 SXM datasheet"),
    # Copy rate: BENCHMARKS.md, "Measured (2026-11-27)": x + y and softmax top out at the 3.0 TB/s that
    # a plain copy reaches on this card. Peak: NVIDIA H100 datasheet (SXM5, the 80GB HBM3 part), FP16
    # tensor core 1,979 TFLOPS with sparsity, so 989.4 dense.
    Card("NVIDIA H100 80GB HBM3", 3000.0, 989.4, "copy 3.0 TB/s measured (BENCHMARKS.md); 989.4 TFLOP/s dense fp16, H100 SXM5 datasheet"),
)


def card_for(gpu: str | None) -> Card | None:
    """The reference card of this exact device name, or None: then no roof is drawn."""
    return next((card for card in CARDS if card.name == gpu), None)
