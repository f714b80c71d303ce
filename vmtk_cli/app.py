"""The ``App`` context object every ``vmtk`` command receives.

It holds the global settings and builds the runner, clock and vmrun driver
lazily, so a command that never talks to VMware (``vmtk iso build``) works on
a machine without it, and tests can inject a simulator-backed runner. It must
not know vmrun's verbs or messages (that is ``toolkit.vmware.vmrun``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import click

from toolkit.host.clock import Clock, SystemClock
from toolkit.host.runner import LocalRunner, Runner
from toolkit.vmware.vmrun import GuestCredentials, HostType, Vmrun
from vmtk_cli.remote import HOST_VMRUN_PATHS, SshOptions, ssh_target
from vmtk_cli.waiting import Waiting, waiting

# This machine's standard vmrun, by sys.platform.
STANDARD_VMRUN_PATHS: Mapping[str, str] = {
    "win32": HOST_VMRUN_PATHS["windows"],
    "darwin": HOST_VMRUN_PATHS["darwin"],
    "linux": HOST_VMRUN_PATHS["linux"],
}
DEFAULT_PASSWORD_ENV = "VMTK_GUEST_PASSWORD"


@dataclass
class Settings:
    """The global options, as given on the command line or in ``VMTK_*`` variables."""

    vmrun: str | None = None
    host_type: HostType | None = None
    guest_user: str | None = None
    guest_password_env: str | None = None
    verbosity: int = 0
    ssh: SshOptions | None = None
    progress_interval: float = 10.0

    def merge(self, **given: object) -> None:
        """Take every option that was given; keep what was injected otherwise."""
        for name, value in given.items():
            if value is not None:
                setattr(self, name, value)


@dataclass
class App:
    """Settings plus the lazily built host objects (see module docstring)."""

    runner: Runner | None = None
    clock: Clock = field(default_factory=SystemClock)
    settings: Settings = field(default_factory=Settings)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # Whether someone can answer a prompt: stdin is a terminal.
    interactive: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    _vmrun: Vmrun | None = field(default=None, init=False, repr=False)
    _built: Runner | None = field(default=None, init=False, repr=False)

    @property
    def host(self) -> Runner:
        """The VMware host: this machine, or the ``--ssh`` host over one connection."""
        if self.runner is None:
            self.runner = self._build_runner()
            self._built = self.runner
        return self.runner

    def _build_runner(self) -> Runner:
        if self.settings.ssh is None:
            return LocalRunner(clock=self.clock)
        from toolkit.host.ssh.runner import SshRunner  # paramiko: only for remote hosts

        return SshRunner(ssh_target(self.settings.ssh), clock=self.clock)

    def close(self) -> None:
        """Close the SSH connection this App opened (an injected runner is the caller's)."""
        close = getattr(self._built, "close", None)
        if close is not None:
            close()

    @property
    def vmrun(self) -> Vmrun:
        if self._vmrun is None:
            binary = self.vmrun_path()
            self._vmrun = Vmrun(self.host, binary=binary, host_type=self.settings.host_type, clock=self.clock)
        return self._vmrun

    def vmrun_path(self) -> str:
        """``--vmrun``, else ``vmrun`` on PATH, else the platform's install path."""
        if self.settings.vmrun:
            return self.settings.vmrun
        if self.settings.ssh:
            return self._remote_vmrun(self.settings.ssh.platform)
        found = shutil.which("vmrun") or _standard_vmrun()
        if found is None:
            raise click.ClickException(
                "cannot find vmrun: give its path with --vmrun or VMTK_VMRUN "
                "(to try vmtk without VMware, use the simulator: --vmrun vmrun-sim)"
            )
        return found

    def _remote_vmrun(self, platform: str) -> str:
        # A non-interactive SSH session's PATH rarely holds vmrun: only the install path counts.
        path = HOST_VMRUN_PATHS[platform]
        if not self.host.exists(path):
            raise click.ClickException(
                f"vmrun is not at {path} on the SSH host: give its path there with --vmrun or VMTK_VMRUN"
            )
        return path

    def has_vmrun(self) -> bool:
        try:
            self.vmrun_path()
        except click.ClickException:
            return False
        return True

    def absolute(self, path: str) -> str:
        """A path on this machine made absolute; a path on the ``--ssh`` host as given."""
        return path if self.settings.ssh is not None else os.path.abspath(path)

    def waiting(self) -> contextlib.AbstractContextManager[Waiting]:
        """The display of a long wait on stderr (see ``vmtk_cli.waiting``)."""
        return waiting(sys.stderr, self.clock, interval=self.settings.progress_interval)

    def credentials(self, user: str | None = None, password_env: str | None = None) -> GuestCredentials:
        """Guest credentials: the user from options, the password from the environment or a prompt."""
        user = user or self.settings.guest_user
        if not user:
            raise click.ClickException("no guest user: give --guest-user or set VMTK_GUEST_USER")
        return GuestCredentials(user, self.password(password_env))

    def password(self, password_env: str | None = None) -> str:
        # Never from argv: other users of the machine can read process arguments.
        name = password_env or self.settings.guest_password_env or DEFAULT_PASSWORD_ENV
        value = self.environ.get(name)
        if value is not None:
            return value
        if password_env or self.settings.guest_password_env:
            raise click.ClickException(f"environment variable {name} (named by --guest-password-env) is not set")
        if not self.interactive():  # a script or a pipe: nobody could answer a prompt
            raise click.ClickException(
                f"no guest password: set {name} (or name another variable with --guest-password-env)"
            )
        return str(click.prompt("Guest password", hide_input=True, err=True))


def _standard_vmrun() -> str | None:
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    path = STANDARD_VMRUN_PATHS.get(platform)
    return path if path and os.path.exists(path) else None


pass_app = click.make_pass_decorator(App, ensure=True)


def vmx_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A .vmx given on this machine, made absolute: vmrun lists running VMs by absolute path.

    With ``--ssh`` the path is the host's and is passed as given.
    """
    app = ctx.find_object(App)
    return value if app is None or not value else app.absolute(value)
