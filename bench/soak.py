"""The reliability soak, longer than the test suite's: more people, more messages, more kills.

    .venv/bin/python -m bench.soak [--people 40] [--each-way 100] [--kills 6]

It runs ``tests/test_soak.py`` (the same checks: every message arrives, in order, duplicates only
where an answer was lost, a timer due during the 60 s outage fires after it) with the sizes
given, and prints the counts it checked."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--each-way", type=int, default=100)
    parser.add_argument("--kills", type=int, default=6)
    args = parser.parse_args()
    env = {
        **os.environ,
        "CLGBT_SOAK_PEOPLE": str(args.people),
        "CLGBT_SOAK_EACH_WAY": str(args.each_way),
        "CLGBT_SOAK_KILLS": str(args.kills),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
    return subprocess.call([*command, "tests/test_soak.py"], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
