"""The vLLM server that writes hidden states instead of drafting: speculators' extraction server.

speculators' `scripts/launch_vllm.py` starts `vllm serve BODY` with the speculative method
`extract_hidden_states` (the EAGLE-3 taps as `eagle_aux_hidden_state_layer_ids`) and the
`ExampleHiddenStatesConnector`, which writes each request's hidden states to a shared folder
and names the file in the response's kv_transfer_params. That script lives in speculators'
repository, not in its wheel, so the two JSON configs it builds are rebuilt here. Two jobs use
the server: the offline extraction (extract_hidden_states_vllm.py, every row to a file set) and
online training (train_drafter.py --online, the trainer asks for each row as it needs it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lib import hidden_state_pages
from lib import serving
from lib.hidden_state_layout import check_layer_ids, default_layer_ids


def text_config(body: Path) -> dict:
    """The language model's part of the body's config.json (multimodal bodies nest it)."""
    config = json.loads((body / "config.json").read_text())
    return config.get("text_config", config)


def extraction_layer_ids(body: Path, layer_ids: list[int] | None) -> list[int]:
    """The taps then the final layer, as launch_vllm.py and scripts/extract_hidden_states.py pick them."""
    num_layers = int(text_config(body)["num_hidden_layers"])
    ids = list(layer_ids) if layer_ids else default_layer_ids(num_layers)
    check_layer_ids(ids, num_layers)
    return ids


def page_problem(body: Path, layer_ids: list[int], server_args: list[str]) -> str | None:
    """Why vLLM 0.24 would write short hidden-state files for this body with these server
    arguments (hidden_state_pages), or None: checked before the server's minutes of start."""
    kv_cache_dtype = hidden_state_pages.server_flag_value(server_args, "--kv-cache-dtype")
    return hidden_state_pages.extraction_page_problem(
        text_config(body), len(layer_ids), kv_cache_dtype or "auto")


def checked_layer_ids(body: Path, args: argparse.Namespace) -> list[int]:
    """The taps the server will write (`args.layer_ids` or speculators' default), or SystemExit
    when vLLM 0.24 would write short rows for them with `args.server_args_json` (page_problem)."""
    layer_ids = extraction_layer_ids(body, args.layer_ids)
    problem = page_problem(body, layer_ids, json.loads(args.server_args_json))
    if problem:
        raise SystemExit(problem)
    return layer_ids


def extraction_speculative_config(layer_ids: list[int]) -> dict:
    """vLLM's speculative config that makes the server write hidden states, not draft."""
    return {
        "method": "extract_hidden_states",
        "num_speculative_tokens": 1,
        "draft_model_config": {"hf_config": {"eagle_aux_hidden_state_layer_ids": layer_ids}},
    }


def file_connector_config(storage: Path) -> dict:
    """The KV-transfer config of the connector that writes one safetensors file per request."""
    return {
        "kv_connector": "ExampleHiddenStatesConnector",
        "kv_role": "kv_producer",
        "kv_connector_extra_config": {"shared_storage_path": str(storage)},
    }


def extraction_server_spec(
    python: str, body: Path, args: argparse.Namespace, layer_ids: list[int], storage: Path
) -> serving.ServerSpec:
    """The data server's settings (serving.add_server_arguments) plus the extraction method and
    the file connector; served under the body's path, the name speculators' clients check the
    model against."""
    spec = serving.spec_from_arguments(
        python, body, args, served_model_name=str(body),
        speculative_config=extraction_speculative_config(layer_ids),
    )
    spec.extra_args += ["--kv-transfer-config", json.dumps(file_connector_config(storage))]
    return spec
