"""The configuration's own health: valid, or invalid since when and why.

Pure. A running process that reads an invalid YAML keeps the last valid
configuration; the fact is recorded once for every process to see (a ``meta``
row: :mod:`worker.db.config_state`), so ``rightswatch health``, ``/readyz`` and
the metrics report it, and the operators hear once when it turns invalid and
once when it is valid again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from worker.core.errors import ConfigProblem

Event = Literal["config_invalid", "config_valid"]


@dataclass(frozen=True, slots=True)
class ConfigInvalid:
    """The configuration file cannot be used; the last valid one is still running."""

    since: datetime
    problem: str
    """The first problem as ``file:line: message`` (and how many more there are)."""
    running: str
    """Version (hash prefix) of the configuration still in use."""

    def describe(self) -> str:
        return f"invalid since {self.since:%Y-%m-%d %H:%M:%S} UTC ({self.problem})"

    def to_json(self) -> str:
        return json.dumps(
            {"since": self.since.isoformat(), "problem": self.problem, "running": self.running}
        )

    @classmethod
    def from_json(cls, text: str) -> ConfigInvalid:
        data = json.loads(text)
        return cls(datetime.fromisoformat(data["since"]), data["problem"], data["running"])


def summarise(problems: Sequence[ConfigProblem]) -> str:
    """One line for health checks: the first problem, and how many more there are."""
    if not problems:
        return "invalid"
    more = len(problems) - 1
    return str(problems[0]) + (f" (and {more} more)" if more else "")


def message(event: Event, state: ConfigInvalid) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain-text body and webhook details of the operators' alert."""
    if event == "config_invalid":
        subject = "[rightswatch] the configuration file is invalid"
        lines = [
            f"Problem: {state.problem}",
            f"Since: {state.since:%Y-%m-%d %H:%M:%S} UTC",
            "",
            f"rightswatch keeps running the last valid configuration ({state.running}); "
            "edits made since then have no effect. Run `rightswatch check-config` to see "
            "every problem, and fix the file: you will hear when it is valid again.",
            "",
        ]
    else:
        subject = "[rightswatch] the configuration file is valid again"
        lines = [
            f"It was invalid since {state.since:%Y-%m-%d %H:%M:%S} UTC ({state.problem}).",
            "",
            "The file as it is now is in use.",
            "",
        ]
    details = {
        "status": "invalid" if event == "config_invalid" else "valid",
        "since": state.since.isoformat(),
        "problem": state.problem,
    }
    return subject, "\n".join(lines), details
