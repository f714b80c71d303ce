"""Secrets never leave the files meant to hold them.

Guest passwords (the bootstrap ``password``, right and wrong), the mbus
credentials, a blobstore password and an SSH private key are fed to the CPI
through a lifecycle with failures on the way; then EVERYTHING the run produced
is scanned: every response (result, error, log), every log record as stderr
would show it (tracebacks included), every file in the store and the
simulator's home except the ones that legitimately hold them (``env.json`` and
``env.iso``: the agent's settings; ``sim.json``: the simulated guest account).
Settings files are checked to be created 0600.
"""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cpi.config import CpiConfig
from tests.cpi.conftest import MANUAL, STEMCELL_CDROM, Cpi
from toolkit.errors import ConfigError
from vmtk_sim import SimHost

pytestmark = pytest.mark.real_process  # bootstrap scripts really run (sandboxed) in the simulated guest

MBUS_PW = "mbusPw-7Hq2xZ"
GUEST_PW = "guestPw-Lk93vQ"
WRONG_PW = "wrongPw-Zz81pA"
BLOB_PW = "blobPw-Rt55mN"
KEY_LINE = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW-SECRET"
PRIVATE_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_LINE}\n-----END OPENSSH PRIVATE KEY-----\n"
SECRETS = (MBUS_PW, GUEST_PW, WRONG_PW, BLOB_PW, KEY_LINE)
HOLDERS = {"env.json", "env.iso", "sim.json"}  # files whose job is to hold a secret


def config_mapping(store: Path, vmrun_bin: str = "vmrun-sim") -> dict[str, Any]:
    return {
        "cloud": {
            "properties": {
                "agent": {
                    "mbus": f"https://mbus:{MBUS_PW}@0.0.0.0:6868",
                    "ntp": [],
                    "blobstore": {"provider": "dav", "options": {"user": "agent", "password": BLOB_PW}},
                },
                "vmrun": {
                    "vm_store_path": str(store),
                    "vmrun_bin_path": vmrun_bin,
                    "vm_start_max_wait_seconds": 60,
                    "vm_soft_shutdown_max_wait_seconds": 5,
                    # Parsed (and so able to leak) though the in-process runner never connects.
                    "ssh_tunnel": {"host": "", "username": "u", "private_key": PRIVATE_KEY},
                },
            }
        }
    }


def bootstrap(password: str, script: str = "echo ok\n") -> dict[str, Any]:
    return {
        "disk": 64,
        "bootstrap": {
            "script_content": script,
            "script_path": "/tmp/b.sh",
            "interpreter_path": "/bin/sh",
            "username": "vcap",
            "password": password,
            "ready_process_name": "bosh-agent",
            "max_wait_seconds": 30,
        },
    }


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def scan_tree(*roots: Path) -> dict[str, list[str]]:
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name not in HOLDERS and path.suffix != ".vmdk":
                hits = leaked(path.read_bytes().decode("latin-1"))
                if hits:
                    found[str(path)] = hits
    return found


@pytest.fixture
def secret_cpi(make_cpi, tmp_path: Path) -> Cpi:  # type: ignore[no-untyped-def]
    cpi = make_cpi()
    cpi.config = CpiConfig.from_mapping(config_mapping(cpi.store))
    cpi.host.configure(guest_password=GUEST_PW)
    return cpi


