from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import DuplicateKeyError, HostFileNotFound, VmxError, VmxSyntaxError
from toolkit.host.runner import LocalRunner
from toolkit.vmware.vmx import Vmx, escape, read_vmx, unescape, write_vmx

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vmx"
ALL = sorted(FIXTURES.iterdir())
_KEY_OF_LINE = re.compile(rb'[ \t]*([^\s=#"]+)[ \t]*=')


def fixture(name: str) -> Vmx:
    return Vmx.parse((FIXTURES / name).read_bytes(), source=name)


def changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


# --- lossless round trip ------------------------------------------------------------


def test_the_fixture_set_covers_the_shapes_seen_in_the_wild() -> None:
    assert len(ALL) >= 8
    for path in ALL:
        head = path.read_bytes().splitlines()[:2]
        assert any(line.startswith(b"# Models: ") for line in head), path.name
    assert (FIXTURES / "large-500-lines.vmx").read_bytes().count(b"\n") == 500


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_parse_then_dumps_gives_back_every_byte(path: Path) -> None:
    data = path.read_bytes()
    assert Vmx.parse(data).dumps() == data


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_fixture_declares_utf8_or_is_decoded_with_its_declared_encoding(path: Path) -> None:
    vmx = Vmx.parse(path.read_bytes())
    declared = vmx.get(".encoding") or "UTF-8"
    assert vmx.encoding == {"UTF-8": "utf-8", "windows-1252": "cp1252", "Big5": "big5"}[declared]


def test_the_shapes_round_trip_needs_to_keep() -> None:
    crlf = (FIXTURES / "windows-host-cp1252.vmx").read_bytes()
    odd = (FIXTURES / "escapes-unquoted.vmx").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n")
    assert not odd.endswith(b"\n") and b"\tdisplayName\t=\t" in odd and b"memsize=1024" in odd
    assert (FIXTURES / "linux-shebang.vmx").read_bytes().startswith(b"#!/usr/bin/vmware\n")


def test_windows_1252_values_decode_and_backslashes_stay_literal() -> None:
    vmx = fixture("windows-host-cp1252.vmx")
    assert vmx["displayName"] == "Büro-Server Zürich – Café"
    assert vmx["sata0:0.fileName"] == r"D:\Virtual Machines\Büro-Server\Büro-Server.vmdk"
    assert vmx["sharedFolder0.hostPath"] == r"\\fileserver\Ablage\Übergabe"
    assert vmx["annotation"] == "Maintained by René\r\nOwner: IT-Abteilung"


def test_big5_trail_bytes_equal_to_pipe_or_backslash_are_text_not_escapes() -> None:
    raw = (FIXTURES / "windows-host-big5.vmx").read_bytes()
    assert b"|41" in raw  # the trap: "吜" ends in 0x7C and is followed by "41"
    vmx = Vmx.parse(raw)
    assert vmx["displayName"] == "測試吜41伺服器許"
    assert vmx["nvme0:0.fileName"] == "E:\\虛擬機器\\測試吜41伺服器許.vmdk"


def test_undecodable_bytes_survive_parsing_and_editing_other_lines() -> None:
    data = b'.encoding = "UTF-8"\ndisplayName = "caf\xe9 \xff"\nmemsize = "4"\n'
    vmx = Vmx.parse(data)
    vmx.set("memsize", "8")
    assert vmx.dumps() == data.replace(b'"4"', b'"8"')
    vmx.set("annotation", vmx["displayName"])  # the surrogate-escaped bytes are written back as they were
    assert vmx.dumps().endswith(b'annotation = "caf\xe9 \xff"\n')


def test_new_holds_only_the_encoding_line() -> None:
    assert Vmx.new().dumps() == b'.encoding = "UTF-8"\n'
    assert Vmx.new().items() == [(".encoding", "UTF-8")]


def test_the_vmsd_syntax_is_the_same() -> None:
    vmsd = fixture("snapshots.vmsd")
    assert vmsd["snapshot1.description"] == 'before "upgrade"'
    assert vmsd["snapshot0.clone0"] == r"C:\vms\child\child.vmx"
    assert vmsd["SNAPSHOT.numsnapshots"] == "2"


