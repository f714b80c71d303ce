"""Bad input: fuzzed requests, hostile CIDs and malformed .vmx files always get one clear answer.

Requests go through the real entry point, ``cpi.__main__.main``, in-process
(stdin and stdout swapped for buffers): whatever the bytes, exactly one JSON
object comes out, exit status 0, a type the Director knows, no traceback. The
store the config points at is checked untouched where nothing valid was asked.
"""

from __future__ import annotations

import io
import json
import string
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpi.__main__ import main
from cpi.dispatch import METHODS
from tests.cpi.conftest import MANUAL, Cpi
from toolkit.errors import VmxError
from toolkit.vmware.vmx import Vmx

# bosh director external_cpi.rb KNOWN_RPC_ERRORS: anything else is "Unknown CPI error".
KNOWN_TYPES = {
    "Bosh::Clouds::CpiError",
    "Bosh::Clouds::NotSupported",
    "Bosh::Clouds::NotImplemented",
    "Bosh::Clouds::CloudError",
    "Bosh::Clouds::VMNotFound",
    "Bosh::Clouds::DiskNotFound",
    "Bosh::Clouds::DiskNotAttached",
    "Bosh::Clouds::NoDiskSpace",
    "Bosh::Clouds::VMCreationFailed",
}
UUID = "0b1c2d3e-aaaa-4bbb-8ccc-000000000001"
HOSTILE_CIDS = [
    "../etc",
    "..",
    "a/b",
    "/abs",
    "a\\b",
    "..\\..\\x",
    "vm\x00",
    "a\nb",
    "\x1b[31m",
    "",
    " ",
    "é",
    UUID + "/../../x",
    "cs-" + "a" * 200,
]
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def call_main(stdin: bytes, *args: str) -> tuple[int, str]:
    """Run the executable's ``main`` in-process on ``stdin``; its exit code and stdout."""
    saved = sys.stdin, sys.stdout
    out = io.StringIO()
    sys.stdin, sys.stdout = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"), out
    try:
        code = main(list(args))
    finally:
        sys.stdin, sys.stdout = saved
    return code, out.getvalue()


def one_response(code: int, stdout: str) -> dict[str, Any]:
    assert code == 0
    assert "Traceback" not in stdout
    lines = stdout.splitlines()
    assert len(lines) == 1 and stdout.endswith("\n"), stdout[:500]
    response = json.loads(lines[0])
    assert set(response) == {"result", "error", "log"} and isinstance(response["log"], str)
    if response["error"] is not None:
        assert response["result"] is None
        assert response["error"]["type"] in KNOWN_TYPES, response["error"]
        assert isinstance(response["error"]["message"], str) and response["error"]["message"]
    return response


def tree(root: Path) -> dict[str, bytes]:
    return (
        {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        if root.exists()
        else {}
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("badinput")
    path = root / "cpi.json"
    path.write_text(
        json.dumps(
            {
                "cloud": {
                    "properties": {
                        "agent": {"mbus": "https://mbus:pw-9d1c@0.0.0.0:6868"},
                        "vmrun": {"vm_store_path": str(root / "store"), "vmrun_bin_path": "vmrun-sim"},
                    }
                }
            }
        )
    )
    return path


# --- fuzzed requests ------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from([UUID, *HOSTILE_CIDS]),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=25,
)
methods = st.sampled_from([*METHODS, "info", "configure_networks", "", "nope", "__init__"]) | json_values
requests = st.fixed_dictionaries(
    {},
    optional={
        "method": methods,
        "arguments": st.lists(json_values, max_size=8) | json_values,
        "context": json_values | st.fixed_dictionaries({"director_uuid": st.text(), "request_id": json_values}),
        "api_version": json_values,
        "unexpected": json_values,
    },
)


@FUZZ
@given(request=requests)
def test_any_request_object_gets_one_json_answer(config: Path, request: dict[str, Any]) -> None:
    # Hostile CIDs and wrong types must never reach the host: no spawn, and the conftest guard
    # would raise through main if one were attempted.
    one_response(*call_main(json.dumps(request).encode(), str(config)))


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_on_stdin_get_one_json_answer(config: Path, raw: bytes) -> None:
    response = one_response(*call_main(raw, str(config)))
    assert response["error"] is not None and response["error"]["type"] == "Bosh::Clouds::CpiError"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the JSON parser's recursion limit
        json.dumps({"method": "has_vm", "arguments": ["x" * 5_000_000]}).encode(),
        json.dumps({"method": "x" * 1_000_000, "arguments": []}).encode(),
        b'{"method": "info", "arguments": []}' + b"\xff\xfe garbage",
        b"\xef\xbb\xbf" + b'{"method": "info", "arguments": []}',  # a UTF-8 BOM
        json.dumps({"method": "create_vm", "arguments": ["\u202e\U0001f4a9", None, None, None]}).encode(),
    ],
)
def test_extreme_payloads_get_one_json_answer(config: Path, raw: bytes) -> None:
    response = one_response(*call_main(raw, str(config)))
    assert response["error"] is not None or response["result"]["api_version"] == 2


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("arguments", [None, [], [None] * 7, {"a": 1}, "string", [[]] * 3])
def test_every_method_with_wrong_arguments_is_a_cpi_error(config: Path, method: str, arguments: Any) -> None:
    before = tree(config.parent / "store")
    request = {"method": method, "arguments": arguments, "context": {"director_uuid": "d"}}
    response = one_response(*call_main(json.dumps(request).encode(), str(config)))
    assert response["error"]["type"] == "Bosh::Clouds::CpiError", response["error"]
    assert tree(config.parent / "store") == before


# --- CIDs --------------------------------------------------------------------------------

