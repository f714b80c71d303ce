"""Every vmrun string the simulator prints equals the real output captured in fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmtk_sim import messages as msg
from vmtk_sim.knobs import Platform
from vmtk_sim.vmrun_model import render

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "vmrun"
WEB = r"C:\vms\web\web.vmx"

CAPTURED = {
    "already-running.txt": msg.ALREADY_RUNNING,
    "anonymous-guest.txt": msg.ANONYMOUS,
    "cancelled.txt": msg.CANCELED,
    "cannot-be-found.txt": msg.CANNOT_BE_FOUND.format(vmx=r"C:\vms\missing\missing.vmx"),
    "cannot-read-config.txt": msg.CANNOT_READ_CONFIG.format(vmx=r"C:\vms\broken\broken.vmx"),
    "checktoolsstate-unknown.txt": "unknown",
    "clone-invalid-snapshot.txt": msg.SNAPSHOT_INVALID.format(name="nope"),
    "clone-state-unchanged.txt": msg.STATE_UNCHANGED,
    "dir-exists.txt": msg.DIR_EXISTS,
    "dir-not-exists.txt": msg.DIR_NOT_EXISTS,
    "file-exists.txt": msg.FILE_EXISTS,
    "file-not-exists.txt": msg.FILE_NOT_EXISTS,
    "fusion-player-type.txt": msg.INVALID_HOST_TYPE.format(host_type="player"),
    "getguestip-noip.txt": msg.NO_IP,
    "guest-bad-login.txt": msg.BAD_LOGIN,
    "guest-exit-nonzero.txt": msg.GUEST_EXIT_NONZERO.format(code=3),
    "guest-file-not-found.txt": msg.FILE_NOT_FOUND,
    "in-use.txt": msg.IN_USE,
    "list-empty.txt": msg.LIST_HEADER.format(count=0),
    "listsnapshots-empty.txt": msg.SNAPSHOTS_HEADER.format(count=0),
    "not-powered-on.txt": msg.NOT_POWERED_ON.format(vmx=WEB),
    "not-supported.txt": msg.NOT_SUPPORTED,
    "paused.txt": msg.PAUSED.format(vmx=WEB),
    "player-only-host-ws.txt": msg.SERVICE_NOT_INSTALLED.format(service="WORKSTATION"),
    "player-snapshot.txt": msg.NOT_SUPPORTED,
    "snapshot-exists.txt": msg.SNAPSHOT_EXISTS,
    "snapshot-missing.txt": msg.SNAPSHOT_MISSING,
    "tools-not-running.txt": msg.TOOLS_NOT_RUNNING.format(vmx=WEB),
    "list-running.txt": "\n".join([msg.LIST_HEADER.format(count=1), WEB]),
    "listsnapshots-tree.txt": "\n".join([msg.SNAPSHOTS_HEADER.format(count=3), "s1", "\ts2 with space", "\t\ts3"]),
    "processes-windows.txt": "\n".join(
        [
            msg.PROCESS_HEADER.format(count=3),
            msg.PROCESS_LINE.format(pid=4, owner=r"NT AUTHORITY\SYSTEM", cmd="System"),
            msg.PROCESS_LINE.format(
                pid=4120,
                owner=r"WIN\Administrator",
                cmd=r'"C:\Windows\System32\cmd.exe" /c C:\WINDOWS\TEMP\VMH-X.CMD >x.out 2>x.err',
            ),
            msg.PROCESS_LINE.format(pid=4188, owner=r"WIN\Administrator", cmd=r"C:\tools\long.exe"),
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_each_message_prints_exactly_the_captured_output(name: str) -> None:
    assert render(CAPTURED[name], Platform.LINUX) == (OUTPUTS / name).read_text(encoding="utf-8")


def test_every_captured_vmrun_output_that_the_simulator_can_print_is_checked() -> None:
    # Outputs the simulator never prints: other products' quirks and host-level failures.
    never = {
        "encrypted-wrong-pw.txt",
        "host-transient.txt",
        "host-version.txt",
        "getguestip-ok.txt",
        "listsnapshots-flat.vmctl.txt",
        "processes-linux.mech.txt",
    }
    assert {p.name for p in OUTPUTS.glob("*.txt")} - never == set(CAPTURED)


def test_windows_hosts_print_crlf() -> None:
    assert render(msg.LIST_HEADER.format(count=0), Platform.WINDOWS) == "Total running VMs: 0\r\n"


def test_help_starts_with_an_empty_line_then_the_version() -> None:
    assert msg.HELP.splitlines()[:2] == ["", "vmrun version 1.17.0 build-24583834"]
    assert "(ws|fusion||player)" in msg.HELP