# --- lookups and edits ----------------------------------------------------------------


def test_keys_are_case_insensitive_on_lookup() -> None:
    vmx = fixture("ovftool-image.vmx")
    assert vmx["displayName"] == vmx["DISPLAYNAME"] == "vm-virtualmachine"
    assert "VirtualHW.Version" in vmx and 42 not in vmx and "nope" not in vmx
    assert vmx.get("nope") is None and vmx.get("nope", "dflt") == "dflt"
    with pytest.raises(KeyError):
        vmx["nope"]


def test_set_on_an_existing_key_rewrites_only_that_line_keeping_its_spelling() -> None:
    data = (FIXTURES / "ovftool-image.vmx").read_bytes()
    vmx = Vmx.parse(data)
    vmx.set("displayName", "web-1")
    assert changed_lines(data, vmx.dumps()) == [(b'displayname = "vm-virtualmachine"\n', b'displayname = "web-1"\n')]
    assert [key for key in vmx if key.lower() == "displayname"] == ["displayname"]


def test_set_keeps_odd_spacing_trailing_comments_and_bare_style() -> None:
    data = (FIXTURES / "escapes-unquoted.vmx").read_bytes()
    vmx = Vmx.parse(data)
    vmx.set("NUMVCPUS", "4")
    vmx.set("displayname", "in tabs")
    vmx.set("ethernet0.present", "FALSE")
    assert changed_lines(data, vmx.dumps()) == [
        (b"numvcpus   =    2\n", b"numvcpus   =    4\n"),
        (b'\tdisplayName\t=\t"spaced out"\t\n', b'\tdisplayName\t=\t"in tabs"\t\n'),
        (
            b'ethernet0.present = "TRUE"   # a comment after the value\n',
            b'ethernet0.present = "FALSE"   # a comment after the value\n',
        ),
    ]


@pytest.mark.parametrize("value", ["two words", "", " lead"])
def test_a_bare_value_that_would_not_read_back_gets_quoted(value: str) -> None:
    vmx = Vmx.parse(b"memsize=1024\n")
    vmx.set("memsize", value)
    assert vmx.dumps() == f'memsize="{value}"\n'.encode()
    assert Vmx.parse(vmx.dumps())["memsize"] == value


def test_new_keys_go_last_with_the_files_newline() -> None:
    vmx = fixture("windows-host-cp1252.vmx")
    vmx.set("guestinfo.x", "1")
    assert vmx.dumps().endswith(b'softPowerOff = "FALSE"\r\nguestinfo.x = "1"\r\n')
    assert vmx.keys()[-1] == "guestinfo.x"


def test_appending_to_a_file_without_final_newline_ends_the_last_line_first() -> None:
    vmx = fixture("escapes-unquoted.vmx")
    vmx.set("new.key", "v")
    assert vmx.dumps().endswith(b'last.key = "no newline after me"\nnew.key = "v"\n')


def test_unset_and_unset_prefix_remove_whole_lines_case_insensitively() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    assert vmx.unset("MEMSIZE") is True and vmx.unset("memsize") is False
    assert vmx.unset_prefix("SCSI0:2.") == 3
    assert vmx.unset_prefix("scsi0:2.") == 0
    text = vmx.dumps()
    assert b"memsize" not in text and b"scsi0:2." not in text and b"scsi0:1.mode" in text


def test_invalid_keys_are_refused() -> None:
    vmx = Vmx.new()
    for key in ("", "a b", "a=b", 'a"b', "#a"):
        with pytest.raises(VmxError):
            vmx.set(key, "x")
    assert vmx.dumps() == Vmx.new().dumps()


# --- escapes -------------------------------------------------------------------------------


