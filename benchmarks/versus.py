"""The headline figure: the Go reference CPI's executable and ours, on the same simulated host.

Both serve the create-env sequence (``sequence.create_env``), one process per
request, against ``vmrun-sim``/``ovftool-sim`` with the same cost model; runs
are counted from the simulator's ``calls.jsonl``. The simulator has one ovftool
latency knob, so the reference's ovftool is a wrapper that adds the cost
model's price of what each run does (an import, the empty-disk OVF round trip
of ``create_disk``, or ``-v``). The reference is found through
``VMRUN_CPI_REFERENCE``. ``python -m benchmarks.versus`` measures only this
figure and rewrites its section of BENCHMARKS.md; ``make bench`` includes it.
This module measures and renders; it judges nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.errors import BenchmarkError
from benchmarks.hostcosts import REAL_HOST, HostCosts
from benchmarks.lifecycle import run_ours
from benchmarks.sequence import CREATE_ENV, Step, create_env
from benchmarks.timing import median
from benchmarks.workspace import BIN, CALL_TIMEOUT, MBUS, VMRUN_SIM, Workspace, response_result, stemcell_image

REFERENCE_ENV = "VMRUN_CPI_REFERENCE"
OVFTOOL_SIM = BIN / "ovftool-sim"
PANIC_EXIT = 2  # the reference's unimplemented methods panic: exit 2, nothing on stdout
BEGIN, END = "<!-- versus:begin -->", "<!-- versus:end -->"


def reference_path() -> str | None:
    path = os.environ.get(REFERENCE_ENV, "")
    return path if path and os.access(path, os.X_OK) else None


def reference_config(
    store: Path,
    *,
    vmrun: Path,
    ovftool: Path,
    mbus: str,
    ntp: tuple[str, ...] = ("0.pool.ntp.org",),
    start_wait: int = 600,
    soft_stop_wait: int = 30,
    human_names: bool = True,
) -> dict[str, Any]:
    """The reference executable's config file, as its job template renders it (defaults: the job spec's)."""
    agent = {
        "mbus": mbus,
        "ntp": list(ntp),
        "blobstore": {"provider": "local", "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"}},
    }
    vmrun_properties = {
        "vm_store_path": str(store),
        "vmrun_bin_path": str(vmrun),
        "ovftool_bin_path": str(ovftool),
        "vm_start_max_wait_seconds": start_wait,
        "vm_soft_shutdown_max_wait_seconds": soft_stop_wait,
        "enable_human_readable_name": human_names,
    }
    return {"cloud": {"plugin": "vmrun", "properties": {"agent": agent, "vmrun": vmrun_properties}}}


class RealReference:
    """The reference executable configured for one workspace's simulated host (job-spec defaults)."""

    def __init__(self, space: Workspace, costs: HostCosts, executable: str) -> None:
        self.space, self.executable = space, executable
        self.unanswered: dict[str, str] = {}  # method -> why it gave no result
        self.config = space.root / "reference.json"
        config = reference_config(space.store, vmrun=VMRUN_SIM, ovftool=self._ovftool(costs), mbus=MBUS)
        self.config.write_text(json.dumps(config))

    def _ovftool(self, costs: HostCosts) -> Path:
        """ovftool-sim plus the price of the run's kind on top of the knob's (``-v``) price."""
        wrapper = self.space.root / "ovftool"
        extra_import = max(0.0, costs.ovftool_import - costs.ovftool_version)
        extra_disk = max(0.0, costs.ovftool_makedisk - costs.ovftool_version)
        wrapper.write_text(
            f'#!/bin/sh\n{shlex.quote(str(OVFTOOL_SIM))} "$@"; code=$?\n'
            f'case " $* " in *" -v "*) ;; *--name=makedisk*) sleep {extra_disk:.3f} ;; '
            f"*) sleep {extra_import:.3f} ;; esac\n"
            "exit $code\n"
        )
        wrapper.chmod(0o755)
        return wrapper

    def call(self, method: str, *arguments: Any) -> Any:
        body = json.dumps({"method": method, "arguments": list(arguments), "context": {"director_uuid": "bench"}})
        env = {
            **os.environ,
            "VMRUN_SIM_HOME": str(self.space.sim_home),
            "BOSH_LOG_LEVEL": "error",
            "TMPDIR": str(self.space.root),
        }
        done = subprocess.run(
            [self.executable, "-configPath", str(self.config)],
            input=body.encode(),
            env=env,
            capture_output=True,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        if done.returncode == PANIC_EXIT and not done.stdout.strip():
            self.unanswered[method] = "panics"
            return None
        try:
            return response_result(method, done.stdout, done.stderr)
        except BenchmarkError as exc:
            if "NotImplemented" not in str(exc):
                raise
            self.unanswered[method] = "NotImplemented"
            return None


@dataclass(frozen=True, slots=True)
class Versus:
    ours: list[list[Step]]
    reference: list[list[Step]]
    unanswered: dict[str, str] = field(default_factory=dict)

    def median_call(self, side: str, method: str, what: str) -> float:
        return median([getattr(s, what) for steps in getattr(self, side) for s in steps if s.method == method])

    def totals(self, side: str, what: str) -> list[float]:
        return [sum(getattr(s, what) for s in steps if s.in_sequence) for steps in getattr(self, side)]


def measure(root: Path, costs: HostCosts, image: Path, runs: int, say: Callable[[str], None]) -> Versus | None:
    executable = reference_path()
    if executable is None:
        say(f"  {REFERENCE_ENV} is not set to an executable: the reference is not measured")
        return None
    ours, theirs = [], []
    unanswered: dict[str, str] = {}
    for index in range(runs):
        ours.append(run_ours(root / f"ours-{index}", costs, image))
        space = Workspace.create(root / f"reference-{index}", costs)
        reference = RealReference(space, costs, executable)
        theirs.append(create_env(reference.call, space.runs, image=str(image), make_template=space.make_template))
        unanswered |= reference.unanswered
        say(
            f"  run {index + 1}/{runs}: ours {sum(s.seconds for s in ours[-1] if s.in_sequence):.1f} s, "
            f"reference {sum(s.seconds for s in theirs[-1] if s.in_sequence):.1f} s"
        )
    return Versus(ours, theirs, unanswered)


def render(result: Versus | None) -> str:
    lines = [BEGIN, "## The reference executable beside ours (headline)", ""]
    if result is None:
        lines += [f"Not measured: `{REFERENCE_ENV}` was not set to the Go reference CPI (a Linux x86-64 binary).", END]
        return "\n".join(lines) + "\n"
    lines += [
        "The Go reference CPI (bosh-vmrun-cpi-release 3.1.0, built unchanged) and our `bosh-vmrun-cpi`, each run as "
        "the bosh CLI runs a CPI (one process per request) through the create-env sequence, against the same "
        "simulated host and cost model (above). Runs: vmrun/ovftool runs counted from the simulator's call log. "
        "The reference speaks CPI API v1 and has human-readable names on (as its CI does): its create_vm leaves "
        "the VM off and set_vm_metadata starts it. Its ovftool runs are charged the cost model's import or "
        "empty-disk price. Every vmrun run also pays `vmrun-sim`'s own process start, on both sides. "
        "set_disk_metadata costs the reference its start-up runs before it answers NotImplemented "
        "(section 1's replay of its traces leaves them out; every other count matches the replay).",
        "",
        "| call | runs: ours | runs: reference | seconds: ours | seconds: reference |",
        "|---|---|---|---|---|",
    ]
    measured = {step.method for step in result.ours[0]}
    for method in [m for m in (*CREATE_ENV, "has_disk", "calculate_vm_cloud_properties") if m in measured]:
        note = f" ({result.unanswered[method]})" if method in result.unanswered else ""
        lines.append(
            f"| {method} | {result.median_call('ours', method, 'runs'):g} | "
            f"{result.median_call('reference', method, 'runs'):g}{note} | "
            f"{result.median_call('ours', method, 'seconds'):.2f} | "
            f"{result.median_call('reference', method, 'seconds'):.2f} |"
        )
    ours_s, ref_s = result.totals("ours", "seconds"), result.totals("reference", "seconds")
    ratios = [r / o for o, r in zip(ours_s, ref_s, strict=True)]
    lines += [
        f"| **create-env total** | **{median(result.totals('ours', 'runs')):g}** | "
        f"**{median(result.totals('reference', 'runs')):g}** | **{median(ours_s):.2f}** | **{median(ref_s):.2f}** |",
        "",
        f"**Reference / ours: {median(ratios):.2f}x** wall time (median of the per-run ratios "
        f"{', '.join(f'{r:.2f}' for r in ratios)}); has_disk and calculate_vm_cloud_properties are outside the total.",
        END,
    ]
    return "\n".join(lines) + "\n"


def splice(document: str, section: str) -> str:
    """``document`` with its versus section replaced (or put before section 1 when it has none)."""
    if BEGIN in document:
        return re.sub(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n", lambda _: section, document, flags=re.S)
    at = document.find("\n## 1.")
    return document[: at + 1] + section + "\n" + document[at + 1 :] if at >= 0 else document + "\n" + section


def main(argv: list[str] | None = None) -> int:
    from benchmarks.__main__ import CACHE, options, say

    args = options(sys.argv[1:] if argv is None else argv)
    image = stemcell_image(CACHE / "stemcell" / "image")
    work = CACHE / "versus"
    shutil.rmtree(work, ignore_errors=True)
    result = measure(work, REAL_HOST.scaled(args.scale), image, args.runs, say)
    section = render(result)
    args.output.write_text(splice(args.output.read_text(), section))
    print(section)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
