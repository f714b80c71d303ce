"""The real bosh-agent as a VM's guest agent, confined to the VM's guest sandbox.

With the ``bosh_agent`` knob, a VM's agent process (``process.py``) runs that
binary instead of serving the simulated agent. The binary is bound read-only at
``/var/vcap/bosh/bin/bosh-agent`` inside the VM's bubblewrap sandbox (the guest
root as ``/``, as for every guest program: it runs the packaging and job
scripts it is sent), with the dummy platform and a File settings source that
reads ``/var/vcap/bosh/cdrom/env``: a copy of the ``env`` file on the VM's first
CD-ROM, written at every boot (the dummy platform cannot read a CD-ROM). One
thing in the copy differs from the image: the mbus URL's host becomes
127.0.0.1, because simulated VMs have no network of their own and share the
host's, and nothing started here listens beyond loopback. The agent's output
goes to the guest's ``/var/vcap/bosh/log/current``. Whether the agent accepts
its settings (its start-up disk check included) is the agent's own decision:
this module only starts, restarts (as runit does on a stemcell) and stops it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from toolkit.host.clock import Clock
from vmtk_sim import sandbox
from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import GuestFs

PROGRAM = "/var/vcap/bosh/bin/bosh-agent"
CONFIG = "/var/vcap/bosh/agent.json"
CDROM_ENV = "/var/vcap/bosh/cdrom/env"
LOG = "/var/vcap/bosh/log/current"
RESTART_SECONDS = 1.0  # runit's pause before it runs a service that exited
GONE_SECONDS = 10.0


def agent_config() -> dict[str, Any]:
    """``agent.json``: the dummy platform, settings from the CD-ROM copy."""
    source = {"Type": "File", "SettingsPath": CDROM_ENV}
    return {"Platform": {"Linux": {}}, "Infrastructure": {"Settings": {"Sources": [source]}}}


def on_loopback(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with the mbus URL's host replaced by 127.0.0.1 (port, user and password kept)."""
    copy = dict(settings)
    parts = urlsplit(str(settings.get("mbus") or ""))
    if parts.scheme and parts.hostname:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1" if userinfo else "127.0.0.1"
        copy["mbus"] = urlunsplit(parts._replace(netloc=f"{netloc}:{parts.port}" if parts.port else netloc))
    return copy


def mbus_port(settings: Mapping[str, Any]) -> int | None:
    try:
        return urlsplit(str(settings.get("mbus") or "")).port
    except ValueError:
        return None


class RealAgent:
    """One VM's bosh-agent: started in the sandbox, restarted when it exits, stopped with the VM."""

    def __init__(self, guest: GuestFs, binary: str, settings: Mapping[str, Any], clock: Clock) -> None:
        self.guest, self.binary, self.settings, self.clock = guest, binary, settings, clock
        self.pid = 0
        self.exited_at = 0.0

    def start(self) -> None:
        reason = sandbox.unavailable()
        if reason is not None:
            raise AgentActionError(f"the bosh-agent cannot run on this simulator host: {reason}")
        self.guest.write_json(CDROM_ENV, on_loopback(self.settings))
        self.guest.write_json(CONFIG, agent_config())
        log = self.guest.host(LOG)
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [PROGRAM, "-b", "/var/vcap", "-P", "dummy", "-M", "dummy", "-C", CONFIG]
        extra = ["--ro-bind", self.binary, PROGRAM, "--share-net"]
        self.pid = sandbox.start(
            self.guest.root,
            argv,
            {"PATH": sandbox.GUEST_PATH},
            detached=False,
            extra=extra,
            output=log,
            own_session=False,
        )

    def keep_running(self) -> None:
        """Start the agent again a second after it exited, as runit does."""
        if self.pid and sandbox.alive(self.pid):
            return
        if self.pid:
            sandbox.reap(self.pid)
            self.pid, self.exited_at = 0, self.clock.monotonic()
        if self.clock.monotonic() - self.exited_at >= RESTART_SECONDS:
            self.start()

    def stop(self) -> None:
        """Kill the agent and wait until nothing answers on its mbus port any more."""
        if self.pid:
            sandbox.send(self.pid, signal.SIGKILL)
            sandbox.reap(self.pid)
            self.pid = 0
        port = mbus_port(self.settings)
        deadline = self.clock.monotonic() + GONE_SECONDS
        while port and _answers(port) and self.clock.monotonic() < deadline:
            self.clock.sleep(0.05)


def _answers(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0
