"""Guest path resolution never leaves the guest root (except into the read-only host /usr)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import VmrunError
from vmtk_sim import guestfs

COMPONENTS = st.sampled_from(["a", "b", "..", ".", "up", "abs", "loop", "usr", "tmp", "etc"])


def _guest_with_traps() -> Path:
    root = guestfs.ensure_root(Path(tempfile.mkdtemp()) / "root", "vcap")
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "up").symlink_to("../../../../../../../../..")
    (root / "a" / "abs").symlink_to("/etc")
    (root / "a" / "loop").symlink_to("loop")
    (root / "tmp" / "up").symlink_to("../..")
    return root


ROOT = _guest_with_traps()


@settings(max_examples=300)
@given(st.lists(COMPONENTS, max_size=8))
def test_resolution_stays_inside_the_root_or_the_hosts_usr(parts: list[str]) -> None:
    guest_path = "/" + "/".join(parts)
    try:
        resolved = guestfs.resolve(ROOT, guest_path)
    except VmrunError as refusal:
        assert refusal.message == "Error: A file was not found"
        return
    assert resolved.is_relative_to(ROOT) or resolved.is_relative_to("/usr")


def test_absolute_guest_symlinks_point_into_the_guest() -> None:
    assert guestfs.resolve(ROOT, "/a/abs/passwd") == ROOT / "etc" / "passwd"
    assert guestfs.resolve(ROOT, "/tmp/up/etc") == ROOT / "etc"


def test_bin_resolves_to_the_hosts_usr_as_inside_the_sandbox() -> None:
    if (ROOT / "bin").is_symlink():
        shell = guestfs.resolve(ROOT, "/bin/sh")  # following the host's own links (sh -> dash)
        assert shell.is_relative_to("/usr/bin") and shell.is_file()
