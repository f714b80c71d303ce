"""The root command: help, global options, the error edge, logging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok
from toolkit.vmware.vmrun import HostType
from vmtk_cli.app import App, Settings
from vmtk_cli.main import cli

GROUPS = ("vm", "guest", "vmx", "iso", "disk", "stemcell", "bootstrap", "sim", "demo")


def test_help_lists_every_group_and_explains_completion(vmtk: Vmtk) -> None:
    text = assert_ok(vmtk("--help")).stdout
    for name in GROUPS:
        assert f"  {name} " in text
    assert "_VMTK_COMPLETE=bash_source vmtk" in text


@pytest.mark.parametrize("name", GROUPS)
def test_each_group_has_help(vmtk: Vmtk, name: str) -> None:
    text = assert_ok(vmtk(name, "--help")).stdout
    assert text.startswith("Usage: ") and len(text.splitlines()) > 3


def test_usage_errors_exit_2(vmtk: Vmtk) -> None:
    assert vmtk("vm", "start").exit_code == 2
    assert vmtk("no-such-group").exit_code == 2


def test_missing_vmrun_says_how_to_point_at_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("vmtk_cli.app.STANDARD_VMRUN_PATHS", {})
    result = CliRunner().invoke(cli, ["vm", "list"], obj=App())
    line = assert_error(result, "--vmrun", "VMTK_VMRUN", "vmrun-sim")
    assert "cannot find vmrun" in line


def test_toolkit_errors_become_one_line_with_advice(vmtk: Vmtk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    line = assert_error(vmtk("vm", "start", str(tmp_path / "missing.vmx")))
    assert "missing.vmx" in line or "cannot be found" in line


def test_a_quiet_run_stays_quiet_when_a_library_logger_was_made_verbose(vmtk: Vmtk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # In one process with other users of the toolkit (the CPI sets its loggers' levels), a
    # logger's own level must not bring INFO lines to a vmtk run without -v.
    toolkit_logger = logging.getLogger("toolkit")
    before = toolkit_logger.level
    toolkit_logger.setLevel(logging.DEBUG)
    try:
        result = vmtk("vm", "start", str(tmp_path / "missing.vmx"))
    finally:
        toolkit_logger.setLevel(before)
    assert_error(result)  # exactly one Error: line, nothing else on stderr


def test_minus_vv_adds_the_traceback_on_stderr_only(vmtk: Vmtk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = vmtk("-vv", "vm", "start", str(tmp_path / "missing.vmx"))
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("Error: ")
    assert result.stdout == ""


def test_global_options_come_from_vmtk_variables(app: App, vmtk: Vmtk) -> None:
    assert_ok(vmtk("vm", "list", env={"VMTK_GUEST_USER": "ops", "VMTK_HOST_TYPE": "ws"}))
    assert app.settings.guest_user == "ops"


def test_host_type_option_reaches_the_settings(app: App, vmtk: Vmtk) -> None:
    assert_ok(vmtk("-T", "fusion", "iso", "--help"))
    assert app.settings.host_type is HostType.FUSION


def test_an_unknown_host_type_is_a_usage_error(vmtk: Vmtk) -> None:
    assert vmtk("-T", "esx", "vm", "list").exit_code == 2


def test_password_comes_from_the_named_variable_never_argv(app: App) -> None:
    app.environ = {"MY_PW": "s3cret"}
    app.settings = Settings(guest_password_env="MY_PW", guest_user="u")
    assert app.credentials().password == "s3cret"


def test_a_named_but_unset_password_variable_is_an_error(app: App, vmtk: Vmtk, vmx: str) -> None:
    app.environ = {}
    assert_error(vmtk("--guest-password-env", "NOPE", "guest", "ps", vmx), "NOPE")


def test_on_a_terminal_without_a_variable_the_password_is_prompted_hidden(
    app: App, vmtk: Vmtk, running_vmx: str
) -> None:
    app.environ, app.interactive = {}, lambda: True
    result = assert_ok(vmtk("guest", "ps", running_vmx, input="c1oudc0w\n"))
    assert "Guest password" in result.stderr and "c1oudc0w" not in result.stdout + result.stderr


def test_off_a_terminal_a_missing_password_is_one_error_naming_the_variable(
    app: App, vmtk: Vmtk, running_vmx: str
) -> None:
    app.environ = {}  # CliRunner's stdin is not a terminal: nobody could answer a prompt
    line = assert_error(vmtk("guest", "ps", running_vmx, input="c1oudc0w\n"), "VMTK_GUEST_PASSWORD")
    assert "Guest password" not in line


def test_waiting_for_tools_needs_no_password(app: App, vmtk: Vmtk, running_vmx: str) -> None:
    app.environ = {}
    assert_ok(vmtk("guest", "wait", running_vmx))


def test_vmtk_verbose_variable_turns_on_debug_and_tracebacks(vmtk: Vmtk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = vmtk("vm", "start", str(tmp_path / "missing.vmx"), env={"VMTK_VERBOSE": "2"})
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("Error: ")
    assert logging.getLogger().level == logging.DEBUG


@pytest.mark.real_process
def test_starting_vmtk_does_not_load_the_simulator() -> None:
    # Every vmtk command pays for what the CLI imports at start-up; the simulator's host model
    # (and pycdlib under it) is for `vmtk sim` and the demo only.
    code = "import sys, vmtk_cli.main; print('vmtk_sim.host' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "soon"])
@pytest.mark.parametrize(
    "argv",
    [
        ("guest", "run", "--timeout", "{}", "x.vmx", "/bin/true"),
        ("guest", "wait", "x.vmx", "--timeout", "{}"),
        ("vm", "ip", "x.vmx", "--wait", "{}"),
        ("bootstrap", "x.vmx", "--script", "-", "--max-wait", "{}"),
    ],
)
def test_a_duration_that_is_not_finite_and_non_negative_is_a_usage_error(
    vmtk: Vmtk,
    argv: tuple[str, ...],
    value: str,
) -> None:
    # A wait that never ends is what a timeout exists to prevent: refused before anything runs.
    result = vmtk(*(a.format(value) for a in argv))
    assert result.exit_code == 2, result.output
    assert "number of seconds" in result.stderr


@pytest.mark.real_process
def test_a_reader_that_went_away_ends_vmtk_quietly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `vmtk ... | head`: stdout's reader is gone before vmtk writes, so the write fails with EPIPE.
    read_end, write_end = os.pipe()
    os.close(read_end)
    vmtk_bin = str(Path(sys.executable).with_name("vmtk"))
    try:
        vmx = Path(__file__).resolve().parents[2] / "fixtures" / "vmx" / "bosh-cpi-vm.vmx"
        done = subprocess.run(
            [vmtk_bin, "vmx", "get", str(vmx), "displayName"], stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert done.returncode != 0  # it could not deliver its output...
    assert b"Error" not in done.stderr and b"Traceback" not in done.stderr, done.stderr  # ...and says nothing
