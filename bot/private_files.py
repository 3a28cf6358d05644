"""Files Parley writes that hold people's data (payout CSVs, exports): owner-only and
whole.

Each is written to an unpredictable temporary name in the target folder, created
``0600`` with ``O_EXCL`` (so a planted symlink is never followed), synced, then renamed
into place: a reader never sees half a file, and no other local user can read it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["private_file", "write_private_text"]


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[IO[str]]:
    """A text stream whose content replaces ``path`` when the block ends without error."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private_text(path: Path, text: str) -> None:
    with private_file(path) as f:
        f.write(text)
