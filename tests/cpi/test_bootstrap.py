"""create_vm's bootstrap: a script run in the booted guest, output in the response log."""

from __future__ import annotations

import pytest

from tests.cpi.conftest import MANUAL, Cpi

pytestmark = pytest.mark.real_process  # guest programs really run (sandboxed) in the simulator


def bootstrap(script: str, **extra: object) -> dict:
    return {
        "disk": 256,
        "bootstrap": {
            "script_content": script,
            "script_path": "/tmp/bootstrap.sh",
            "interpreter_path": "/bin/sh",
            "username": "vcap",
            "password": "c1oudc0w",
            "ready_process_name": "bosh-agent",
            "min_wait_seconds": 1,
            "max_wait_seconds": 60,
            **extra,
        },
    }


def test_bootstrap_output_goes_to_the_log_and_the_vm_keeps_running(cpi: Cpi) -> None:
    response = cpi.raw(
        "create_vm", "agent-1", cpi.new_stemcell(), bootstrap("echo prepared-$((6*7))\n"), MANUAL, [], {}
    )
    assert response["error"] is None, response
    assert "prepared-42" in response["log"]
    assert "c1oudc0w" not in response["log"]


def test_failing_bootstrap_fails_create_vm_with_code_and_tail_and_cleans_up(cpi: Cpi) -> None:
    script = "echo step-one\necho broken >&2\nexit 3\n"
    error = cpi.error("create_vm", "agent-1", cpi.new_stemcell(), bootstrap(script), MANUAL, [], {})
    assert error["type"] == "Bosh::Clouds::VMCreationFailed"
    assert "code 3" in error["message"] and "broken" in error["message"]
    assert "c1oudc0w" not in error["message"]
    assert not [p for p in cpi.store.iterdir() if p.name.startswith("vm-")]


def test_incomplete_bootstrap_is_a_cpi_error_naming_the_keys(cpi: Cpi) -> None:
    props = {"bootstrap": {"script_content": "true", "username": "vcap"}}
    error = cpi.error("create_vm", "agent-1", cpi.new_stemcell(), props, MANUAL, [], {})
    assert error["type"] == "Bosh::Clouds::CpiError" and "bootstrap.password" in error["message"]
