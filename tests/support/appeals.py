"""The story-dedup workload the bound test and the benchmark share: appeals built on one long
template (130 words) and a footer, each with its own case (45 words) and title, so every
new entry shares two thirds of its text with every stored one."""

from __future__ import annotations

import random

from worker.core import dedup
from worker.core.types import NormalisedEntry
from worker.ingest import stories

FOOTER = "Share this appeal: Facebook Twitter Email Print. Read more on our website today."


class Appeals:
    """Appeals whose words come from a vocabulary of ``words`` made-up words."""

    def __init__(self, words: int) -> None:
        self.vocabulary = [f"w{i}" for i in range(words)]
        self.template = " ".join(random.Random(0).choices(self.vocabulary, k=130))

    def appeal(self, number: int) -> tuple[str, str]:
        """Appeal ``number``'s title and text (the same each run)."""
        case = " ".join(random.Random(number + 1).choices(self.vocabulary, k=45))
        return f"Appeal for p{number} q{number}", f"{case}\n{self.template}\n{FOOTER}"


def fresh(number: int, title: str, body: str, key: bytes | None = None) -> stories.Fresh:
    """A new entry of a poll, compared by text, as the poll hands it to the story search."""
    entry = NormalisedEntry(
        identity=f"guid:{number}",
        guid=str(number),
        link=None,
        title=title,
        summary=body,
        content="",
        published=None,
        language="en",
        content_hash=dedup.lookup_hash(f"{title}{body}"),
    )
    keys = dedup.EntryKeys(dedup.identity_key(f"guid:{number}", key), None, f"guid:{number}")
    candidate = stories.Fresh(entry, keys, {})
    candidate.compare_by_text(key)
    return candidate
