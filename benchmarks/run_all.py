"""Every benchmark in one run, one after another, each printing its figures beside its anchors.

Usage: python benchmarks/run_all.py [--quick]. Nothing here is asserted: docs/performance.md
holds the figures of a run and the goals they are measured against.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = {
    "bench_check.py": ["--quick"],
    "bench_cli.py": ["--runs", "3", "--skip-growth"],
    "bench_serve.py": ["--rounds", "1"],
    "bench_asgi.py": ["--requests", "300"],
    "bench_growth.py": ["--repeat", "2"],
}
"""Each benchmark, and the arguments that make it quick with --quick."""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller sizes")
    args = parser.parse_args()
    failed = []
    for name, quick in BENCHMARKS.items():
        print(f"\n==> {name}", flush=True)
        command = [sys.executable, str(HERE / name), *(quick if args.quick else [])]
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
