"""A training run's history.jsonl: one JSON record per line, appended as the run goes.

Kept apart from the training code so that reports read histories without importing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_history(path: Path) -> list[dict[str, Any]]:
    """The records of a run's history.jsonl, in the order they were written."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def append_history(history: Path, record: dict[str, Any]) -> None:
    """Append one record to the history file ``history``."""
    with open(history, "a") as stream:
        stream.write(json.dumps(record) + "\n")
