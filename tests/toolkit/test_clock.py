from __future__ import annotations

import pytest

from toolkit.errors import ToolsNotRunningError, VmNotFoundError, WaitTimeout
from toolkit.host.clock import FakeClock, retry, wait_until


def test_wait_until_returns_the_first_truthy_value_polling_on_virtual_time() -> None:
    clock = FakeClock()
    answers = iter([None, False, "ready"])
    assert wait_until(lambda: next(answers), what="x", timeout=10, clock=clock, interval=2) == "ready"
    assert clock.slept == [0.0, 2, 2]


def test_wait_until_sleeps_min_wait_first() -> None:
    clock = FakeClock()
    wait_until(lambda: True, what="x", timeout=30, clock=clock, min_wait=5)
    assert clock.slept == [5]


def test_wait_until_times_out_naming_what_and_the_last_transient_error() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise ToolsNotRunningError("Error: The VMware Tools are not running in the virtual machine: /v.vmx")

    with pytest.raises(WaitTimeout) as caught:
        wait_until(probe, what="VMware Tools", timeout=5, clock=clock, interval=2)
    assert "VMware Tools" in str(caught.value) and "Tools are not running" in str(caught.value)
    assert isinstance(caught.value.__cause__, ToolsNotRunningError)
    assert sum(clock.slept) == pytest.approx(5)


def test_wait_until_does_not_swallow_permanent_errors() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise VmNotFoundError("gone")

    with pytest.raises(VmNotFoundError):
        wait_until(probe, what="x", timeout=5, clock=clock)
    assert clock.slept == [0.0]


def test_wait_until_can_leave_transient_errors_to_its_caller() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise ToolsNotRunningError("rebooting")

    with pytest.raises(ToolsNotRunningError):
        wait_until(probe, what="x", timeout=5, clock=clock, through_transient=False)
    assert clock.slept == [0.0]


@pytest.mark.parametrize("timeout", [float("nan"), float("inf")])
def test_wait_until_refuses_a_deadline_that_is_never_reached(timeout: float) -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="finite"):
        wait_until(lambda: None, what="Tools", timeout=timeout, clock=clock)
    assert clock.slept == []  # refused before the first poll


def test_retry_retries_transient_errors_with_backoff_then_succeeds() -> None:
    clock = FakeClock()
    outcomes: list[Exception | str] = [ToolsNotRunningError("a"), ToolsNotRunningError("b"), "ok"]

    def action() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert retry(action, clock=clock, delay=1, attempts=5) == "ok"
    assert clock.slept == [1, 2]


def test_retry_is_bounded_in_attempts() -> None:
    clock = FakeClock()
    calls = []

    def action() -> None:
        calls.append(1)
        raise ToolsNotRunningError("still down")

    with pytest.raises(ToolsNotRunningError):
        retry(action, clock=clock, attempts=3, delay=1)
    assert len(calls) == 3


def test_retry_is_bounded_in_total_time() -> None:
    clock = FakeClock()
    calls = []

    def action() -> None:
        calls.append(1)
        raise ToolsNotRunningError("still down")

    with pytest.raises(ToolsNotRunningError):
        retry(action, clock=clock, attempts=100, delay=4, max_delay=4, total=10)
    assert len(calls) == 3 and sum(clock.slept) <= 10


def test_retry_never_retries_permanent_errors() -> None:
    clock = FakeClock()
    calls = []

    def action() -> None:
        calls.append(1)
        raise VmNotFoundError("gone")

    with pytest.raises(VmNotFoundError):
        retry(action, clock=clock)
    assert calls == [1] and clock.slept == []


@pytest.mark.parametrize("retry_on", [(VmNotFoundError,), lambda exc: isinstance(exc, VmNotFoundError)])
def test_retry_on_chooses_what_is_retried(retry_on: object) -> None:
    # A caller's own set replaces "transient": here a permanent error is retried, a transient one is not.
    clock = FakeClock()
    outcomes: list[Exception | str] = [VmNotFoundError("not yet"), "ok"]

    def action() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def down() -> str:
        raise ToolsNotRunningError("down")

    assert retry(action, clock=clock, delay=1, retry_on=retry_on) == "ok"  # type: ignore[arg-type]
    with pytest.raises(ToolsNotRunningError):
        retry(down, clock=clock, retry_on=retry_on)  # type: ignore[arg-type]
    assert clock.slept == [1]  # the refused error was raised at once


def test_wait_until_backs_off_up_to_max_interval() -> None:
    clock = FakeClock()
    answers = iter([None] * 6 + ["up"])
    assert wait_until(lambda: next(answers), what="x", timeout=100, clock=clock, interval=1, max_interval=8) == "up"
    assert clock.slept == [0.0, 1, 2, 4, 8, 8, 8]
