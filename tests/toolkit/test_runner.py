from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest

from toolkit.errors import CommandTimeout, HostFileNotFound, LockTimeout, SpawnError
from toolkit.host.clock import FakeClock
from toolkit.host.runner import LocalRunner, redact

PY = sys.executable


def test_redact_masks_guest_and_vm_passwords() -> None:
    argv = ["vmrun", "-T", "ws", "-vp", "vmpw", "-gu", "vcap", "-gp", "s3cret", "list"]
    assert redact(argv) == ("vmrun", "-T", "ws", "-vp", "***", "-gu", "vcap", "-gp", "***", "list")


@pytest.mark.real_process
def test_run_reports_exit_code_and_both_streams_without_judging() -> None:
    done = LocalRunner().run(
        [PY, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"], timeout=30
    )
    assert (done.exit_code, done.stdout.strip(), done.stderr.strip(), done.ok) == (3, "out", "err", False)


@pytest.mark.real_process
def test_run_feeds_stdin_and_streams_output_as_it_comes() -> None:
    seen: list[str] = []
    done = LocalRunner().run(
        [PY, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"],
        timeout=30,
        stdin=b"hello",
        on_output=seen.append,
    )
    assert done.stdout == "HELLO" and "".join(seen) == "HELLO"


@pytest.mark.real_process
def test_run_kills_a_program_that_outlives_its_timeout() -> None:
    with pytest.raises(CommandTimeout) as caught:
        LocalRunner().run([PY, "-c", "print('partial', flush=True); import time; time.sleep(30)"], timeout=1)
    assert "partial" in caught.value.output


@pytest.mark.real_process
def test_run_redacts_the_argv_it_reports() -> None:
    done = LocalRunner().run([PY, "-c", "pass", "-gp", "s3cret"], timeout=30)
    assert "s3cret" not in " ".join(done.argv)


@pytest.mark.real_process
def test_spawn_failure_is_a_spawn_error() -> None:
    with pytest.raises(SpawnError):
        LocalRunner().run(["/nonexistent/vmrun"], timeout=5)


@pytest.mark.parametrize("argv", ["vmrun list", b"vmrun list"])
def test_a_command_string_is_refused_before_anything_runs(argv: str | bytes) -> None:
    # No marker: had it reached the spawn seam, UnexpectedProcess would be raised instead.
    with pytest.raises(TypeError, match="argv must be a list of arguments"):
        LocalRunner().run(argv, timeout=5)  # type: ignore[arg-type]


def test_without_the_marker_a_test_cannot_spawn() -> None:
    with pytest.raises(BaseException) as caught:
        LocalRunner().run([PY, "-c", "pass"], timeout=5)
    assert type(caught.value).__name__ == "UnexpectedProcess"


def test_open_write_replaces_atomically_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    runner = LocalRunner()
    target = str(tmp_path / "a.vmx")
    runner.write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with runner.open_write(target) as handle:
            handle.write(b"half-written")
            raise RuntimeError("crash mid-write")
    assert runner.read_bytes(target) == b"old"
    assert os.listdir(tmp_path) == ["a.vmx"]


def test_write_bytes_applies_the_mode(tmp_path: Path) -> None:
    runner = LocalRunner()
    target = str(tmp_path / "env.iso")
    runner.write_bytes(target, b"x", mode=0o600)
    assert (os.stat(target).st_mode & 0o777) == 0o600


def test_file_operations(tmp_path: Path) -> None:
    runner = LocalRunner()
    folder = runner.path.join(str(tmp_path), "a", "b")
    runner.mkdir(folder)
    runner.mkdir(folder)  # idempotent
    runner.write_bytes(runner.path.join(folder, "x"), b"123")
    runner.copy_file(runner.path.join(folder, "x"), runner.path.join(folder, "y"))
    runner.rename(runner.path.join(folder, "y"), runner.path.join(folder, "z"))
    assert runner.list_dir(folder) == ["x", "z"] and runner.size(runner.path.join(folder, "z")) == 3
    runner.remove(runner.path.join(folder, "x"))
    runner.remove(runner.path.join(folder, "x"))  # missing is fine: deletes are idempotent
    runner.remove_tree(str(tmp_path / "a"))
    assert not runner.exists(str(tmp_path / "a"))


def test_reading_a_missing_file_is_host_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(HostFileNotFound):
        LocalRunner().read_bytes(str(tmp_path / "nope"))


def _hold_lock(path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    with LocalRunner().lock(path, timeout=5):
        ready.set()
        release.wait(30)


@pytest.mark.real_process
def test_lock_excludes_other_processes_and_times_out_on_the_injected_clock(tmp_path: Path) -> None:
    path = str(tmp_path / "vm.lock")
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        clock = FakeClock()
        with pytest.raises(LockTimeout):
            with LocalRunner(clock=clock).lock(path, timeout=2):
                pass
        assert sum(clock.slept) >= 2
    finally:
        release.set()
        holder.join(30)
    with LocalRunner().lock(path, timeout=2):
        pass


@pytest.mark.real_process
def test_a_lock_held_by_a_killed_process_is_released(tmp_path: Path) -> None:
    path = str(tmp_path / "vm.lock")
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    assert ready.wait(30)
    holder.kill()
    holder.join(30)
    with LocalRunner().lock(path, timeout=2):
        pass
