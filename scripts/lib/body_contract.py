"""The body contract: what the workflow needs of every body, checked before any job uses it.

A body must be a loadable checkpoint (config.json, tokenizer files, safetensors weights), have a
chat template (its own, or a file the profile names as `bodies.NAME.chat_template`, for base
models), and be an architecture the pinned vLLM serves, implementing what each series on it
asks: EAGLE-3 drafting (SupportsEagle3), EAGLE drafting (SupportsEagle) or an MTP model of its
type. A drafter must draft into the body's vocabulary, from its hidden size and layers
(lib/drafter_checks.py, drafter_body_problems).

What the pinned vLLM serves comes from a table read from its wheel
(envs/vllm-capabilities/ENV.json, scripts/tools/vllm_capabilities.py), so the check needs no
vLLM. It runs when the workflow starts, on every body whose directory exists then (a local one,
or one an earlier run made), and inside the job that makes a body (download, conversion,
abliteration, a tiny body) before that job publishes it. Each problem is one sentence that names
the body, the key to change and the reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lib import body_checks

# What a drafter method asks of the body's vLLM class (none: the body need only be served).
METHOD_NEEDS = {"eagle3": "eagle3", "eagle": "eagle", "mtp": "mtp"}
METHOD_NAMES = {"eagle3": "EAGLE-3", "eagle": "EAGLE", "mtp": "MTP"}


def read_capabilities(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def model_type(config: dict) -> str:
    return config.get("model_type") or config.get("text_config", {}).get("model_type", "")


def serving_problems(name: str, config: dict, needs: dict[str, list[str]],
                     capabilities: dict, env: str) -> list[str]:
    """What the pinned vLLM cannot do with this body's architecture. `needs`: drafting method
    -> who asks it (plumbing/study_profile.py, body_needs)."""
    version = f"vLLM {capabilities['vllm']} (envs/{env}.txt)"
    archs = config.get("architectures") or []
    arch = archs[0] if archs else None
    served = capabilities["architectures"]
    if arch not in served:
        return [f"body '{name}' is a {arch or 'model without `architectures`'}, which {version}"
                f" does not serve; choose another body (bodies.{name})"]
    problems = []
    for method, askers in sorted(needs.items()):
        need = METHOD_NEEDS.get(method)
        if need is None:
            continue
        if need == "mtp":
            ok = f"{model_type(config)}_mtp" in capabilities.get("mtp_model_types", [])
        else:
            ok = need in served[arch]
        if not ok:
            problems.append(
                f"body '{name}' is a {arch}, which has no {METHOD_NAMES[method]} drafting in"
                f" {version}, but {' and '.join(askers)} {'need' if len(askers) > 1 else 'needs'}"
                " it; bench this body at n = 0"
                " only (drop those series from bench.series) or choose another body")
    return problems


def checkpoint_problems(name: str, model_dir: Path, chat_template: str | None) -> list[str]:
    """Loadable files and a chat template."""
    missing = body_checks.missing_checkpoint_files(model_dir)
    if missing:
        return [f"body '{name}' at {model_dir} is not a loadable checkpoint (no"
                f" {', '.join(missing)}); point bodies.{name} at a Hugging Face checkpoint"]
    if chat_template:
        if not Path(chat_template).is_file():
            return [f"body '{name}': bodies.{name}.chat_template = '{chat_template}' is not a"
                    " file"]
    elif not body_checks.has_chat_template(model_dir):
        return [f"body '{name}' at {model_dir} has no chat template (a base model?); name a"
                f" Jinja template file as bodies.{name}.chat_template, or choose an instruct"
                " body"]
    return []


def body_problems(name: str, model_dir: Path, needs: dict[str, list[str]], capabilities: dict,
                  env: str, chat_template: str | None = None) -> list[str]:
    """Every way the body at `model_dir` breaks the contract (empty: it keeps it)."""
    model_dir = Path(model_dir)
    problems = checkpoint_problems(name, model_dir, chat_template)
    if problems:
        return problems
    config = json.loads((model_dir / "config.json").read_text())
    return serving_problems(name, config, needs, capabilities, env)


# The environment variable that carries, from the workflow's start to the job that makes a body,
# what vLLM must do with each body (rules/startup_checks.smk sets it). An environment variable,
# not a param: a param is a rerun trigger, and a new series must not remake (or download again)
# a body.
NEEDS_ENV = "BODY_CONTRACT_NEEDS"


def needs_from_environment(environ=os.environ) -> dict | None:
    raw = environ.get(NEEDS_ENV)
    return json.loads(raw) if raw else None


def require(name: str, model_dir: Path, chat_template: str | None = None,
            environ=os.environ) -> None:
    """Inside the job that makes a body: refuse (exit, so nothing is published) a body that
    breaks the contract: not loadable, no chat template, or (when the workflow passed what the
    series need, NEEDS_ENV) an architecture the pinned vLLM cannot serve as asked."""
    wanted = needs_from_environment(environ)
    if wanted and wanted.get("capabilities"):
        problems = body_problems(name, model_dir, wanted["needs"].get(name, {}),
                                 read_capabilities(wanted["capabilities"]), wanted["env"],
                                 chat_template)
    else:
        problems = checkpoint_problems(name, Path(model_dir), chat_template)
    if problems:
        raise SystemExit("body contract: " + "\n".join(problems))