def test_pipe_escapes_decode_in_either_hex_case() -> None:
    vmx = fixture("escapes-unquoted.vmx")
    assert vmx["vmh.label.team"] == 'a"b|c'
    assert vmx["vmh.pipe.lower"] == "x|y"
    assert vmx["annotation"] == 'line one\nline two\r\nsigned "ops"'
    assert vmx["vmh.hash"] == "build # 42"
    assert vmx["vmh.note"] == r"C:\path\with\backslashes"


def test_values_are_written_with_uppercase_pipe_escapes_and_literal_backslashes() -> None:
    vmx = Vmx.new()
    vmx.set("vmh.note", 'say "hi" | bye\n\tC:\\x #1\x7f')
    assert vmx.dumps().splitlines()[-1] == b'vmh.note = "say |22hi|22 |7C bye|0A|09C:\\x |231|7F"'


def test_escaped_multibyte_sequences_decode_in_the_files_encoding() -> None:
    assert unescape("caf|C3|A9") == "café"
    assert unescape("caf|e9", "cp1252") == "café"
    assert unescape("|zz|7") == "|zz|7"  # not an escape: kept as written


@given(st.text())
def test_unescape_inverts_escape(value: str) -> None:
    escaped = escape(value)
    assert unescape(escaped) == value
    assert not re.search(r'["#\x00-\x1f\x7f]', escaped)


# --- errors ---------------------------------------------------------------------------------


def test_duplicate_keys_name_both_lines_whatever_their_case() -> None:
    with pytest.raises(DuplicateKeyError, match=r"line 4 repeats line 2") as caught:
        Vmx.parse(b'.encoding = "UTF-8"\ndisplayName = "a"\n# c\nDISPLAYNAME = "b"\n', source="web.vmx")
    assert "web.vmx" in str(caught.value) and "'DISPLAYNAME'" in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    ["key = two words", "no equals sign", 'key = "unterminated', '= "no key"', 'key = "a"b"', 'key = "a" junk'],
)
def test_a_malformed_line_is_reported_with_its_number_and_text(bad: str) -> None:
    data = f'.encoding = "UTF-8"\r\n# fine\r\n{bad}\r\nok = "1"\r\n'.encode()
    with pytest.raises(VmxSyntaxError) as caught:
        Vmx.parse(data, source="x.vmx")
    assert caught.value.line_number == 3 and caught.value.line == bad
    assert str(caught.value).startswith("x.vmx:3: ")


def test_an_unknown_declared_encoding_is_a_syntax_error_on_its_line() -> None:
    with pytest.raises(VmxSyntaxError, match="unknown encoding") as caught:
        Vmx.parse(b'# c\n.encoding = "klingon-1"\n')
    assert caught.value.line_number == 2


def test_text_the_declared_encoding_cannot_hold_is_refused_without_echoing_it() -> None:
    vmx = fixture("windows-host-cp1252.vmx")
    before = vmx.dumps()
    with pytest.raises(VmxError, match="guestinfo.secret") as caught:
        vmx.set("guestinfo.secret", "pässwörd 密码")
    assert "密码" not in str(caught.value) and vmx.dumps() == before


def test_switching_the_declared_encoding_re_encodes_every_line() -> None:
    vmx = fixture("windows-host-cp1252.vmx")
    before = vmx.items()
    vmx.set(".encoding", "UTF-8")
    vmx.set("guestinfo.name", "密码")
    again = Vmx.parse(vmx.dumps())
    assert again.encoding == "utf-8" and again.keys()[-1] == "guestinfo.name"
    assert dict(again.items()) == {**dict(before), ".encoding": "UTF-8", "guestinfo.name": "密码"}
    assert "Büro".encode() in vmx.dumps()


def test_a_failed_encoding_switch_changes_nothing() -> None:
    vmx = Vmx.parse('.encoding = "UTF-8"\ndisplayName = "密码"\n'.encode())
    before = vmx.dumps()
    with pytest.raises(VmxError):
        vmx.set(".encoding", "windows-1252")
    assert vmx.dumps() == before and vmx.encoding == "utf-8"


# --- properties: random edits ------------------------------------------------------------------

