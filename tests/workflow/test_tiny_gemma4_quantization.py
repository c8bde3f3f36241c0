"""The gb10 ignore list on real Gemma 4 module names: the gb10 rehearsal's tiny random Gemma 4
(text MoE with a router, vision tower; scripts/make_tiny_gemma4_body.py), quantised by the same
script the quantize_body rule runs, in the quantize environment."""

import json
import os
import subprocess

import pytest
import yaml

from helpers.workflow import ROOT, env_python, rehearsal_body_args


def recipe(drop_router: bool = False) -> str:
    q = yaml.safe_load((ROOT / "config" / "gb10.yaml").read_text())["quantize"]
    ignore = [p for p in q["ignore"] if not (drop_router and "router" in p)]
    return json.dumps({"scheme": q["scheme"], "targets": q["targets"], "ignore": ignore,
                       "keep_unquantised": q["keep_unquantised"]})


@pytest.fixture(scope="module")
def tiny_gemma4(smoke_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("gemma4") / "body"
    subprocess.run(
        [str(env_python("quantize")), "scripts/make_tiny_gemma4_body.py", "--out", str(out),
         *rehearsal_body_args()],
        cwd=ROOT, check=True, capture_output=True, env=os.environ | {"PYTHONPATH": "scripts"})
    return out


def quantize(body, out, report, recipe_json):
    return subprocess.run(
        [str(env_python("quantize")), "scripts/quantize_body.py", "--body", str(body),
         "--out", str(out), "--report", str(report), "--recipe", recipe_json],
        cwd=ROOT, capture_output=True, text=True,
    )


def test_gb10_ignore_list_on_tiny_gemma4(tiny_gemma4, tmp_path):
    proc = quantize(tiny_gemma4, tmp_path / "fp8", tmp_path / "r.json", recipe())
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    by_name = {m["name"]: m for m in report["modules"]}
    router = by_name["model.language_model.layers.0.router.proj"]
    assert router["status"] == "ignored" and router["saved_dtype"] == "BF16"
    expert = by_name["model.language_model.layers.0.experts.0.gate_proj"]
    assert expert["status"] == "quantised" and expert["saved_dtype"] == "F8_E4M3"
    assert all(m["saved_dtype"] == "BF16" for n, m in by_name.items() if "vision" in n)
    assert "re:.*vision.*" not in report["unmatched_ignore_patterns"]


def test_dropping_the_router_regex_fails_naming_router_weights(tiny_gemma4, tmp_path):
    out = tmp_path / "fp8"
    proc = quantize(tiny_gemma4, out, tmp_path / "r.json", recipe(drop_router=True))
    assert proc.returncode != 0
    assert "model.language_model.layers.0.router.proj: must stay unquantised" in proc.stderr
    assert not out.exists()
