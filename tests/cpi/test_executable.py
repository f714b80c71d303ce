"""The real ``bosh-vmrun-cpi`` executable: one JSON object on stdout, exit 0, always."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_process

EXECUTABLE = Path(sys.executable).with_name("bosh-vmrun-cpi")
SECRET = "mbus-Secret-7f3a"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cpi.json"
    path.write_text(
        json.dumps(
            {
                "cloud": {
                    "properties": {
                        "agent": {"mbus": f"https://mbus:{SECRET}@0.0.0.0:6868"},
                        "vmrun": {"vm_store_path": str(tmp_path / "store"), "vmrun_bin_path": "vmrun-sim"},
                    }
                }
            }
        )
    )
    return path


def run_cpi(stdin: bytes, *args: str) -> tuple[dict, str]:
    command = [str(EXECUTABLE)] if EXECUTABLE.exists() else [sys.executable, "-m", "cpi"]
    done = subprocess.run([*command, *args], input=stdin, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1, done.stdout  # exactly one JSON document, nothing else
    response = json.loads(lines[0])
    assert set(response) == {"result", "error", "log"} and isinstance(response["log"], str)
    return response, done.stderr.decode()


def test_info_through_the_executable(config: Path) -> None:
    request = {"method": "info", "arguments": [], "context": {"director_uuid": "d", "request_id": "cpi-123456"}}
    response, stderr = run_cpi(json.dumps(request).encode(), str(config))
    assert response["error"] is None and response["result"]["api_version"] == 2
    assert "cpi-123456" in stderr  # the request id reaches the task's CPI log
    assert SECRET not in stderr + json.dumps(response)


@pytest.mark.parametrize("stdin", [b"", b"{not json", b"\x00\xff" * 10, b'{"method": "info"}'])
def test_malformed_stdin_is_a_cpi_error_with_exit_0(config: Path, stdin: bytes) -> None:
    response, _ = run_cpi(stdin, str(config))
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"


@pytest.mark.parametrize("args", [(), ("/no/such/config.json",), ("a", "b", "c")])
def test_bad_command_line_or_config_path_is_a_cpi_error(args: tuple[str, ...]) -> None:
    response, _ = run_cpi(b'{"method":"info","arguments":[]}', *args)
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"


def test_reference_job_template_flag_is_accepted(config: Path) -> None:
    response, _ = run_cpi(b'{"method":"info","arguments":[]}', "-configPath", str(config))
    assert response["error"] is None


@pytest.mark.parametrize("tunnel", [False, True], ids=["local", "ssh_tunnel"])
def test_info_loads_no_driver_and_starts_no_program(config: Path, tunnel: bool) -> None:
    if tunnel:  # a remote host configured: info must still not load paramiko (~95 ms) nor connect
        raw = json.loads(config.read_text())
        raw["cloud"]["properties"]["vmrun"]["ssh_tunnel"] = {"host": "h", "username": "u", "private_key": "k"}
        config.write_text(json.dumps(raw))
    probe = (
        "import sys, io, runpy; sys.argv = ['cpi', %r]; "
        'sys.stdin = io.TextIOWrapper(io.BytesIO(b\'{"method":"info","arguments":[]}\')); '
        "from cpi.__main__ import main; main(); "
        "heavy = [m for m in ('pycdlib', 'yaml', 'paramiko', 'toolkit.vmware.vmrun', 'toolkit.host.runner',"
        " 'subprocess') if m in sys.modules]; "
        "print(heavy, file=sys.stderr)"
    ).replace("%r", repr(str(config)))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_lifecycle_through_the_executable_against_vmrun_sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.cpi.conftest import ENV, MANUAL, STEMCELL_CDROM
    from vmtk_sim import SimHost

    home = tmp_path / "sim"
    SimHost(home).configure(boot_delay=0)
    monkeypatch.setenv("VMRUN_SIM_HOME", str(home))
    store = tmp_path / "store"
    config = tmp_path / "cpi.json"
    config.write_text(
        json.dumps(
            {
                "cloud": {
                    "properties": {
                        "agent": {"mbus": f"https://mbus:{SECRET}@0.0.0.0:6868"},
                        "vmrun": {
                            "vm_store_path": str(store),
                            "vmrun_bin_path": str(EXECUTABLE.with_name("vmrun-sim")),
                        },
                    }
                }
            }
        )
    )
    stemcell = "5a5a5a5a-0000-4000-8000-000000000001"
    template = SimHost(home).make_vm(str(store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx"))
    with open(template, "a", encoding="utf-8") as handle:
        handle.write(STEMCELL_CDROM)

    def call(method: str, *args: object) -> object:
        body = {"method": method, "arguments": list(args), "context": {"director_uuid": "d"}, "api_version": 2}
        response, stderr = run_cpi(json.dumps(body).encode(), str(config))
        assert response["error"] is None, (response, stderr[-2000:])
        assert SECRET not in stderr + json.dumps(response)
        return response["result"]

    vm, _networks = call("create_vm", "agent-x", stemcell, {"disk": 128}, MANUAL, [], ENV)
    assert SimHost(home).vm(str(store / f"vm-{vm}" / f"vm-{vm}.vmx")).agent.status.value == "running"
    disk = call("create_disk", 512, {}, vm)
    assert call("attach_disk", vm, disk) == "2"
    call("detach_disk", vm, disk)
    call("delete_vm", vm)
    call("delete_disk", disk)
    call("delete_stemcell", stemcell)
    assert sorted(p.name for p in store.iterdir() if not p.name.startswith(".")) == ["disks"]


def test_a_creating_call_whose_caller_left_deletes_what_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bosh CLI runs the CPI in its own process group, so Ctrl-C ends the CLI and not the CPI:
    # create_vm runs to its end and meets a closed pipe. Nobody could ever delete that VM, so the
    # CPI does, as it would after any failure.
    from tests.cpi.conftest import ENV, MANUAL, STEMCELL_CDROM
    from vmtk_sim import SimHost

    home, store = tmp_path / "sim", tmp_path / "store"
    SimHost(home).configure(boot_delay=0)
    monkeypatch.setenv("VMRUN_SIM_HOME", str(home))
    config = tmp_path / "cpi.json"
    vmrun = str(EXECUTABLE.with_name("vmrun-sim"))
    properties = {"vmrun": {"vm_store_path": str(store), "vmrun_bin_path": vmrun}, "agent": {"mbus": "nats://x"}}
    config.write_text(json.dumps({"cloud": {"properties": properties}}))
    stemcell = "5a5a5a5a-0000-4000-8000-000000000002"
    template = SimHost(home).make_vm(str(store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx"))
    with open(template, "a", encoding="utf-8") as handle:
        handle.write(STEMCELL_CDROM)
    calls = [
        ("create_vm", ["agent-gone", stemcell, {}, MANUAL, [], ENV]),
        ("create_disk", [64, {}, None]),
    ]
    for method, arguments in calls:
        body = {"method": method, "arguments": arguments, "context": {"director_uuid": "d"}, "api_version": 2}
        command = [str(EXECUTABLE)] if EXECUTABLE.exists() else [sys.executable, "-m", "cpi"]
        child = subprocess.Popen([*command, str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        child.stdout.close()  # the caller is gone before the CPI can answer
        child.communicate(json.dumps(body).encode(), timeout=120)
        assert child.returncode == 0
    assert sorted(p.name for p in store.iterdir() if p.name.startswith("vm-")) == []
    assert [p.name for p in (store / "disks").iterdir() if p.suffix == ".vmdk"] == []
    assert SimHost(home).runner().run([vmrun, "list"], timeout=60).stdout == "Total running VMs: 0\n"
