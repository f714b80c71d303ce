"""One simulated ovftool invocation: faults, latency, call log around the model.

The model itself (``ovftool_model.run_ovftool``) knows ovftool's argv, output and
files; this module only wraps it the way ``vmrun_model`` wraps vmrun verbs, and
hands the model a clock whose sleeps spend the caller's timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from toolkit.host.clock import Clock
from vmtk_sim.context import Budget
from vmtk_sim.state import SimHome
from vmtk_sim.vmrun_model import call_entry, consume_fault, render

FAULT_VERB = "ovftool"


class BudgetClock:
    """A ``Clock`` whose ``sleep`` goes through a ``Budget`` (so it honours the timeout)."""

    def __init__(self, clock: Clock, budget: Budget) -> None:
        self._clock = clock
        self._budget = budget

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def time(self) -> float:
        return self._clock.time()

    def sleep(self, seconds: float) -> None:
        self._budget.sleep(seconds)


def run_ovftool_sim(
    home: SimHome,
    argv: Sequence[str],
    *,
    clock: Clock,
    timeout: float | None = None,
    on_output: Callable[[str], None] | None = None,
) -> tuple[int, str, str]:
    """``(exit_code, stdout, stderr)`` of ``ovftool argv`` on the simulated host."""
    from vmtk_sim.ovftool_model import (
        run_ovftool,  # written alongside, imported on use
    )

    started = clock.monotonic()
    knobs = home.knobs()
    budget = Budget(clock, timeout, ("ovftool", *argv))
    code: int | None = None
    try:
        fault = consume_fault(home, knobs, FAULT_VERB)
        if fault is not None:
            if fault.hang:
                budget.hang()
            result = fault.exit_code, render(fault.output, knobs.platform), ""
        else:
            result = run_ovftool(list(argv), clock=BudgetClock(clock, budget), on_output=on_output)
        budget.sleep(knobs.latency_of(FAULT_VERB))
        code = result[0]
    finally:
        home.append_call(call_entry("ovftool", argv, code, clock.monotonic() - started, clock))
    return result
