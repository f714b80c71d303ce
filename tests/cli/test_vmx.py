"""``vmtk vmx``: decoded reads, byte-preserving edits, and the running-VM guard."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok

ODD = (
    b'.encoding = "UTF-8"\r\n'
    b"# written by hand\r\n"
    b'displayName = "my |22vm|22"\r\n'
    b'MemSize = "1024"\r\n'
    b"\r\n"
    b'guestOS = "ubuntu-64"\r\n'
)


def _odd(tmp_path: Path) -> Path:
    path = tmp_path / "odd" / "odd.vmx"
    path.parent.mkdir(parents=True)
    path.write_bytes(ODD)
    return path


def test_get_prints_the_decoded_value_whatever_the_key_case(vmtk: Vmtk, tmp_path: Path) -> None:
    path = str(_odd(tmp_path))
    assert assert_ok(vmtk("vmx", "get", path, "displayname")).stdout == 'my "vm"\n'
    assert assert_ok(vmtk("vmx", "get", path, "memsize")).stdout == "1024\n"


def test_get_of_a_missing_key_fails(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_error(vmtk("vmx", "get", str(_odd(tmp_path)), "nope"), "nope", "vmtk vmx show")


def test_set_changes_only_that_line(vmtk: Vmtk, tmp_path: Path) -> None:
    path = _odd(tmp_path)
    assert_ok(vmtk("vmx", "set", str(path), "memsize", "2048"))
    assert path.read_bytes() == ODD.replace(b'MemSize = "1024"', b'MemSize = "2048"')


def test_set_encodes_and_appends_a_new_key(vmtk: Vmtk, tmp_path: Path) -> None:
    path = _odd(tmp_path)
    assert_ok(vmtk("vmx", "set", str(path), "guestinfo.note", 'a "quoted" | value'))
    assert path.read_bytes().startswith(ODD)
    assert assert_ok(vmtk("vmx", "get", str(path), "guestinfo.note")).stdout == 'a "quoted" | value\n'


def test_unset_removes_the_key_and_keeps_the_rest(vmtk: Vmtk, tmp_path: Path) -> None:
    path = _odd(tmp_path)
    assert_ok(vmtk("vmx", "unset", str(path), "guestOS"))
    assert path.read_bytes() == ODD.replace(b'guestOS = "ubuntu-64"\r\n', b"")
    assert_ok(vmtk("vmx", "unset", str(path), "guestOS"))  # already gone: not an error


def test_show_as_text_and_json(vmtk: Vmtk, tmp_path: Path) -> None:
    path = str(_odd(tmp_path))
    shown = json.loads(assert_ok(vmtk("vmx", "show", path, "--json")).stdout)
    assert shown["displayName"] == 'my "vm"' and shown["MemSize"] == "1024"
    assert 'MemSize = "1024"' in assert_ok(vmtk("vmx", "show", path)).stdout


def test_set_refuses_while_the_vm_runs_unless_forced(vmtk: Vmtk, running_vmx: str) -> None:
    before = Path(running_vmx).read_bytes()
    assert_error(vmtk("vmx", "set", running_vmx, "memsize", "4096"), "discards", "--force")
    assert Path(running_vmx).read_bytes() == before
    assert_ok(vmtk("vmx", "set", running_vmx, "memsize", "4096", "--force"))
    assert assert_ok(vmtk("vmx", "get", running_vmx, "memsize")).stdout == "4096\n"


def test_a_syntax_error_names_the_line(vmtk: Vmtk, tmp_path: Path) -> None:
    path = tmp_path / "bad.vmx"
    path.write_bytes(b'ok = "1"\nthis is not a setting\n')
    assert_error(vmtk("vmx", "show", str(path)), "2")


def test_missing_file(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_error(vmtk("vmx", "get", str(tmp_path / "none.vmx"), "k"), "check the path")


def test_unset_refuses_while_the_vm_runs_and_keeps_the_file(vmtk: Vmtk, running_vmx: str) -> None:
    before = Path(running_vmx).read_bytes()
    assert_error(vmtk("vmx", "unset", running_vmx, "memsize"), "discards", "--force")
    assert Path(running_vmx).read_bytes() == before
