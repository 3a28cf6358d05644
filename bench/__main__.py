"""``python -m bench [--quick]``: run every benchmark, each in its own process.

Each benchmark prints the contract's JSON lines ``{"name", "value", "unit", "baseline",
"ratio"}`` with its baseline measured in the same run. Separate processes keep one
benchmark's servers, threads and caches from colouring the next one's figures.

``--only scale`` (``bench/scale.py``: one and two processes on PostgreSQL) is not in the
default list: it needs PostgreSQL's server binaries.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = ["engine", "telegram_turns", "sms_turns", "broadcast", "round_planning", "report",
              "faults"]
ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: under two minutes")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    failed = []
    started = time.monotonic()
    for name in args.only or BENCHMARKS:
        if not (ROOT / "bench" / f"{name}.py").is_file():
            print(f"bench: {name} is not available in this build", file=sys.stderr)
            failed.append(name)
            continue
        command = [sys.executable, "-m", f"bench.{name}"]
        if args.quick:
            command.append("--quick")
        print(f"bench: running {name}", file=sys.stderr, flush=True)
        result = subprocess.run(command, cwd=ROOT, timeout=900)
        if result.returncode != 0:
            print(f"bench: {name} failed with exit code {result.returncode}", file=sys.stderr)
            failed.append(name)
    print(f"bench: finished in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
