from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from toolkit.host.runner import LocalRunner
from vmtk_harness import cpiprocess

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
CPI = Path(sys.executable).with_name("bosh-vmrun-cpi")


def test_request_is_one_api_v2_body() -> None:
    body = cpiprocess.request("create_disk", (1024, {}, "vm-1"), {"director_uuid": "d"})
    assert json.loads(body) == {
        "method": "create_disk",
        "arguments": [1024, {}, "vm-1"],
        "api_version": 2,
        "context": {"director_uuid": "d"},
    }


def test_answer_is_the_result_and_the_log() -> None:
    assert cpiprocess.answer("info", b'{"result": {"a": 1}, "error": null, "log": "x\\n"}') == ({"a": 1}, "x\n")
    assert cpiprocess.answer("delete_vm", '{"result": null, "error": null, "log": null}') == (None, "")


def test_an_error_response_is_raised_with_its_method_type_and_message() -> None:
    stdout = json.dumps({"result": None, "log": "", "error": {"type": "Bosh::Clouds::VMNotFound", "message": "gone"}})
    with pytest.raises(cpiprocess.CpiErrorResponse, match=r"^delete_vm: Bosh::Clouds::VMNotFound: gone$") as caught:
        cpiprocess.answer("delete_vm", stdout)
    assert caught.value.error["message"] == "gone"


def test_no_json_is_a_value_error_for_the_caller_to_word() -> None:
    with pytest.raises(ValueError):
        cpiprocess.answer("info", b"Traceback (most recent call last):\n")


@pytest.mark.real_process
def test_run_sends_one_request_to_the_executable_as_bosh_does() -> None:
    body = cpiprocess.request("info", (), {"director_uuid": "t", "request_id": "cpi-test01"})
    done = cpiprocess.run(LocalRunner(), str(CPI), REFERENCE / "cpi_config.json", body, timeout=60)
    assert done.exit_code == 0, done.stderr
    result, log = cpiprocess.answer("info", done.stdout)
    assert result["api_version"] == 2
    assert "cpi.dispatch: info request_id=cpi-test01 " in log


def test_reference_image_holds_the_ovf_the_vmdk_and_a_manifest_that_matches_them() -> None:
    with tarfile.open(fileobj=io.BytesIO(cpiprocess.reference_image(REFERENCE)), mode="r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert sorted(files) == ["image.mf", "image.ovf", "image.vmdk"]
    assert files["image.vmdk"] == (REFERENCE / "image.vmdk").read_bytes()
    assert files["image.mf"].decode().splitlines() == [
        f"SHA1({name})= {hashlib.sha1(files[name]).hexdigest()}" for name in ("image.ovf", "image.vmdk")
    ]