def test_no_secret_in_responses_logs_or_files(secret_cpi: Cpi, caplog: pytest.LogCaptureFixture) -> None:
    cpi = secret_cpi
    caplog.set_level(logging.DEBUG)
    stemcell = cpi.new_stemcell()
    responses = [cpi.raw("create_vm", "a1", stemcell, bootstrap(GUEST_PW), MANUAL, [], {})]
    vm = responses[0]["result"][0]
    responses.append(cpi.raw("create_vm", "a2", stemcell, bootstrap(WRONG_PW), MANUAL, [], {}))
    responses.append(cpi.raw("create_vm", "a3", stemcell, bootstrap(GUEST_PW, "echo no >&2; exit 4\n"), MANUAL, [], {}))
    cpi.fail_next("runScriptInGuest", "Error: The operation was canceled")
    cpi.fail_next("runProgramInGuest", "Error: The operation was canceled")
    responses.append(cpi.raw("create_vm", "a4", stemcell, bootstrap(GUEST_PW), MANUAL, [], {}))
    disk = cpi("create_disk", 64, {}, vm)
    cpi.fail_next("start", "Error: The operation was canceled")
    responses += [cpi.raw("attach_disk", vm, disk), cpi.raw("attach_disk", vm, disk), cpi.raw("detach_disk", vm, disk)]
    responses += [cpi.raw("delete_vm", vm), cpi.raw("delete_disk", disk)]
    failures = [r["error"]["message"] for r in responses if r["error"]]
    assert len(failures) >= 3, failures  # the failure paths really ran
    assert "exited with code 4" in "".join(failures)
    stderr = "\n".join(logging.Formatter("%(name)s: %(message)s").format(r) for r in caplog.records)
    assert "Traceback" in stderr  # tracebacks were rendered, and scanned
    assert leaked(json.dumps(responses)) == []
    assert leaked(stderr) == []
    assert scan_tree(cpi.store, cpi.host.home.root) == {}


def test_settings_are_created_0600_and_stay_so(secret_cpi: Cpi) -> None:
    cpi = secret_cpi
    vm, _ = cpi("create_vm", "a1", cpi.new_stemcell(), {"disk": 64}, MANUAL, [], {})
    settings = [cpi.vm_dir(vm) / "env.json", cpi.vm_dir(vm) / "env.iso"]
    assert [stat.S_IMODE(p.stat().st_mode) for p in settings] == [0o600, 0o600]
    assert MBUS_PW in settings[0].read_text()  # the agent needs it: these are the holders
    cpi("attach_disk", vm, cpi("create_disk", 64, {}, vm))
    assert [stat.S_IMODE(p.stat().st_mode) for p in settings] == [0o600, 0o600]


def test_config_errors_never_echo_the_private_key_or_mbus() -> None:
    raw = config_mapping(Path("/s"))
    raw["cloud"]["properties"]["vmrun"]["ssh_tunnel"] = {"host": "h", "private_key": PRIVATE_KEY, "port": "x"}
    raw["cloud"]["properties"]["agent"]["ntp"] = "not a list"
    with pytest.raises(ConfigError) as caught:
        CpiConfig.from_mapping(raw)
    assert "ssh_tunnel" in str(caught.value) and "ntp" in str(caught.value)
    assert leaked(str(caught.value)) == []
    good = CpiConfig.from_mapping(config_mapping(Path("/s")))
    assert leaked(repr(good)) == []


@pytest.mark.slow
def test_no_secret_on_the_executables_stdout_or_stderr(tmp_path: Path) -> None:
    home, store = tmp_path / "sim", tmp_path / "store"
    SimHost(home).configure(boot_delay=0, guest_password=GUEST_PW)
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps(config_mapping(store, str(Path(sys.executable).with_name("vmrun-sim")))))
    stemcell = "5a5a5a5a-0000-4000-8000-0000000000aa"
    with open(SimHost(home).make_vm(str(store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx")), "a", encoding="utf-8") as f:
        f.write(STEMCELL_CDROM)
    outputs = []
    for password in (GUEST_PW, WRONG_PW):
        request = {"method": "create_vm", "arguments": ["a", stemcell, bootstrap(password), MANUAL, [], {}]}
        done = subprocess.run(
            [str(Path(sys.executable).with_name("bosh-vmrun-cpi")), str(config)],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=120,
            check=False,
            env={"VMRUN_SIM_HOME": str(home), "PATH": "/usr/bin:/bin"},
        )
        outputs.append(done.stdout.decode() + done.stderr.decode())
    assert '"error": null' in outputs[0] and "Bosh::Clouds::VMCreationFailed" in outputs[1]
    assert [leaked(o) for o in outputs] == [[], []]
    assert scan_tree(store, home) == {}