CID_ARGUMENTS = {
    "delete_stemcell": lambda c: [c],
    "delete_vm": lambda c: [c],
    "has_vm": lambda c: [c],
    "reboot_vm": lambda c: [c],
    "set_vm_metadata": lambda c: [c, {}],
    "get_disks": lambda c: [c],
    "delete_disk": lambda c: [c],
    "has_disk": lambda c: [c],
    "set_disk_metadata": lambda c: [c, {}],
    "resize_disk": lambda c: [c, 2048],
    "update_disk": lambda c: [c, 2048, {}],
    "snapshot_disk": lambda c: [c, {}],
    "delete_snapshot": lambda c: [c],
    "attach_disk": lambda c: [UUID, c],
    "detach_disk": lambda c: [c, UUID],
    "create_disk": lambda c: [10, {}, c],
    "create_vm": lambda c: ["agent", c, {}, MANUAL, [], {}],
}


def test_every_method_that_takes_a_cid_is_covered() -> None:
    takes_cid = {name for name in METHODS if name not in ("create_stemcell", "calculate_vm_cloud_properties")}
    assert set(CID_ARGUMENTS) == takes_cid


# create_disk's vm_cid is a locality hint where "" means none (the bosh CLI sends it).
REFUSED = [(m, c) for m in sorted(CID_ARGUMENTS) for c in HOSTILE_CIDS if (m, c) != ("create_disk", "")]


@pytest.mark.parametrize(("method", "cid"), REFUSED, ids=[f"{m}-{c!r}" for m, c in REFUSED])
def test_hostile_cids_are_refused_before_the_file_system(cpi: Cpi, method: str, cid: str) -> None:
    stemcell = cpi.new_stemcell()
    outside = cpi.store.parent / "etc"
    outside.mkdir()
    before, calls = tree(cpi.store.parent), cpi.calls()
    error = cpi.error(method, *CID_ARGUMENTS[method](cid))
    assert error["type"] == "Bosh::Clouds::CpiError", error
    assert "CID" in error["message"] and "\n" not in error["message"] and "\x00" not in error["message"]
    assert tree(cpi.store.parent) == before and cpi.calls() == calls
    assert (cpi.store / f"cs-{stemcell}").is_dir()


@settings(max_examples=200, deadline=None)
@given(
    cid=st.text(min_size=1, max_size=60).filter(lambda t: not set(t) <= set(string.ascii_letters + string.digits + "-"))
)
def test_any_cid_outside_letters_digits_and_dash_is_refused(cid: str) -> None:
    from cpi.errors import CpiError
    from cpi.ids import DiskCid, SnapshotCid, StemcellCid, VmCid

    for kind in (VmCid, DiskCid, StemcellCid, SnapshotCid):
        with pytest.raises(CpiError):
            kind.parse(cid)


# --- malformed .vmx -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400)
    | st.lists(
        st.sampled_from(
            [
                b'a = "1"',
                b"a = 1",
                b"= x",
                b'"',
                b"\xff\xfe",
                b"#",
                b"",
                b'b = "|4',
                b'.encoding = "x"',
                b"key",
                b"\x00",
            ]
        ),
        max_size=8,
    ).map(b"\n".join)
)
def test_any_bytes_parse_or_raise_a_vmx_error_naming_the_line(data: bytes) -> None:
    try:
        vmx = Vmx.parse(data, source="x.vmx")
    except VmxError as exc:
        assert str(exc).startswith("x.vmx") or "encoding" in str(exc) or "line" in str(exc), str(exc)
    else:
        assert vmx.dumps() == data


@pytest.mark.parametrize("method", ["attach_disk", "detach_disk", "get_disks"])
def test_a_malformed_vmx_is_reported_with_its_file_and_line(cpi: Cpi, method: str) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 64, {}, vm)
    vmx = cpi.vmx(vm)
    lines = vmx.read_bytes().splitlines(keepends=True)
    vmx.write_bytes(b"".join([*lines[:4], b'memsize = "2048\n', *lines[4:]]))
    args = (vm,) if method == "get_disks" else (vm, disk)
    error = cpi.error(method, *args)
    assert error["type"] == "Bosh::Clouds::CloudError"
    assert f"{vmx}:5:" in error["message"] and 'memsize = "2048' in error["message"], error["message"]


def test_a_vm_whose_vmx_vmware_cannot_read_can_still_be_deleted(cpi: Cpi) -> None:
    from toolkit.host.clock import FakeClock
    from toolkit.vmware.vmrun import StopMode, Vmrun

    vm, _ = cpi.create_vm(cpi.new_stemcell())
    Vmrun(cpi.host.runner(), binary="vmrun-sim", clock=FakeClock()).stop(str(cpi.vmx(vm)), StopMode.HARD)
    cpi.vmx(vm).write_bytes(cpi.vmx(vm).read_bytes() + b'memsize = "2048\n')
    cpi("delete_vm", vm)
    assert not cpi.vm_dir(vm).exists()


# --- the same through the installed executable ------------------------------------------------


@pytest.mark.real_process
@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"method": "delete_vm", "arguments": ["../../etc"]}).encode(),
        json.dumps({"method": "has_vm", "arguments": ["x" * 1_000_000]}).encode(),
        b"\xff\xfe\x00{]",
        json.dumps({"method": "create_vm", "arguments": [None, {"a": [1.5e308, None]}, "\u0000", 7]}).encode(),
    ],
)
def test_bad_requests_through_the_executable(config: Path, raw: bytes) -> None:
    import subprocess

    executable = Path(sys.executable).with_name("bosh-vmrun-cpi")
    before = tree(config.parent / "store")
    done = subprocess.run([str(executable), str(config)], input=raw, capture_output=True, timeout=60, check=False)
    response = one_response(done.returncode, done.stdout.decode())
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"
    assert tree(config.parent / "store") == before
