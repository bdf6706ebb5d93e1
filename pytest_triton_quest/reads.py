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
  Its values are sampled and looked up in that tensor, in that tensor's dtype; a copy scaled by one
  factor (`q * scale`, as some published kernels prepare q) counts too.

Nothing is claimed when a load could not be traced to one argument: unknown is never "not read".

A second question closes the other way round: a kernel that reads a tensor PyTorch computed. Two
kernels with `torch.softmax` between them read every input, yet part of the answer is PyTorch's.
Under the interpreter (`torch_made_reads`), a floating-point tensor that a launch read is accounted
for when it lies in an input's memory, when some kernel stored into it, when it holds one value
throughout (a fill: `torch.zeros`, or NaN from `torch.empty`), or when its values are an input's,
copied, cast, gathered or scaled by one factor (`q.float()`, `k * scale`, `lse * log2(e)`). Anything
else was computed by PyTorch. Compiled, a store leaves no record, so nothing is claimed there.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        if any(_made_from(arg.tensor, value, gathered=False) for arg in sources if isinstance(arg.tensor, torch.Tensor)):
            continue
        missing.append(name)
    return missing


@dataclass(frozen=True)
class Unloaded:
    """An input a kernel was given and never loaded from, not even with every lane masked off."""

    name: str  # the input's name ("v")
    kernel: str
    argument: str  # the kernel parameter it was given as
    others_loaded: tuple[str, ...]  # inputs of its shape and dtype that kernels did load from
    # A larger case of the level (its id) whose call does load it: a loop that does not run at this
    # size explains the record as well as a wrong pointer does.
    loaded_in: str | None = None
    # No input at all was loaded here, or several were not, and the larger case loads this one (and
    # the `alongside` ones): code that does not run at this size, rather than a wrong pointer.
    not_run_here: bool = False
    alongside: tuple[str, ...] = ()

    def line(self) -> str:
        return (
            f"kernel `{self.kernel}` is given `{self.name}` (as `{self.argument}`) but no load of any kernel "
            "addresses it, not even with its mask off"
        )

    def headline(self) -> str | None:
        """When no input, or several, went unloaded here and a larger case loads them, the code that
        loads them does not run at this size; else a load meant for it goes through another pointer,
        when another input like it was loaded; nothing otherwise."""
        if self.not_run_here and self.loaded_in is not None:
            names = " and ".join(f"`{name}`" for name in (self.name, *self.alongside))
            them, are = ("them", "they are") if self.alongside else ("it", "it is")
            return (
                f"likely: the loop (or branch) that loads {names} does not run at this size: no kernel loads from "
                f"{them} here, while in case {self.loaded_in} {are} loaded; check the loop's range (or the "
                "condition) for small sizes"
            )
        if not self.others_loaded:
            return None
        if self.loaded_in is not None:
            return (
                f"likely: a load meant for `{self.name}` uses the wrong pointer, or the loop that loads it does not run "
                f"at this size: kernel `{self.kernel}` is given `{self.name}` (as `{self.argument}`) and never loads "
                f"from it here, while in case {self.loaded_in} it does"
            )
        return (
            f"likely: a load meant for `{self.name}` uses the wrong pointer: kernel `{self.kernel}` is given "
            f"`{self.name}` (as `{self.argument}`) and never loads from it"
        )


def unloaded_inputs(inputs: dict[str, Any], names: tuple[str, ...], launches: list[LaunchRecord]) -> list[Unloaded]:
    """The inputs among `names` that a launch was given (itself or a copy) and that no load addressed
    (interpreter records); empty when some launch's loads could not all be traced."""
    if not launches or any(launch.loaded is None for launch in launches):
        return []
    loaded = [arg for launch in launches for arg in launch.tensors if arg.data_ptr in launch.loaded]

    def among(args: list[TensorArg], value: Any) -> bool:
        # The input's own memory first: comparing values (a copy of it) costs far more.
        if any(_inside(arg, value) for arg in args):
            return True
        return any(_made_from(arg.tensor, value, gathered=False) for arg in args if isinstance(arg.tensor, torch.Tensor))

    tensors = {name: inputs[name] for name in names if isinstance(inputs.get(name), torch.Tensor) and inputs[name].numel() > 0}
    found = []
    for name, value in tensors.items():
        if among(loaded, value):
            continue
        handed = [(launch, arg) for launch in launches for arg in launch.tensors]
        given = [(launch, arg) for launch, arg in handed if _inside(arg, value)] or [
            (launch, arg) for launch, arg in handed if isinstance(arg.tensor, torch.Tensor) and _made_from(arg.tensor, value, gathered=False)
        ]
        if not given:
            continue
        launch, arg = given[0]
        alike = tuple(
            other for other, tensor in tensors.items()
            if other != name and tensor.shape == value.shape and tensor.dtype == value.dtype and among(loaded, tensor)
        )
        found.append(Unloaded(name, launch.kernel, arg.name, alike))
    return found


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
    # Which of the (many) tensor elements are sampled values, then which samples those are: torch.isin
    # of a few values against a large tensor sorts the large one, this way round it does not.
    haystack = tensor.detach().reshape(-1).to(sample.device)
    found = torch.isin(sample, haystack[torch.isin(haystack, sample)])
    return float(found.float().mean()) >= _FOUND_SHARE


