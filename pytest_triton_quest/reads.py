"""Did the kernels read what the answer depends on?

A function can pass every value check without its kernels doing the work: compute the answer with
PyTorch, then launch a one-line kernel that copies it into the output. The launch count and the
values are then fine; what gives it away is that no kernel ever read `q`, `k` or `v`.

For every input a level names in `Level.read_inputs`:

- under the interpreter, the guard records which tensor arguments the loads of each launch read
  (`LaunchRecord.reads`); the input counts as read when one of them lies in its memory;
- compiled (no record of loads), when a launch is handed a tensor in its memory;
- failing that, when a tensor a kernel read (or was handed) holds the input's values: a cast, a
  transposed or padded copy made with PyTorch (`q.float()`, `k.transpose(-1, -2).contiguous()`).
  Its values are sampled and looked up in that tensor, in that tensor's dtype.

Nothing is claimed when a load could not be traced to one argument: unknown is never "not read".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import torch
from .model import LaunchRecord, TensorArg

if TYPE_CHECKING:
    import torch as torch_types

# How many of an input's values are looked up in a tensor that may be a copy of it, and how many of
# them must be found there (a padded copy holds them all; an unrelated tensor, next to none).
_SAMPLES = 64
_FOUND_SHARE = 0.9


def unread_inputs(
    inputs: dict[str, Any], names: tuple[str, ...], launches: list[LaunchRecord], interpreted: bool, answer_right: bool
) -> list[str]:
    """The inputs among `names` that no launch read (with a right answer) or was even given (with a
    wrong one), in order; empty when all were, or when the record cannot tell (a load not traced)."""
    if not launches:
        return []  # "no Triton kernel was launched" is said elsewhere
    if interpreted and any(launch.reads is None for launch in launches):
        return []
    used = _used_arguments(launches, interpreted)
    handed = _used_arguments(launches, False)
    missing = []
    for name in names:
        value = inputs.get(name)
        if not isinstance(value, torch.Tensor) or value.numel() == 0:
            continue
        if answer_right:
            # Right values: reading the input (or a copy of it) is what must be shown.
            sources = used
        else:
            # Wrong values: an input handed over but never read (every lane masked off) is a mask
            # problem, which the value report explains; only an input no kernel was given is news.
            sources = handed
        if any(_inside(arg, value) for arg in sources):
            continue
        if any(_holds_values_of(arg.tensor, value) for arg in sources if arg.tensor is not None):
            continue
        missing.append(name)
    return missing


def message(missing: list[str], answer_right: bool) -> str:
    """The failure's first line: what the record shows, and what that means for this answer."""
    names = _names(missing)
    if answer_right:
        return (
            f"your kernels never read {names}, yet the answer is right: it was computed outside Triton. "
            "The answer must come from your kernels: load the inputs there"
        )
    return f"no kernel was given {names}, nor a copy of {'its' if len(missing) == 1 else 'their'} values"


def headline(missing: list[str], answer_right: bool) -> str:
    names = _names(missing)
    if answer_right:
        return f"likely: the answer is computed with PyTorch, not by your kernels: no kernel reads {names}"
    return f"likely: another tensor is passed to your kernel in place of {names}: no kernel is given {names}"


def _names(missing: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in missing)


def _used_arguments(launches: list[LaunchRecord], interpreted: bool) -> list[TensorArg]:
    """The tensor arguments the launches read (interpreter) or were handed (compiled)."""
    used = []
    for launch in launches:
        for arg in launch.tensors:
            if not interpreted or (launch.reads is not None and arg.data_ptr in launch.reads):
                used.append(arg)
    return used


def _inside(arg: TensorArg, value: "torch_types.Tensor") -> bool:
    """The argument's first element lies in the memory of `value` (a view of it, or itself)."""
    storage = value.untyped_storage()
    low = storage.data_ptr()
    return low <= arg.data_ptr < low + storage.nbytes()


def _holds_values_of(tensor: Any, value: "torch_types.Tensor") -> bool:
    """`tensor` contains (nearly) every sampled value of `value`, converted to `tensor`'s dtype."""
    if not isinstance(tensor, torch.Tensor) or tensor.numel() < value.numel() or tensor.dtype.is_complex:
        return False
    flat = value.detach().reshape(-1)
    picks = torch.linspace(0, flat.numel() - 1, min(_SAMPLES, flat.numel())).long().to(flat.device)
    sample = flat[picks].to(tensor.dtype)
    if sample.is_floating_point():
        sample = sample[torch.isfinite(sample)]
    if sample.numel() == 0:
        return True  # nothing distinctive to look for: do not claim it is missing
    found = torch.isin(sample, tensor.detach().reshape(-1).to(sample.device))
    return float(found.float().mean()) >= _FOUND_SHARE
