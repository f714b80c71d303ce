"""The ovftool driver: output parsing against real captures, and imports through the simulated host."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import OvftoolError
from toolkit.host.clock import FakeClock
from toolkit.vmware.ovftool import Ovftool, _ProgressFeed, parse_import_output
from vmtk_sim import SimHost

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
OUTPUTS = FIXTURES / "outputs" / "ovftool"


def _output(name: str) -> str:
    return (OUTPUTS / name).read_bytes().decode()  # keep the CRs of the progress line


def test_a_successful_import_reads_as_ok_with_its_progress() -> None:
    result = parse_import_output(_output("import.txt"))
    assert result.ok and result.errors == () and result.progress == (1, 96, 97, 99)


def test_lax_warnings_are_collected() -> None:
    result = parse_import_output(_output("import-lax.txt"))
    assert result.ok and result.warnings == (
        "Line 25: Unsupported hardware family 'virtualbox-2.2'.",
        "No manifest entry found for: 'CentosTest-disk1.vmdk'.",
        "No manifest file found.",
    )


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("import-exists.txt", "Target already exists: app.vmx"),
        (
            "import-bad-family.txt",
            "OVF Package is not supported by target: Line 25: Unsupported hardware family 'virtualbox-2.2'.",
        ),
    ],
)
def test_failures_carry_the_tools_message(name: str, error: str) -> None:
    result = parse_import_output(_output(name))
    assert not result.ok and result.errors == (error,)


def test_progress_survives_any_chunking() -> None:
    text = _output("import.txt")
    for size in (1, 3, 7, 64):
        seen: list[int] = []
        feed = _ProgressFeed(seen.append)
        for start in range(0, len(text), size):
            feed(text[start : start + size])
        assert seen == [1, 96, 97, 99]


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    return SimHost(tmp_path / "sim", clock=FakeClock())


@pytest.fixture
def ovf(tmp_path: Path) -> Path:
    from fixtures.make_stemcell import image_files

    (tmp_path / "src").mkdir()
    for name, data in image_files().items():
        (tmp_path / "src" / name).write_bytes(data)
    return tmp_path / "src" / "image.ovf"


def _ovftool(host: SimHost) -> Ovftool:
    return Ovftool(host.runner(), "ovftool-sim", FakeClock())


def test_version_through_the_simulated_host(host: SimHost) -> None:
    assert _ovftool(host).version() == "VMware ovftool 4.6.3 (build-24031167)"
    assert host.calls()[-1]["tool"] == "ovftool"


def test_an_import_writes_the_vm_and_streams_progress(host: SimHost, ovf: Path, tmp_path: Path) -> None:
    seen: list[int] = []
    vmx = tmp_path / "vms" / "cs-1" / "cs-1.vmx"
    _ovftool(host).import_ovf(str(ovf), str(vmx), name="cs-1", on_progress=seen.append)
    assert vmx.exists() and (vmx.parent / "cs-1-disk1.vmdk").exists() and seen and seen[-1] == 99
    argv = host.calls()[-1]["argv"]
    assert argv[-2:] == [str(ovf), str(vmx)] and "--name=cs-1" in argv and "--acceptAllEulas" in argv


def test_an_existing_target_raises_with_the_message(host: SimHost, ovf: Path, tmp_path: Path) -> None:
    vmx = tmp_path / "app.vmx"
    vmx.write_text("")
    with pytest.raises(OvftoolError, match="Target already exists: app.vmx") as caught:
        _ovftool(host).import_ovf(str(ovf), str(vmx), name="app")
    assert "Completed with errors" in caught.value.output


def test_an_exit_code_without_a_message_still_fails(host: SimHost, ovf: Path, tmp_path: Path) -> None:
    host.configure(faults=[{"verb": "ovftool", "nth": 1, "output": "Segmentation fault\n", "exit_code": 139}])
    with pytest.raises(OvftoolError, match="exited with code 139"):
        _ovftool(host).import_ovf(str(ovf), str(tmp_path / "x.vmx"), name="x")


def test_a_tool_that_does_not_report_a_version_is_refused(host: SimHost) -> None:
    host.configure(faults=[{"verb": "ovftool", "nth": 1, "output": "usage: ...\n", "exit_code": 0}])
    with pytest.raises(OvftoolError, match="did not report its version"):
        _ovftool(host).version()
