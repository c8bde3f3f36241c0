"""Check an FP8 checkpoint against the ignore list it was quantised with.

Our own code because llm-compressor reports nothing of the kind: it silently skips ignore
regexes that match nothing (the seed's list is written for the Gemma 4 family) and would just as
silently quantise a MoE router if its regex were dropped, which breaks expert dispatch (Part 28).

Inputs: the module table of the original model (name, class, is-Linear, original weight dtype)
and the tensor dtypes of the saved checkpoint, read from the safetensors headers. Pure functions;
nothing here loads weights.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

# safetensors dtype names of the float8 formats llm-compressor writes for FP8 schemes
FP8_DTYPES = {"F8_E4M3", "F8_E5M2"}
TORCH_TO_SAFETENSORS = {
    "torch.bfloat16": "BF16",
    "torch.float16": "F16",
    "torch.float32": "F32",
}


@dataclass
class ModuleInfo:
    name: str
    cls: str
    is_linear: bool
    weight_dtype: str | None  # safetensors name of the original dtype; None: no own weight


@dataclass
class ModuleVerdict:
    name: str
    cls: str
    status: str  # quantised | ignored | not-a-Linear | tied-not-saved
    ignored_by: str | None = None
    saved_dtype: str | None = None
    problem: str | None = None


@dataclass
class QuantizationCheck:
    modules: list[ModuleVerdict]
    unmatched_ignore_patterns: list[str]
    errors: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.modules:
            out[m.status] = out.get(m.status, 0) + 1
        return out

    def to_json(self) -> dict:
        return {
            "counts": self.counts,
            "unmatched_ignore_patterns": self.unmatched_ignore_patterns,
            "errors": self.errors,
            "modules": [asdict(m) for m in self.modules],
        }


def matches(name: str, pattern: str) -> bool:
    """llm-compressor's rule (compressed_tensors.utils.match_name): 're:' = re.match, else equality."""
    if pattern.startswith("re:"):
        return re.match(pattern[3:], name) is not None
    return pattern == name


def first_match(name: str, patterns: list[str]) -> str | None:
    return next((p for p in patterns if matches(name, p)), None)


def read_safetensors_dtypes(checkpoint: Path) -> dict[str, str]:
    """Tensor name -> safetensors dtype, for every *.safetensors file of a checkpoint."""
    dtypes: dict[str, str] = {}
    for path in sorted(checkpoint.glob("*.safetensors")):
        with path.open("rb") as fh:
            (header_len,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(header_len))
        for tensor, meta in header.items():
            if tensor != "__metadata__":
                dtypes[tensor] = meta["dtype"]
    return dtypes


def resolve_saved_name(module_name: str, saved: dict[str, str]) -> str | None:
    """The saved key of a module's weight; HF may drop or add a leading 'model.' prefix."""
    candidates = [f"{module_name}.weight"]
    if module_name.startswith("model."):
        candidates.append(f"{module_name[len('model.'):]}.weight")
    else:
        candidates.append(f"model.{module_name}.weight")
    return next((c for c in candidates if c in saved), None)


def check_quantization(
    modules: list[ModuleInfo],
    saved: dict[str, str],
    ignore: list[str],
    keep_unquantised: list[str],
) -> QuantizationCheck:
    """Verdict per module, plus errors:

    - an ignored Linear whose saved weight is FP8, or any module matching `keep_unquantised`
      (the study's must-stay-unquantised parts: router, embeddings, lm_head) saved as FP8;
    - a Linear that no ignore pattern matched but whose saved weight is not FP8.
    Ignore patterns that match no module are returned separately (a warning, not an error).
    """
    verdicts: list[ModuleVerdict] = []
    errors: list[str] = []
    for m in modules:
        if m.weight_dtype is None:
            continue
        key = resolve_saved_name(m.name, saved)
        saved_dtype = saved.get(key) if key else None
        ignored_by = first_match(m.name, ignore)
        protected_by = first_match(m.name, keep_unquantised)
        is_fp8 = saved_dtype in FP8_DTYPES
        v = ModuleVerdict(m.name, m.cls, "", ignored_by, saved_dtype)
        if not m.is_linear:
            v.status = "not-a-Linear"
        elif ignored_by:
            v.status = "ignored"
        else:
            v.status = "quantised"
        if saved_dtype is None:
            if v.status == "quantised":
                v.problem = "weight missing from the saved checkpoint"
            else:
                v.status = "tied-not-saved" if m.is_linear else v.status
        elif v.status == "quantised" and not is_fp8:
            v.problem = f"Linear not matched by the ignore list was saved as {saved_dtype}, not FP8"
        elif v.status != "quantised" and is_fp8:
            v.problem = f"{v.status} module was quantised ({saved_dtype})"
        if protected_by and is_fp8:
            v.problem = f"must stay unquantised ({protected_by}) but was saved as {saved_dtype}"
        if v.problem:
            errors.append(f"{m.name}: {v.problem}")
        verdicts.append(v)
    # a pattern counts as used if it matches any module, container modules included
    unmatched = [p for p in ignore if not any(matches(m.name, p) for m in modules)]
    return QuantizationCheck(verdicts, unmatched, errors)


def module_table(model) -> list[ModuleInfo]:
    """(name, class, Linear?, own weight dtype) for every module of a loaded torch model."""
    import torch

    table = []
    for name, module in model.named_modules():
        if not name:
            continue
        weight = getattr(module, "weight", None)
        own = isinstance(weight, torch.nn.Parameter) and weight in list(
            module.parameters(recurse=False)
        )
        dtype = TORCH_TO_SAFETENSORS.get(str(weight.dtype), str(weight.dtype)) if own else None
        table.append(
            ModuleInfo(name, type(module).__name__, isinstance(module, torch.nn.Linear), dtype)
        )
    return table
