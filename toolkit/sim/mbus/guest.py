"""The simulated agent's hands in its guest: files under the guest root, programs in the sandbox.

Every guest path goes through ``guestfs`` (symlinks resolved inside the root,
the host's read-only directories refused), so nothing an archive or a job
writes can reach a host file outside the VM's guest root. Programs run as root
in the VM's bubblewrap sandbox, as the agent runs packaging and job scripts;
their output goes to a log file in the guest, whose tail is returned because
the agent quotes it when a script fails. Where the sandbox cannot run, actions
that need a program fail with the sandbox's reason: never unconfined.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import strictjson
from toolkit.errors import AgentActionError
from toolkit.sim import guestfs, sandbox

LOG_DIR = "/var/vcap/data/sys/log/agent"
TAIL_BYTES = 2000


@dataclass(frozen=True, slots=True)
class Outcome:
    """A guest script's exit status and the last ``TAIL_BYTES`` of its output."""

    code: int
    tail: str


class GuestFs:
    """The guest file system of one VM, rooted at a host directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

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
        path = self.host(guest_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        temp.write_text(json.dumps(value, sort_keys=True), encoding="utf-8")
        os.replace(temp, path)

    def append_log(self, guest_path: str, line: str) -> None:
        path = self.host(guest_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")

    def run(self, script: str, env: Mapping[str, str], *, timeout: float) -> Outcome:
        """Run ``script`` with bash as root in the VM's sandbox; its output is kept for the tail."""
        reason = sandbox.unavailable()
        if reason is not None:
            raise AgentActionError(f"guest programs cannot run on this simulator host: {reason}")
        log = f"{LOG_DIR}/{uuid.uuid4().hex}.log"
        self.host(LOG_DIR).mkdir(parents=True, exist_ok=True)
        wrapped = f"exec >{shlex.quote(log)} 2>&1\n{script}"
        full_env = {"PATH": sandbox.GUEST_PATH, "HOME": "/root", "USER": "root", **env}
        pid = sandbox.start(self.root, ["/bin/bash", "-c", wrapped], full_env, detached=False)
        code = sandbox.wait_or_kill(pid, timeout, ["/bin/bash", "-c", script])
        return Outcome(code, self._take_tail(log))

    def _take_tail(self, guest_log: str) -> str:
        path = self.host(guest_log)
        try:
            data = path.read_bytes()[-TAIL_BYTES:]
        except OSError:
            return ""
        path.unlink(missing_ok=True)
        return data.decode("utf-8", "replace")
