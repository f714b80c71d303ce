"""A simulated Linux guest's file system: a directory tree per VM under the sim home.

Guest paths are resolved inside the guest root the way the guest kernel would
(symlinks followed relative to the guest's ``/``), so a guest symlink can never
lead a host-side copy outside the root. ``/usr`` (and ``/bin`` etc. when they are
symlinks into it) is the host's, read-only, as inside the sandbox. This module
answers path questions; the vmrun verbs live in ``guestops.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmtk_sim import messages as msg
from vmtk_sim.sandbox import HOST_DIRS

MAX_SYMLINK_HOPS = 40
READ_ONLY_TOP = frozenset({"usr", "proc", "dev", "sys"})
USER_ID = 1000  # the guest user's uid and gid, as in a stemcell's /etc/passwd (vcap)
SKELETON = ("tmp", "root", "etc", "var/tmp", "var/vcap/bosh/bin", "var/vcap/data", "usr", "proc", "dev")


def ensure_root(root: Path, user: str) -> Path:
    """Create a fresh guest's skeleton (idempotent): dirs, host-style /bin links, /etc/passwd."""
    if (root / "etc" / "passwd").exists():
        return root
    for name in SKELETON + (f"home/{user}",):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    for name in HOST_DIRS:
        host = Path("/", name)
        if host.is_symlink() and not (root / name).is_symlink():
            (root / name).symlink_to(os.readlink(host))
    (root / "etc" / "hostname").write_text("localhost\n")
    (root / "etc" / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/bash\n{user}:x:{USER_ID}:{USER_ID}::/home/{user}:/bin/bash\n"
    )
    return root


def resolve(root: Path, guest_path: str, *, follow_last: bool = True) -> Path:
    """The host path of ``guest_path`` (absolute, no ``..``) inside ``root``."""
    if not guest_path.startswith("/") or ".." in guest_path.split("/"):
        # Tools refuse relative paths and paths with ".." (reported for CopyFileFromGuestToHost).
        raise msg.refusal(msg.FILE_NOT_FOUND)
    parts = [p for p in guest_path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = _host_path(root, [*resolved, part])
        if candidate.is_symlink() and (parts or follow_last):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise msg.refusal(msg.FILE_NOT_FOUND)
            target = os.readlink(candidate)
            resolved = [] if target.startswith("/") else resolved
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return _host_path(root, resolved)


def resolve_writable(root: Path, guest_path: str, *, follow_last: bool = True) -> Path:
    """Like ``resolve``, refusing the read-only host directories mounted into the guest."""
    path = resolve(root, guest_path, follow_last=follow_last)
    relative = path.relative_to(root) if path.is_relative_to(root) else Path("usr")
    if relative.parts and relative.parts[0] in READ_ONLY_TOP:
        raise msg.refusal(msg.GUEST_PERMISSION)
    return path


def _host_path(root: Path, parts: list[str]) -> Path:
    if parts and parts[0] == "usr":
        return Path("/usr", *parts[1:])
    return root.joinpath(*parts)
