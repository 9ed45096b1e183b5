"""The edge's last table on disk (`--state-dir`), so it serves without the control plane."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .collector import building_long_lived
from .state import CorruptSnapshot, EdgeState, decode_snapshot, encode_snapshot

__all__ = ["StateStore"]


class StateStore:
    """`state.json` in the state directory: the snapshot document of the state served last.

    Written to a temporary file, flushed, then renamed over the old one, so a crash leaves the old
    file or the new one, never half of one.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "state.json"
        directory.mkdir(parents=True, exist_ok=True)

    def save(self, state: EdgeState) -> None:
        tmp = self.path.with_suffix(".tmp")
        text = json.dumps(encode_snapshot(state), separators=(",", ":"))  # json.dump would not use the C encoder
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)

    def load(self) -> EdgeState | None:
        """The saved state; None when there is none.

        Raises:
            CorruptSnapshot: the file does not parse or its checksum does not match.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        with building_long_lived():
            try:
                doc = json.loads(text)
            except ValueError:
                raise CorruptSnapshot(f"{self.path} is not JSON") from None
            return decode_snapshot(doc)
