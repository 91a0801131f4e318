"""The parsed YAML of the last valid configuration, kept sealed in the data directory.

PyYAML builds a node, with its marks, for every scalar: a file of 100,000 names
takes 15-30 s to parse on a 2-core machine, in every process that starts
(worker, beat, api, `run`). The same data as JSON loads in a third of a second.
The file is sealed with ``RIGHTSWATCH_ENCRYPTION_KEY`` (AES-GCM, like the
database's secrets): it lists the watched people, and whoever could write it
unsealed could add a subscriber; JSON, unlike a pickle, runs no code when read.
An entry that does not open, or is for other bytes of the file, is ignored;
without a key nothing is cached. Validation still runs on every load: its
outcome also depends on the environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from worker.core.errors import RightswatchError
from worker.security import crypto
from worker.security.files import private_directory, write_private

FILE = "config-cache"


def read(folder: Path, version: str) -> Any | None:
    """The data parsed from the file whose SHA-256 is ``version``, if cached."""
    try:
        keyring = crypto.keyring()
        if not keyring.enabled:
            return None
        sealed = (folder / FILE).read_text(encoding="ascii")
        entry = json.loads(keyring.decrypt(sealed)) if keyring.is_current(sealed) else None
    except (OSError, ValueError, RightswatchError):
        return None
    if not isinstance(entry, dict) or entry.get("version") != version:
        return None
    return entry.get("data")


def write(folder: Path, version: str, data: Any) -> None:
    """Cache ``data`` if JSON gives it back unchanged (YAML also has dates, sets and
    non-string keys; such a file is parsed every time)."""
    try:
        keyring = crypto.keyring()
        if not keyring.enabled:
            return
        text = json.dumps({"version": version, "data": data}, ensure_ascii=False)
        if json.loads(text)["data"] != data:
            return
        private_directory(folder)
        partial = folder / f"{FILE}.{os.getpid()}"
        write_private(partial, keyring.encrypt(text).encode("ascii"))
        partial.replace(folder / FILE)
    except (OSError, TypeError, ValueError, RightswatchError):
        return
