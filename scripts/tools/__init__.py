"""Operator tools: commands a person runs beside the workflow (reading a report in a browser,
server start phases, comparing hidden-state files, running a profile on a GPU machine)."""
