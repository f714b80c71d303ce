"""Benchmarks 1 and 2: external runs per call and lifecycle wall time, ours next to the reference's.

Each run drives the create-env sequence through the ``bosh-vmrun-cpi``
executable against ``vmrun-sim``, then replays the reference's call pattern on
a fresh simulated host with the same costs; the ratio is taken within each run
and its median reported. A run at zero host cost counts the runs a quick guest
needs (the target's terms). With an SSH server (benchmark 6, ``overssh``) each
run also does the sequence over SSH, so SSH/local ratios come from the same
run. This module measures; ``report`` judges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.hostcosts import NO_COSTS, HostCosts
from benchmarks.overssh import NO_REMOTE, Remote, run_over_ssh
from benchmarks.reference import NaiveCpi, ovftool_simulated
from benchmarks.sequence import Step, create_env, sequence_total
from benchmarks.timing import median
from benchmarks.workspace import Workspace


@dataclass(frozen=True, slots=True)
class LifecycleResult:
    quick_guest: list[Step]  # our CPI, zero host cost: the runs the target is about
    ours: list[list[Step]]  # per run, with the cost model
    naive: list[list[Step]]
    charged: frozenset[str]  # reference ovftool runs whose cost was slept by the replay
    # per run, ours over SSH; there a step's runs are the SSH connections the server accepted
    over_ssh: list[list[Step]]
    ssh_missing: str = ""  # why over_ssh is empty

    @property
    def ratios(self) -> list[float]:
        return [_wall(n) / _wall(o) for o, n in zip(self.ours, self.naive, strict=True)]

    @property
    def ssh_ratios(self) -> list[float]:
        return [_wall(s) / _wall(o) for o, s in zip(self.ours, self.over_ssh, strict=True)]

    def median_wall(self, side: str) -> float:
        return median([_wall(steps) for steps in getattr(self, side)])

    def median_call(self, side: str, method: str) -> float:
        return median([s.seconds for steps in getattr(self, side) for s in steps if s.method == method])


def _wall(steps: list[Step]) -> float:
    return sum(step.seconds for step in steps if step.in_sequence)


def run_ours(root: Path, costs: HostCosts, image: Path) -> list[Step]:
    space = Workspace.create(root, costs)
    return create_env(space.call, space.runs, image=str(image), make_template=space.make_template)


def run_naive(root: Path, costs: HostCosts, image: Path) -> tuple[list[Step], set[str]]:
    space = Workspace.create(root, costs)
    naive = NaiveCpi(space, costs)
    steps = create_env(naive.call, naive.count, image=str(image), make_template=space.make_template)
    return steps, naive.charged


def measure(
    root: Path,
    costs: HostCosts,
    image: Path,
    runs: int,
    say: Callable[[str], None],
    remote: Remote = NO_REMOTE,
) -> LifecycleResult:
    quick = run_ours(root / "quick", NO_COSTS, image)
    say(f"  quick guest: {sequence_total(quick)} runs")
    ours, naive, over_ssh, charged = [], [], [], set()
    for index in range(runs):
        ours.append(run_ours(root / f"ours-{index}", costs, image))
        steps, used = run_naive(root / f"naive-{index}", costs, image)
        naive.append(steps)
        charged |= used
        if remote.server is not None:
            over_ssh.append(run_over_ssh(root / f"ssh-{index}", costs, image, remote.server))
        say(
            f"  run {index + 1}/{runs}: ours {_wall(ours[-1]):.1f} s, reference pattern {_wall(steps):.1f} s"
            + (f", ours over SSH {_wall(over_ssh[-1]):.1f} s" if over_ssh else "")
        )
    if not ovftool_simulated():
        charged.add("ovftool-sim model absent")
    return LifecycleResult(quick, ours, naive, frozenset(charged), over_ssh, remote.missing)
