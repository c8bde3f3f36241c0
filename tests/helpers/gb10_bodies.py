"""The full-width Gemma 4 stand-in of config/gb10-fullwidth.yaml as the GB10 models read it
(lib/weight_traffic.py), for the tests of the traffic and training-work models."""

from __future__ import annotations

from lib.weight_traffic import MoeTextBody

from helpers.workflow import load_profile


def fullwidth_body() -> MoeTextBody:
    """The abliterated body of the full-width rehearsal: 7 layers at Gemma 4 26B-A4B's widths."""
    profile = load_profile("gb10-fullwidth.yaml")
    return MoeTextBody.from_profile_body(profile["bodies"]["abliterated"])