@dataclass(frozen=True)
class TorchMade:
    """A tensor a kernel read that PyTorch computed (see the module's docstring)."""

    kernel: str
    argument: str  # the kernel parameter it was passed as
    shape: tuple[int, ...]
    dtype: str

    def describe(self) -> str:
        shape = "(" + ", ".join(str(side) for side in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        return f"kernel `{self.kernel}` reads `{self.argument}` ({self.dtype}, shape {shape})"


def torch_made_reads(inputs: dict[str, Any], launches: list[LaunchRecord], stores: list[tuple[str, Any, Any]]) -> list[TorchMade]:
    """The tensors that interpreted launches read, which no kernel stored into and which are not
    the inputs (nor a fill, a copy, a cast or a scaled copy of one): PyTorch computed them. Empty
    when a launch's loads could not all be traced."""
    if not launches or any(launch.reads is None for launch in launches):
        return []
    given = [value for value in inputs.values() if isinstance(value, torch.Tensor) and value.numel() > 0]
    stored = _stored_ranges(stores)
    found: list[TorchMade] = []
    for launch in launches:
        for arg in launch.tensors:
            tensor = arg.tensor
            if arg.data_ptr not in launch.reads or not isinstance(tensor, torch.Tensor):
                continue
            if not tensor.is_floating_point() or tensor.numel() < 2:
                continue
            if any(_inside(arg, value) for value in given) or _overlaps(tensor, stored):
                continue
            if _one_value(tensor) or any(_made_from(tensor, value, gathered=True) for value in given if value.is_floating_point()):
                continue
            made = TorchMade(launch.kernel, arg.name, tuple(tensor.shape), str(tensor.dtype).removeprefix("torch."))
            if made not in found:
                found.append(made)
    return found


def torch_made_message(made: list[TorchMade]) -> str:
    what = "; ".join(item.describe() for item in made)
    them = "it" if len(made) == 1 else "them"
    return (
        f"{what}: no kernel wrote {them}, and {them} {'is' if len(made) == 1 else 'are'} not an input, "
        f"nor a copy, cast or scaled copy of one, so PyTorch computed {them}. Every part of the answer "
        "must come from your kernels: do that step in a kernel"
    )


def torch_made_headline(made: list[TorchMade]) -> str:
    return f"likely: part of the answer is computed with PyTorch: {made[0].describe()}, which no kernel wrote"


def _stored_ranges(stores: list[tuple[str, Any, Any]]) -> list[tuple[int, int]]:
    """(lowest, highest) byte address of each recorded store."""
    return [(int(addresses.min()), int(addresses.max())) for _, _, addresses in stores if getattr(addresses, "size", 0)]


def _overlaps(tensor: "torch_types.Tensor", ranges: list[tuple[int, int]]) -> bool:
    storage = tensor.untyped_storage()
    low = storage.data_ptr()
    high = low + storage.nbytes()
    return any(first < high and last >= low for first, last in ranges)


def _one_value(tensor: "torch_types.Tensor") -> bool:
    """Every finite element is equal (or none is finite): a fill, not a result."""
    flat = tensor.detach().reshape(-1)
    finite = flat[torch.isfinite(flat)]
    return finite.numel() == 0 or bool((finite == finite[0]).all())


def _made_from(tensor: "torch_types.Tensor", value: "torch_types.Tensor", gathered: bool) -> bool:
    """`tensor` holds the values of `value`: copied, cast, transposed or padded (it holds all of
    them), scaled by one factor (the same values, sorted, up to a constant ratio), or, with
    `gathered`, picked from it (its values are found among the input's: a row max is one)."""
    if _holds_values_of(tensor, value) or (gathered and _holds_values_of(value, tensor)):
        return True
    if _nonzero_count(tensor) != _nonzero_count(value):
        return False  # not the same values, whatever the factor: spare the sorting
    ours = _sorted_nonzero(tensor)
    theirs = _sorted_nonzero(value)
    if ours.numel() != theirs.numel() or ours.numel() == 0:
        return False
    for candidate in (theirs, theirs.flip(0)):  # a negative factor reverses the order
        if _scaled_copy(ours, candidate):
            return True
    return False


def _nonzero_count(tensor: "torch_types.Tensor") -> int:
    flat = tensor.detach().reshape(-1)
    return int((torch.isfinite(flat) & (flat != 0)).sum())


def _sorted_nonzero(tensor: "torch_types.Tensor") -> "torch_types.Tensor":
    flat = tensor.detach().reshape(-1).to(device="cpu", dtype=torch.float64)
    flat = flat[torch.isfinite(flat) & (flat != 0)]
    return flat.sort().values


def _scaled_copy(ours: "torch_types.Tensor", theirs: "torch_types.Tensor") -> bool:
    """ours == factor * theirs, element by element, within half-precision rounding."""
    factor = float((ours * theirs).sum() / (theirs * theirs).sum())
    if factor == 0.0:
        return False
    return bool(torch.allclose(ours, factor * theirs, rtol=1e-2, atol=1e-3 * float(ours.abs().max())))
