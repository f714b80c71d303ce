from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from toolkit.errors import DiskError
from toolkit.host.clock import FakeClock
from toolkit.host.runner import Completed, LocalRunner
from toolkit.vmware.vdiskmanager import VDiskManager, check_answer

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "vdiskmanager"
NOISE = "VixDiskLib: Invalid configuration file parameter.  Failed to read configuration file.\n"


def answer(name: str, *, code: int = 0, stderr: str = "", crlf: bool = False) -> Completed:
    text = (OUTPUTS / name).read_text()
    return Completed(("vmware-vdiskmanager",), code, text.replace("\n", "\r\n") if crlf else text, stderr)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("create.txt", "Virtual disk creation successful."),
        ("expand.txt", "Disk expansion completed successfully."),
        ("convert.txt", "Virtual disk conversion successful."),
    ],
)
@pytest.mark.parametrize("crlf", [False, True])
def test_success_answers_give_the_tools_message(name: str, message: str, crlf: bool) -> None:
    assert check_answer(answer(name, crlf=crlf)) == message


def test_configuration_noise_on_stderr_with_exit_0_is_still_success() -> None:
    assert check_answer(answer("expand.txt", stderr=NOISE)) == "Disk expansion completed successfully."


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("create-exists.txt", "Failed to create disk: The file already exists (0xc)."),
        (
            "expand-smaller.txt",
            "Failed to expand the disk 'C:\\vms\\web\\x-conv.vmdk':"
            " One of the parameters supplied is invalid (0x3e80).",
        ),
        ("convert-not-disk.txt", "Failed to convert disk: The specified file is not a virtual disk (0x3ebf)."),
    ],
)
@pytest.mark.parametrize("code", [1, 0])
def test_failure_answers_raise_the_tools_message_whatever_the_exit_code(name: str, message: str, code: int) -> None:
    with pytest.raises(DiskError) as caught:
        check_answer(answer(name, code=code, crlf=True))
    assert str(caught.value) == message


def test_a_non_zero_exit_without_a_failure_line_names_the_exit_code_and_last_line() -> None:
    with pytest.raises(DiskError, match=r"exited with code 2: Segmentation fault"):
        check_answer(Completed(("vmware-vdiskmanager",), 2, "Creating disk 'x'\n", "Segmentation fault\n"))


def fake_tool(tmp_path: Path, fixture: str, code: int) -> Path:
    """A stand-in vmware-vdiskmanager that records its argv and prints a real answer."""
    tool = tmp_path / "vmware-vdiskmanager"
    tool.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(tmp_path / 'argv')!r}, 'w').write(repr(sys.argv[1:]))\n"
        f"sys.stdout.write(open({str(OUTPUTS / fixture)!r}).read())\n"
        f"sys.stderr.write({NOISE!r})\nsys.exit({code})\n"
    )
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return tool


@pytest.mark.real_process
def test_create_asks_for_a_single_growable_lsilogic_disk(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, "create.txt", 0)
    VDiskManager(LocalRunner(), str(tool), FakeClock()).create("/vms/d.vmdk", 2048)
    argv = (tmp_path / "argv").read_text()
    assert argv == repr(["-c", "-s", "2048MB", "-a", "lsilogic", "-t", "0", "/vms/d.vmdk"])


@pytest.mark.real_process
def test_grow_passes_the_new_size_and_reports_refusal(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, "expand-smaller.txt", 1)
    with pytest.raises(DiskError, match="One of the parameters supplied is invalid"):
        VDiskManager(LocalRunner(), str(tool), FakeClock()).grow("/vms/d.vmdk", 1024)
    assert (tmp_path / "argv").read_text() == repr(["-x", "1024MB", "/vms/d.vmdk"])
