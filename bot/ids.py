"""Identifiers, injectable so transcripts and tests are reproducible."""

from __future__ import annotations

import secrets
from typing import Protocol


class IdSource(Protocol):
    def new(self, prefix: str) -> str: ...


class RandomIds:
    """Unguessable ids: participant and session ids appear in exports and buttons."""

    def new(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"


class SequentialIds:
    """``p_0001``, ``s_0002``…: for the demo, the simulator and tests."""

    def __init__(self) -> None:
        self._n = 0

    def new(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n:04d}"
