"""What the memory traffic of an attention call (levels 6 to 8) proves, in a few words.

Each remark is named only when the counts match it exactly; otherwise the report states the ratio
and nothing more. Three patterns carry the lesson of levels 6 to 8:

* the S x S scores through memory: a buffer the function made for itself with B*H*S*S elements
  (level 6 writes the scores and the probabilities and reads them back);
* K and V re-read by every query block: k and v read exactly ceil(S / R) times over, where R is the
  number of query rows one program stores (level 7, and level 8 without the causal mask);
* causal block skipping: each query block of R rows reads only the keys up to its last row, which
  makes B*H*D*sum_i min((i + 1) * R, S) elements of k and of v (level 8 with the causal mask).
"""

from __future__ import annotations

from ..model import CallTraffic, Case

# The input patterns that exist to catch one bug; the traffic is reported on an ordinary case.
_SPECIAL = ("large", "negative", "growing", "skipping")


def attention_traffic_case(cases: list[Case], bytes_of: "dict[str, float]") -> Case | None:
    """The ordinary case that moves the most bytes: the same one in levels 6, 7 and 8, so that
    their reports compare like with like."""
    ordinary = [case for case in cases if not any(case.params.get(name) for name in _SPECIAL)]
    return max(ordinary, key=lambda case: bytes_of[case.id], default=None)


def attention_traffic_remark(call: CallTraffic) -> str | None:
    q = call.inputs.get("q")
    if q is None or q.dim() != 4:
        return None
    B, H, S, D = (int(size) for size in q.shape)
    scores = [tensor for tensor in call.tensors if tensor.role == "scratch" and tensor.numel >= B * H * S * S]
    if scores and S > 1:
        moved = sum(tensor.read + tensor.written for tensor in scores)
        total = sum(tensor.read + tensor.written for tensor in call.tensors)
        buffers = "a buffer" if len(scores) == 1 else f"{len(scores)} buffers"
        return f"the S x S scores go through memory: {buffers} of B*H*S*S elements moved {moved / total:.0%} of the bytes"
    k, v = call.tensor("k"), call.tensor("v")
    rows = _rows_per_program(call, S, D)
    if k is None or v is None or rows is None or rows >= S:
        return None
    blocks = -(-S // rows)
    if all(tensor.read == tensor.size * blocks for tensor in (k, v)):
        return f"K and V are re-read by every query block of {rows} rows"
    causal = B * H * D * sum(min((i + 1) * rows, S) for i in range(blocks))
    if all(tensor.read == causal * tensor.element_size for tensor in (k, v)):
        return (
            f"every query block of {rows} rows reads K and V up to its last row only: "
            "the key tiles past the diagonal are skipped"
        )
    return None


def _rows_per_program(call: CallTraffic, S: int, D: int) -> int | None:
    """How many query rows the program that stored row 0 of head 0 stored, when they are rows 0..R-1
    whole: then the output is computed in query blocks of R rows."""
    stores = call.stores
    if stores is None:
        return None
    import numpy as np

    for elements in stores.elements:
        head0 = elements[elements < S * D]
        if head0.size == 0 or int(head0.min()) != 0:
            continue
        rows = int(head0.max()) // D + 1
        if head0.size != rows * D or not np.array_equal(head0, np.arange(rows * D)):
            return None
        return rows
    return None
