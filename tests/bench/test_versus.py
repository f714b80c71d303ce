"""The headline benchmark: the reference executable beside ours (runs counted, nothing timed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.hostcosts import NO_COSTS
from benchmarks.reference import REFERENCE_RUNS
from benchmarks.sequence import Step, create_env, runs_by_method
from benchmarks.versus import BEGIN, END, RealReference, Versus, reference_path, render, splice
from benchmarks.workspace import Workspace, stemcell_image


@pytest.mark.real_process
@pytest.mark.skipif(reference_path() is None, reason="VMRUN_CPI_REFERENCE is not set to the Go reference CPI")
def test_the_executable_makes_the_runs_the_replay_assumes(tmp_path: Path) -> None:
    space = Workspace.create(tmp_path / "w", NO_COSTS)
    reference = RealReference(space, NO_COSTS, reference_path() or "")
    steps = create_env(
        reference.call, space.runs, image=str(stemcell_image(tmp_path / "image")), make_template=space.make_template
    )
    measured = runs_by_method(steps)
    assert {m: n for m, n in measured.items() if REFERENCE_RUNS[m] is not None} == {
        m: n for m, n in REFERENCE_RUNS.items() if n is not None
    }
    # set_disk_metadata: its start-up runs happen before it answers NotImplemented (the replay leaves them out)
    assert measured["set_disk_metadata"] == 3 and reference.unanswered["set_disk_metadata"] == "NotImplemented"
    assert reference.unanswered["has_disk"] == reference.unanswered["calculate_vm_cloud_properties"] == "panics"


def _steps(runs: int, seconds: float) -> list[Step]:
    return [Step("info", runs, seconds), Step("create_vm", runs, seconds), Step("has_disk", runs, 9.0, False)]


def test_the_section_gives_runs_seconds_and_the_ratio_of_the_same_runs() -> None:
    text = render(Versus([_steps(0, 1.0)], [_steps(3, 2.0)], {"has_disk": "panics"}))
    assert "| info | 0 | 3 | 1.00 | 2.00 |" in text and "| has_disk | 0 | 3 (panics) |" in text
    assert "| **create-env total** | **0** | **6** | **2.00** | **4.00** |" in text
    assert "**Reference / ours: 2.00x**" in text


def test_the_section_goes_before_section_1_and_replaces_itself() -> None:
    document = "# Benchmarks\n\n## Host cost model\n\nx\n\n## 1. Runs\n\ny\n"
    first = splice(document, f"{BEGIN}\nA\n{END}\n")
    assert first.index("A") < first.index("## 1.") and first.count(BEGIN) == 1
    assert splice(first, f"{BEGIN}\nB\n{END}\n") == first.replace("A", "B")


def test_without_the_executable_the_section_says_it_was_not_measured() -> None:
    assert "Not measured" in render(None)
