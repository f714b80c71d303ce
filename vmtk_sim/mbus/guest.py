"""The simulated agent's hands in its guest: files under the guest root, programs in the sandbox.

Every guest path goes through ``guestfs`` (symlinks resolved inside the root,
the host's read-only directories refused), so nothing an archive or a job
writes can reach a host file outside the VM's guest root. Programs run as root
in the VM's bubblewrap sandbox, as the agent runs packaging and job scripts;
their stdout and stderr go to log files in the guest, as the agent's do, and the
last 10 KiB of each is returned because the agent quotes them when a command
fails. Where the sandbox cannot run, actions that need a program fail with the
sandbox's reason: never unconfined.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.formats import strictjson
from vmtk_sim import guestfs, sandbox
from vmtk_sim.mbus.errors import AgentActionError

LOGS = "/var/vcap/sys/log"  # the agent's LogsDir (/var/vcap/sys links to /var/vcap/data/sys)
TRUNCATE_BYTES = 10 * 1024  # how much of a failed command's output the agent quotes


@dataclass(frozen=True, slots=True)
class Output:
    """The last ``TRUNCATE_BYTES`` of a program's stdout or stderr, and how long it was."""

    tail: bytes
    size: int

    @property
    def text(self) -> str:
        return self.tail.decode("utf-8", "replace")

    @property
    def truncated(self) -> bool:
        return self.size >= TRUNCATE_BYTES

    def quoted(self) -> str:
        """The output as the agent's file-logging runner quotes it (see ``_trim``)."""
        return _trim(self.tail).decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Outcome:
    """A guest program's exit status and the ends of its stdout and stderr."""

    code: int
    stdout: Output
    stderr: Output

    def failure(self) -> str:
        """The agent's message for a command that failed (its file-logging runner's error)."""
        out = "Truncated stdout" if self.stdout.truncated else "Stdout"
        err = "Truncated stderr" if self.stderr.truncated else "Stderr"
        return f"Command exited with {self.code}; {out}: {self.stdout.quoted()}, {err}: {self.stderr.quoted()}"


class GuestFs:
    """The guest file system of one VM, rooted at a host directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        """What the agent sets up at boot for jobs' logs: ``/var/vcap/sys`` linking to ``/var/vcap/data/sys``."""
        self.host("/var/vcap/data/sys/log").mkdir(parents=True, exist_ok=True)
        sys_dir = self.host("/var/vcap/sys", follow_last=False)
        if not (sys_dir.is_symlink() or sys_dir.exists()):  # a guest that made its own is left as it is
            self.link("/var/vcap/sys", "/var/vcap/data/sys")

    def host(self, guest_path: str, *, follow_last: bool = True) -> Path:
        return guestfs.resolve_writable(self.root, guest_path, follow_last=follow_last)

    def fresh_dir(self, guest_path: str) -> Path:
        """An empty directory at ``guest_path`` (whatever was there is removed)."""
        path = self.host(guest_path, follow_last=False)
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def link(self, guest_link: str, guest_target: str) -> None:
        """Point ``guest_link`` at ``guest_target`` (an absolute guest path), replacing it."""
        path = self.host(guest_link, follow_last=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        temp.symlink_to(guest_target)
        os.replace(temp, path)

    def read_json(self, guest_path: str, default: Any) -> Any:
        path = self.host(guest_path)
        if not path.is_file():
            return default
        try:
            return strictjson.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise AgentActionError(f"{guest_path} is not valid JSON: {exc}") from exc

    def write_json(self, guest_path: str, value: Any) -> None:
        self.write_text(guest_path, json.dumps(value, sort_keys=True))

    def write_text(self, guest_path: str, text: str) -> None:
        """Replace the file at ``guest_path`` whole (never seen half-written)."""
        path = self.host(guest_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)

    def append_log(self, guest_path: str, line: str) -> None:
        path = self.host(guest_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        timeout: float,
        cwd: str = "/",
        logs: str,
        name: str,
        append: bool = False,
    ) -> Outcome:
        """Run ``argv`` as root in the VM's sandbox, its output in ``<logs>/<name>.stdout.log`` and ``.stderr.log``."""
        reason = sandbox.unavailable()
        if reason is not None:
            raise AgentActionError(f"guest programs cannot run on this simulator host: {reason}")
        out, err = f"{logs}/{name}.stdout.log", f"{logs}/{name}.stderr.log"
        self.host(logs).mkdir(parents=True, exist_ok=True)
        into = ">>" if append else ">"
        wrapped = (
            f"exec {into}{shlex.quote(out)} 2{into}{shlex.quote(err)}\ncd {shlex.quote(cwd)} || exit 1\n"
            f"exec {shlex.join(argv)}"
        )
        full_env = {"PATH": sandbox.GUEST_PATH, "HOME": "/root", "USER": "root", **env}
        pid = sandbox.start(self.root, ["/bin/bash", "-c", wrapped], full_env, detached=False)
        code = sandbox.wait_or_kill(pid, timeout, list(argv))
        return Outcome(code, self._output(out), self._output(err))

    def _output(self, guest_log: str) -> Output:
        try:
            with open(self.host(guest_log), "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - TRUNCATE_BYTES))
                return Output(handle.read(), size)
        except OSError:
            return Output(b"", 0)


def _trim(data: bytes) -> bytes:
    """Drop up to the first line break if that loses at most a quarter of the limit, else any
    partial UTF-8 character. The agent trims even output it did not truncate, so a short
    output's first line is lost when more lines follow: reproduced, as callers see that."""
    newline = data.find(b"\n")
    if 0 <= newline <= TRUNCATE_BYTES // 4:
        return data[newline + 1 :].removeprefix(b"\r")
    return data.lstrip(bytes(range(0x80, 0xC0)))