_EXISTING = [key for key, _ in Vmx.parse((FIXTURES / "escapes-unquoted.vmx").read_bytes()).items()]
_keys = (
    st.sampled_from(_EXISTING).map(str.swapcase)
    | st.sampled_from(_EXISTING)
    | st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-zA-Z0-9:]{1,6}){0,2}", fullmatch=True)
)
_edits = st.lists(st.tuples(st.booleans(), _keys, st.text(max_size=30)), max_size=25)


def _line_key(line: bytes) -> str | None:
    match = _KEY_OF_LINE.match(line)
    return match[1].decode().lower() if match and not line.lstrip().startswith(b"#") else None


@pytest.mark.parametrize("name", ["escapes-unquoted.vmx", "workstation17-linux-after-run.vmx"])
@settings(max_examples=60, deadline=None)
@given(edits=_edits)
def test_random_edits_read_back_as_the_model_and_leave_other_lines_alone(
    name: str, edits: list[tuple[bool, str, str]]
) -> None:
    original = (FIXTURES / name).read_bytes()
    vmx = Vmx.parse(original)
    model = {key.lower(): value for key, value in vmx.items()}
    touched: set[str] = set()
    for is_set, key, value in edits:
        touched.add(key.lower())
        if key.lower() == ".encoding":
            continue
        if is_set:
            vmx.set(key, value)
            model[key.lower()] = value
        else:
            assert vmx.unset(key) is (model.pop(key.lower(), None) is not None)
    again = Vmx.parse(vmx.dumps())
    assert {key.lower(): value for key, value in again.items()} == model
    kept = [line.rstrip(b"\r\n") for line in original.splitlines(keepends=True) if _line_key(line) not in touched]
    now = [line.rstrip(b"\r\n") for line in vmx.dumps().splitlines(keepends=True) if _line_key(line) not in touched]
    assert now == kept


def test_editing_every_key_of_the_500_line_file_keeps_it_consistent() -> None:
    # Editing is O(1) per key (no list scans); this exercises the path at full size.
    vmx = fixture("large-500-lines.vmx")
    for key in vmx.keys()[1:]:
        vmx.set(key.upper(), "edited")
    for key in vmx.keys()[1::2]:
        vmx.unset(key)
    again = Vmx.parse(vmx.dumps())
    assert len(again) == len(vmx) == 250 and all(v == "edited" for _, v in again.items()[1:])


# --- through a Runner ------------------------------------------------------------------------------


def test_write_vmx_replaces_the_file_atomically_and_read_vmx_reads_it_back(tmp_path: Path) -> None:
    runner = LocalRunner()
    path = tmp_path / "web.vmx"
    path.write_bytes((FIXTURES / "bosh-cpi-vm.vmx").read_bytes())
    vmx = read_vmx(runner, str(path))
    vmx.set("memsize", "4096")
    write_vmx(runner, str(path), vmx)
    assert read_vmx(runner, str(path))["memsize"] == "4096"
    assert sorted(os.listdir(tmp_path)) == ["web.vmx"]  # no temp file left behind


def test_a_shebang_vmx_stays_executable_after_a_write(tmp_path: Path) -> None:
    runner = LocalRunner()
    path = tmp_path / "router.vmx"
    path.write_bytes((FIXTURES / "linux-shebang.vmx").read_bytes())
    write_vmx(runner, str(path), read_vmx(runner, str(path)))
    assert path.stat().st_mode & stat.S_IXUSR
    assert path.read_bytes() == (FIXTURES / "linux-shebang.vmx").read_bytes()


def test_read_vmx_names_the_file_in_syntax_errors_and_reports_missing_files(tmp_path: Path) -> None:
    runner = LocalRunner()
    bad = tmp_path / "bad.vmx"
    bad.write_bytes(b'.encoding = "UTF-8"\nbroken line\n')
    with pytest.raises(VmxSyntaxError, match=re.escape(f"{bad}:2:")):
        read_vmx(runner, str(bad))
    with pytest.raises(HostFileNotFound):
        read_vmx(runner, str(tmp_path / "missing.vmx"))
