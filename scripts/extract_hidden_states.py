"""Verifier hidden states for offline EAGLE-3 training, one `hs_{i}.safetensors` per dataset row.

speculators' own path (vLLM's `extract_hidden_states` method + `generate-offline-data`) needs
pinned memory and CUDA streams and crashes at the first request on vLLM's CPU build, so this
module writes the same files with Hugging Face transformers, on any device.

The files match what speculators' trainer reads and vLLM writes:
- `token_ids` [seq] int64: the row's input_ids;
- `hidden_states` [seq, len(layer_ids), hidden] in the body's dtype, where layer id k is the
  residual stream after k decoder layers, before the final norm: vLLM's llama.py collects
  `hidden_states + residual` after layer k-1 (`_maybe_add_hidden_state(..., idx + 1, ...)`),
  which is Hugging Face's `output_hidden_states[k]` for k < n and the last layer's output
  (pre-norm) for k = n. Defaults: the EAGLE-3 taps [2, n//2, n-3] plus n, as speculators'
  `scripts/launch_vllm.py` asks vLLM for them.

Beside them, summary.json records the greedy acceptance bound: the mean over response tokens of
the verifier's max_x p_T(x), which no drafter proposing one token per position can beat at the
first position in vLLM (it accepts a proposed x with probability p_T(x)).

Files are written one by one through a rename, so a killed run keeps what it finished and the
next run continues; the output directory is published only when every row is there.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from lib import atomic_io
from lib import cpu_dtype
from lib import hidden_state_layout
from lib import resume_key
from lib.hidden_state_layout import check_layer_ids, default_layer_ids, sample_file

log = logging.getLogger("hidden_states")


def decoder_layers(model) -> torch.nn.ModuleList:
    """The decoder layer stack of a causal LM (text part of multimodal bodies included)."""
    for path in ("model.layers", "model.language_model.layers", "language_model.model.layers"):
        module = model
        try:
            for part in path.split("."):
                module = getattr(module, part)
        except AttributeError:
            continue
        return module
    raise ValueError(f"cannot find the decoder layers of {type(model).__name__}")


class ResidualTaps:
    """Forward hooks that keep the output of decoder layer k-1 for each layer id k."""

    def __init__(self, layers: torch.nn.ModuleList, layer_ids: list[int]):
        self.layer_ids = layer_ids
        self.captured: dict[int, torch.Tensor] = {}
        self._handles = [
            layers[k - 1].register_forward_hook(self._hook(k)) for k in layer_ids
        ]

    def _hook(self, layer_id: int):
        def keep(module, inputs, output):
            hidden = output[0] if isinstance(output, tuple) else output
            self.captured[layer_id] = hidden.detach()

        return keep

    def stacked(self) -> torch.Tensor:
        """[seq, len(layer_ids), hidden] for the last forward pass (batch of one)."""
        return torch.stack([self.captured[k][0] for k in self.layer_ids], dim=1)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@torch.inference_mode()
def forward_taps(model, taps: ResidualTaps, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(hidden states [seq, len(layer_ids), hidden], logits [seq, vocab]) of one sequence."""
    taps.captured.clear()
    out = model(input_ids=input_ids[None].to(model.device), use_cache=False)
    return taps.stacked().cpu(), out.logits[0].float().cpu()


def hidden_states_for(model, taps: ResidualTaps, input_ids: torch.Tensor) -> torch.Tensor:
    return forward_taps(model, taps, input_ids)[0]


def greedy_acceptance_bound(logits: torch.Tensor, loss_mask: torch.Tensor, temperature: float) -> tuple[float, int]:
    """(sum over response positions of max_x p_T(x), count): vLLM accepts a greedy draft x with
    probability p_T(x), so no drafter that proposes one token can average more than the mean
    of max_x p_T(x) at the first draft position. Logits at t predict token t+1."""
    targets = loss_mask[1:].bool()
    if not targets.any():
        return 0.0, 0
    probs = torch.softmax(logits[:-1][targets] / temperature, dim=-1)
    return float(probs.max(dim=-1).values.sum()), int(targets.sum())


def write_sample(path: Path, token_ids: torch.Tensor, hidden: torch.Tensor) -> None:
    from safetensors.torch import save_file

    with atomic_io.staged_file(path) as tmp:
        save_file({"hidden_states": hidden.contiguous(), "token_ids": token_ids.contiguous()},
                  tmp)


def is_complete(path: Path) -> bool:
    """A finished file opens (a rename only ever publishes whole files, but be strict)."""
    from safetensors import safe_open

    try:
        with safe_open(path, framework="pt") as f:
            return {"hidden_states", "token_ids"} <= set(f.keys())
    except Exception:  # noqa: BLE001 - any unreadable file is redone
        return False


def extract(args: argparse.Namespace) -> None:
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM

    dataset = load_from_disk(str(args.dataset)).with_format("torch", columns=["input_ids", "loss_mask"])
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModelForCausalLM.from_pretrained(args.body, dtype="auto")
    saved_dtype = model.dtype
    if cpu_dtype.hidden_states_dtype_name(device) == "float32":
        model = model.float()
    model = model.to(device).eval()
    layers = decoder_layers(model)
    layer_ids = args.layer_ids or default_layer_ids(len(layers))
    check_layer_ids(layer_ids, len(layers))
    log.info(
        "%d rows, layer ids %s, computed in %s, stored as %s, on %s",
        len(dataset), layer_ids, model.dtype, saved_dtype, device,
    )

    partial = args.out.with_name(args.out.name + ".partial")
    key = hidden_state_layout.partial_key(args, layer_ids, str(saved_dtype))
    if resume_key.prepare_partial(partial, key):
        log.info("resuming the rows already in %s", partial)
    partial.mkdir(parents=True, exist_ok=True)
    taps = ResidualTaps(layers, layer_ids)
    start, done, tokens = time.monotonic(), 0, 0
    bound_sum, bound_n = 0.0, 0
    for index in range(len(dataset)):
        path = sample_file(partial, index)
        if path.exists() and is_complete(path):
            continue
        token_ids = dataset[index]["input_ids"].to(torch.int64)
        hidden, logits = forward_taps(model, taps, token_ids)
        write_sample(path, token_ids, hidden.to(saved_dtype))
        s, n = greedy_acceptance_bound(logits, dataset[index]["loss_mask"], args.temperature)
        bound_sum, bound_n = bound_sum + s, bound_n + n
        done, tokens = done + 1, tokens + len(token_ids)
        if done % args.log_every == 0:
            rate = tokens / (time.monotonic() - start)
            log.info("%d/%d rows (%.0f tokens/s)", index + 1, len(dataset), rate)
    taps.remove()
    log.info("wrote %d rows (%d resumed) in %.1f s", done, len(dataset) - done, time.monotonic() - start)
    summary = {
        "rows": len(dataset), "layer_ids": layer_ids, "stored_dtype": str(saved_dtype),
        "temperature": args.temperature, "response_tokens": bound_n,
        # over the rows computed in this run (all of them unless it resumed)
        "greedy_a0_bound": bound_sum / bound_n if bound_n else None,
    }
    log.info("greedy first-position acceptance bound at T=%s: %s", args.temperature, summary["greedy_a0_bound"])
    hidden_state_layout.publish(partial, args.out, summary)
    resume_key.finish(partial)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hidden_state_layout.add_engine_arguments(p)
    p.add_argument("--temperature", type=float, default=0.7, help="for the greedy acceptance bound")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--log-every", type=int, default=50)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    extract(parse_args(argv))


if __name__ == "__main__":
    main()
