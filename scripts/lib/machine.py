"""What measured a cell, as a label: cells of one label are compared for tok/s (a module of its
own, without pandas: the bench's servers' environment imports it too, lib/cell_resume.py)."""


def machine_label(record: dict) -> str:
    """What measured a cell: its GPU models, or its CPU where it had none ("" when the cell did
    not record its machine). Tok/s ratios are judged only between cells of one label
    (lib/bench_stats.py, require_same_machine)."""
    machine = record.get("provenance", {}).get("machine") or {}
    return " + ".join(machine.get("gpus") or []) or machine.get("processor") or ""
