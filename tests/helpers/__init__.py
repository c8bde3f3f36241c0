"""Helpers the tests share (tests/helpers/workflow.py), and a sampler that must fail the
fidelity gate (buggy_sampler/)."""
