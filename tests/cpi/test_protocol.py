"""The CPI's JSON layer without a VMware host: envelope, errors, CIDs, config, arguments."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cpi import errors
from cpi.config import CpiConfig
from cpi.dispatch import METHODS, dispatch
from cpi.ids import DiskCid, StemcellCid, VmCid
from cpi.protocol import ApiVersion, Request, Response
from toolkit import errors as tk

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
KNOWN_TYPES = {
    "Bosh::Clouds::CpiError",
    "Bosh::Clouds::NotSupported",
    "Bosh::Clouds::NotImplemented",
    "Bosh::Clouds::CloudError",
    "Bosh::Clouds::VMNotFound",
    "Bosh::Clouds::NetworkNotFound",
    "Bosh::Clouds::NoDiskSpace",
    "Bosh::Clouds::DiskNotAttached",
    "Bosh::Clouds::DiskNotFound",
    "Bosh::Clouds::VMCreationFailed",
}


def no_cloud(request: Request):  # type: ignore[no-untyped-def]
    raise AssertionError(f"{request.method} must be answered without building the cloud")


def answer(body: object) -> dict:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    response = dispatch(raw, no_cloud).to_dict()
    assert set(response) == {"result", "error", "log"} and isinstance(response["log"], str)
    return response


def assert_error(response: dict, bosh_type: str, *fragments: str) -> None:
    error = response["error"]
    assert response["result"] is None and error["type"] == bosh_type, error
    assert isinstance(error["ok_to_retry"], bool)
    for fragment in fragments:
        assert fragment in error["message"]


# --- envelope ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, 1, 2])
def test_info_answers_v2_and_formats_whatever_the_callers_version(version: int | None) -> None:
    body: dict = {"method": "info", "arguments": [], "context": {"director_uuid": "d"}}
    if version is not None:
        body["api_version"] = version
    response = answer(body)
    assert response["error"] is None
    assert response["result"] == {"api_version": 2, "stemcell_formats": ["vsphere-ovf", "vsphere-ova", "general-ovf"]}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "Must provide valid JSON payload"),
        (b"[1, 2]", "expected an object"),
        (b'{"method": "info"}', "Must provide 'arguments' key"),
        (b'{"arguments": []}', "Must provide 'method' key"),
        (b'{"method": "info", "arguments": {}}', "'arguments'"),
        (b'{"method": "info", "arguments": [], "api_version": "2"}', "api_version"),
        (b'{"method": "info", "arguments": [], "context": []}', "context"),
        (b"\xff\xfe", "valid JSON"),
    ],
)
def test_malformed_requests_are_cpi_errors(raw: bytes, fragment: str) -> None:
    assert_error(answer(raw), "Bosh::Clouds::CpiError", fragment)


def test_a_huge_unknown_method_name_is_echoed_truncated_in_the_message_and_the_log() -> None:
    name = "x" * 80 + "y" * 1_000_000
    response = answer({"method": name, "arguments": []})
    assert_error(response, "Bosh::Clouds::NotImplemented", "'" + "x" * 80 + "…'")
    assert "y" not in response["error"]["message"] and len(response["error"]["message"]) < 200
    assert "y" not in response["log"] and len(response["log"]) < 2_000


@given(name=st.text(alphabet=string.ascii_letters + string.digits + "_-.:/é€", min_size=60, max_size=120))
@settings(max_examples=60, deadline=None)
def test_an_unknown_method_name_is_shown_whole_up_to_80_characters_then_cut(name: str) -> None:
    assume(name not in METHODS and name not in ("info", "configure_networks"))
    message = answer({"method": name, "arguments": []})["error"]["message"]
    shown = name if len(name) <= 80 else name[:80] + "…"
    assert message.endswith(f"Unknown method '{shown}'")


def test_log_lines_say_when_how_bad_and_which_module() -> None:
    first = answer({"method": "no_such_method", "arguments": []})["log"].splitlines()[0]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO cpi\.dispatch: no_such_method request_id=.*", first
    ), first


def test_a_failure_puts_its_cause_chain_in_the_response_log_and_its_traceback_only_on_stderr(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(request: Request):  # type: ignore[no-untyped-def]
        try:
            raise OSError("disk on fire")
        except OSError as exc:
            raise errors.CloudError("Opening the store") from exc

    body = {"method": "has_vm", "arguments": [str(VmCid.new())]}
    response = dispatch(json.dumps(body), broken).to_dict()
    assert_error(response, "Bosh::Clouds::CloudError", "Opening the store: disk on fire")
    assert "has_vm failed: Opening the store: disk on fire" in response["log"]
    assert "Traceback" not in response["log"]  # the response is on stdout, into the task log
    failed = [r for r in caplog.records if r.getMessage().startswith("has_vm failed")]
    assert failed and failed[0].exc_info is not None  # the stderr handler renders the traceback


def test_unknown_method_is_not_implemented_and_configure_networks_not_supported() -> None:
    assert_error(
        answer({"method": "create_network", "arguments": []}), "Bosh::Clouds::NotImplemented", "create_network"
    )
    # NotSupported makes the Director recreate the VM instead (contract §2.20).
    assert_error(answer({"method": "configure_networks", "arguments": ["vm", {}]}), "Bosh::Clouds::NotSupported")


@pytest.mark.parametrize(
    ("method", "arguments", "fragment"),
    [
        ("create_vm", ["agent"], "'stemcell_cid'"),
        ("has_vm", [], "'vm_cid'"),
        ("has_vm", ["a", "b"], "too many"),
        ("info", ["extra"], "too many"),
    ],
)
def test_wrong_arity_names_the_argument_before_anything_is_built(method: str, arguments: list, fragment: str) -> None:
    assert_error(answer({"method": method, "arguments": arguments}), "Bosh::Clouds::CpiError", fragment)


def test_api_version_top_level_wins_then_stemcell_context_then_v1() -> None:
    def version(body: dict) -> ApiVersion:
        return Request.parse(json.dumps({"method": "m", "arguments": [], **body})).api_version

    stemcell_v3 = {"vm": {"stemcell": {"api_version": 3}}}
    assert version({}) is ApiVersion.V1
    assert version({"context": stemcell_v3}) is ApiVersion.V2
    assert version({"api_version": 1, "context": stemcell_v3}) is ApiVersion.V1
    assert version({"api_version": 3}) is ApiVersion.V2


def test_response_of_an_error_has_null_result() -> None:
    failure = errors.DiskNotAttached("Disk 'd' is not attached to VM 'v'")
    assert Response(result="ignored", error=failure).to_dict() == {
        "result": None,
        "error": {
            "type": "Bosh::Clouds::DiskNotAttached",
            "message": "Disk 'd' is not attached to VM 'v'",
            "ok_to_retry": True,
        },
        "log": "",
    }


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_any_input_yields_exactly_one_well_formed_response(raw: bytes) -> None:
    response = dispatch(raw, no_cloud).to_dict()
    json.loads(json.dumps(response))
    assert set(response) == {"result", "error", "log"}
    if response["error"] is not None:
        assert response["error"]["type"] in KNOWN_TYPES
        assert isinstance(response["error"]["message"], str) and isinstance(response["error"]["ok_to_retry"], bool)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "bosh_type"),
    [
        (tk.VmNotFoundError("The virtual machine cannot be found"), "Bosh::Clouds::VMNotFound"),
        (tk.NotSupportedError("not supported on Player"), "Bosh::Clouds::NotSupported"),
        (tk.ConfigError(["a", "b"]), "Bosh::Clouds::CpiError"),
        (tk.VmrunError("Error: Unknown error"), "Bosh::Clouds::CloudError"),
        (tk.DiskError("bad grain"), "Bosh::Clouds::CloudError"),
        (ValueError("boom"), "Bosh::Clouds::CloudError"),
        (errors.DiskNotFound("x"), "Bosh::Clouds::DiskNotFound"),
        (errors.NoDiskSpace("x"), "Bosh::Clouds::NoDiskSpace"),
    ],
)
def test_every_error_maps_to_a_type_the_director_knows(exc: Exception, bosh_type: str) -> None:
    assert errors.translate(exc).bosh_type == bosh_type
    assert bosh_type in KNOWN_TYPES


def raise_chain() -> None:
    try:
        try:
            raise tk.VmrunError(
                "Error: The operation was canceled", verb="start", argv=("vmrun", "start", "/s/vm-1.vmx"), exit_code=255
            )
        except tk.VmrunError as exc:
            raise errors.CloudError("Starting '/s/vm-1.vmx'") from exc
    except errors.CloudError as exc:
        raise errors.VmCreationFailed("Creating VM for agent 'a1'", ok_to_retry=True) from exc


def test_chain_renders_as_one_line_and_outermost_specific_type_wins() -> None:
    with pytest.raises(errors.VmCreationFailed) as caught:
        raise_chain()
    failure = errors.translate(caught.value)
    assert failure.bosh_type == "Bosh::Clouds::VMCreationFailed" and failure.ok_to_retry is True
    assert failure.message.startswith(
        "Creating VM for agent 'a1': Starting '/s/vm-1.vmx': Error: The operation was canceled"
    )
    assert "\n" not in failure.message and "Exit code: 255" in failure.message


def test_specific_cause_wins_over_generic_context() -> None:
    try:
        try:
            raise tk.VmNotFoundError("cannot be found")
        except tk.VmNotFoundError as exc:
            raise errors.CloudError("Rebooting VM 'v'") from exc
    except errors.CloudError as exc:
        assert errors.translate(exc).bosh_type == "Bosh::Clouds::VMNotFound"


# --- CIDs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "a\\b", "..", "a\x00b", "tab\t", "é", "a" * 129, 5, None])
def test_hostile_cids_are_rejected_before_any_path_is_built(bad: object) -> None:
    with pytest.raises(errors.CpiError):
        VmCid.parse(bad, argument="vm_cid")
    if isinstance(bad, str):
        response = answer({"method": "has_vm", "arguments": [bad]})
        assert_error(response, "Bosh::Clouds::CpiError")


@given(st.uuids())
def test_cids_round_trip_and_name_their_files(value: object) -> None:
    text = str(value)
    for kind, prefix in ((VmCid, "vm-"), (DiskCid, "disk-"), (StemcellCid, "cs-")):
        cid = kind.parse(text)
        assert str(cid) == text and cid.name == prefix + text
        assert kind.from_name(cid.name) == cid


@pytest.mark.parametrize("name", ["vm-", "vm-a/b", "vm-..", "cs-" + "a" * 40, "disk-x", "VM-x", "x"])
def test_names_claiming_no_vm_cid_give_none(name: str) -> None:
    assert VmCid.from_name(name) is None


def test_new_cids_are_unique_bare_uuids() -> None:
    cids = {str(VmCid.new()) for _ in range(200)}
    assert len(cids) == 200 and all(len(c) == 36 and not c.startswith("vm-") for c in cids)


# --- config ----------------------------------------------------------------------------------


def test_reference_config_loads_with_defaults() -> None:
    config = CpiConfig.from_json((FIXTURES / "cpi_config.json").read_bytes())
    assert config.vm_store_path.endswith("/state/vmrun/vms")
    assert config.vmrun_bin_path.endswith("Contents/Library/vmrun")
    assert config.ovftool_bin_path and config.vdiskmanager_bin_path
    assert config.vm_start_max_wait_seconds == 600 and config.vm_soft_shutdown_max_wait_seconds == 30
    assert config.agent.mbus == "https://mbus:mbuspassword@0.0.0.0:6868"
    assert config.agent.ntp[0] == "time1.google.com"
    assert "mbuspassword" not in repr(config)


def test_config_lists_every_problem_at_once() -> None:
    raw = {
        "cloud": {
            "properties": {
                "agent": {"ntp": "x"},
                "vmrun": {
                    "vmrun_bin_path": 3,
                    "vm_start_max_wait_seconds": -1,
                    "enable_human_readable_name": "yes",
                    "ssh_tunnel": {"host": "h", "port": "x"},
                },
            }
        }
    }
    with pytest.raises(tk.ConfigError) as caught:
        CpiConfig.from_mapping(raw)
    text = str(caught.value)
    for fragment in (
        "vm_store_path is required",
        "vmrun_bin_path must be a string",
        "vm_start_max_wait_seconds",
        "enable_human_readable_name",
        "agent.mbus is required",
        "agent.ntp",
        "ssh_tunnel",
    ):
        assert fragment in text, fragment


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_a_config_number_that_is_not_finite_is_refused(number: str) -> None:
    # A NaN vmrun timeout would mean no timeout at all.
    text = (FIXTURES / "cpi_config.json").read_text()
    text = text.replace('"vmrun_bin_path":', f'"vmrun_timeout_seconds":{number},"vmrun_bin_path":', 1)
    assert number in text
    with pytest.raises(tk.ConfigError, match="not valid JSON"):
        CpiConfig.from_json(text)


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_a_request_number_that_is_not_finite_is_a_cpi_error_before_any_work(number: str) -> None:
    # bootstrap.max_wait_seconds: NaN used to pass validation and make create_vm wait for ever.
    raw = (
        '{"method": "create_vm", "arguments": ["a", "s", {"bootstrap": {"max_wait_seconds": NUMBER}}, {}, [], {}],'
        ' "context": {}}'.replace("NUMBER", number)
    )
    assert_error(answer(raw), "Bosh::Clouds::CpiError", "Must provide valid JSON payload")


def test_config_errors_reach_bosh_as_cpi_error() -> None:
    def build(request: Request):  # type: ignore[no-untyped-def]
        return CpiConfig.from_json(b"{}")

    response = dispatch(json.dumps({"method": "has_vm", "arguments": ["x"]}), build).to_dict()
    assert_error(response, "Bosh::Clouds::CpiError", "cloud must be an object")


@pytest.mark.parametrize(
    ("store", "tunnel", "ok"),
    [
        ("store", None, False),
        ("/Users/me/Virtual Machines.localized/bosh", None, True),
        ("C:\\vms\\bosh", {"platform": "windows"}, True),
        ("/vms/bosh", {"platform": "windows"}, False),
        ("vms\\bosh", {"platform": "windows"}, False),
    ],
)
def test_store_paths_must_be_absolute_in_the_hosts_flavour(store: str, tunnel: dict | None, ok: bool) -> None:
    vmrun: dict[str, object] = {"vm_store_path": store, "vmrun_bin_path": "vmrun"}
    if tunnel is not None:
        vmrun["ssh_tunnel"] = {"host": "h", "username": "u", "private_key": "k", **tunnel}
    raw = {"cloud": {"properties": {"agent": {"mbus": "https://m:p@0.0.0.0:6868"}, "vmrun": vmrun}}}
    if ok:
        assert CpiConfig.from_mapping(raw).vm_store_path == store
    else:
        with pytest.raises(tk.ConfigError, match="vm_store_path must be an absolute path"):
            CpiConfig.from_mapping(raw)
