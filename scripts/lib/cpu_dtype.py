"""What a CPU computes natively: bf16 where it has bf16 instructions, float32 everywhere else.

On a CPU without native bf16 (AVX2 laptops and cloud CPUs: no AVX512_BF16 or AMX), torch and
oneDNN emulate bf16 matmuls: a 576x1536 @ 1536x576 matmul (SmolLM2's shapes) took 15.7 ms in
float32 and 523 ms in bf16 on a 2-core AVX2 EPYC (issue #19), and the miniature's main job took
93 min instead of 38. So every CPU hot path asks `native_bf16()` and computes in float32 when it
is False: the serving dtype (`serving.dtype_args`), Muon's Newton-Schulz iterations in
training (`muon_float32.py`), the hidden-state forward (`hidden_states_dtype_name`: float32 on
every CPU). `report()` is what the rules log, with the measured ratio, so that a run says which path
it took and why.
"""

from __future__ import annotations

import time
from pathlib import Path

# torch's CPU dispatch level names (torch.backends.cpu.get_cpu_capability) under which it runs
# bf16 kernels; ATEN_CPU_CAPABILITY=avx2 lowers the level, as on an AVX2-only CPU
BF16_CAPABLE_LEVELS = {"AVX512", "AVX512_BF16", "AMX", "AVX512_AMX"}
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags the kernel reports for the first CPU (empty if unreadable)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def torch_capability() -> str:
    import torch

    return torch.backends.cpu.get_cpu_capability()


def native_bf16(capability: str | None = None, flags: set[str] | None = None) -> bool:
    """True when torch will run bf16 matmuls in hardware: the CPU has bf16 instructions and torch
    dispatches at a level that uses them."""
    capability = torch_capability() if capability is None else capability
    flags = cpu_flags() if flags is None else flags
    return capability.upper() in BF16_CAPABLE_LEVELS and bool(flags & BF16_FLAGS)


def compute_dtype_name(device: str, native: bool | None = None) -> str:
    """The dtype a hot path computes in on `device`: bf16 on GPUs and on CPUs with native bf16."""
    if device != "cpu":
        return "bfloat16"
    native = native_bf16() if native is None else native
    return "bfloat16" if native else "float32"


def hidden_states_dtype_name(device: str) -> str | None:
    """The hidden-state forward's dtype: float32 on every CPU (None: the body's own elsewhere).
    Without native bf16 the forward is emulated (171 tokens/s on the 135M body on the 2-core
    dev machine); with it, float32 costs little at these sizes and keeps the miniature's
    reference states. The states are stored in the body's dtype either way, as vLLM does."""
    return "float32" if device == "cpu" else None


def bf16_slowdown(size: tuple[int, int, int] = (576, 1536, 576), reps: int = 3) -> float:
    """Measured: a bf16 matmul's time over float32's for SmolLM2's shapes, one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        m, k, n = size
        times = {}
        for dtype in (torch.float32, torch.bfloat16):
            a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            a @ b  # warm-up
            start = time.perf_counter()
            for _ in range(reps):
                a @ b
            times[dtype] = (time.perf_counter() - start) / reps
        return times[torch.bfloat16] / times[torch.float32]
    finally:
        torch.set_num_threads(threads)


def report(measure: bool = True) -> dict:
    """What the CPU path decided and why: logged by the rules, recorded beside their outputs."""
    capability = torch_capability()
    out = {"torch_cpu_capability": capability, "native_bf16": native_bf16(capability),
           "bf16_flags": sorted(cpu_flags() & BF16_FLAGS)}
    if measure:
        out["bf16_over_fp32_matmul_time"] = round(bf16_slowdown(), 2)
    return out
