"""Workflow plumbing: what the Snakefile itself runs (environments, code inputs, the GPU job
wrapper, the profile model), not a step of the study."""
