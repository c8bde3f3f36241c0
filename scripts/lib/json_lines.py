"""Reading JSON-lines files (instructions, responses, prompts): one object a non-blank line."""

import json
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
