"""``python -m benchmarks`` (``make bench``): run every benchmark, print the report, rewrite BENCHMARKS.md.

Progress goes to stderr, the report to stdout. Work files live under
``.bench/`` (gitignored): large inputs are kept between runs, per-run
simulated hosts are removed at the end.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

from benchmarks import lifecycle, machine, overhead, overssh, primitives, scaling, versus
from benchmarks.hostcosts import REAL_HOST
from benchmarks.report import Results, render
from benchmarks.workspace import Workspace, stemcell_image

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=0.4,
        help="factor on every host cost (default 0.4)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument(
        "--spawns",
        type=int,
        default=15,
        help="process spawns per overhead figure (default 15)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = options(sys.argv[1:] if argv is None else argv)
    started, costs = time.perf_counter(), REAL_HOST.scaled(args.scale)
    work = CACHE / "run"
    shutil.rmtree(work, ignore_errors=True)
    image = stemcell_image(CACHE / "stemcell" / "image")
    say("1-2, 6. create-env sequence: ours, the reference pattern, ours over SSH")
    with overssh.remote(work / "sshd") as remote:
        if remote.missing:
            say(f"  SSH: {remote.missing}")
        life = lifecycle.measure(work / "lifecycle", costs, image, args.runs, say, remote)
    say("The reference executable beside ours")
    beside = versus.measure(work / "versus", costs, image, args.runs, say)
    say("3. process overhead")
    spent = overhead.measure(Workspace.create(work / "overhead", costs), args.spawns)
    say("4. concurrent create_vm")
    levels = scaling.measure(Workspace.create(work / "scaling", costs), args.runs)
    say("5. primitives")
    prims = primitives.measure(CACHE, work / "primitives", args.runs)
    command = "make bench  # " + shlex.join(["python", "-m", "benchmarks", *(argv or sys.argv[1:])])
    results = Results(
        command, machine.describe(), costs, args.runs, life, spent, levels, prims, time.perf_counter() - started
    )
    text = versus.splice(render(results), versus.render(beside))
    args.output.write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
