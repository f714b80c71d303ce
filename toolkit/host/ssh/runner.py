"""The Runner boundary over SSH: programs and files on a remote VMware host.

One paramiko connection per runner (so one per CPI call) carries every exec and
SFTP operation. Nothing needs installing on the host but an SSH server; POSIX
hosts (Linux, macOS) and Windows hosts (Win32-OpenSSH, whose default shell is
cmd.exe) are both supported, each with its own path flavour and argv quoting.

The host key is pinned: only the pinned key's type is negotiated, and a changed
key is always refused; an unknown (unpinned) key is refused unless the target
explicitly opts out. The private key lives only in memory: it is never written
to disk, put on a command line or logged. This module must not interpret what
the programs it runs print (that is the drivers' job).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import ntpath
import posixpath
import tempfile
from collections.abc import Sequence
from types import ModuleType

import paramiko

from toolkit.errors import CommandTimeout, HostFileNotFound, SshConnectionLost, SshError, WaitTimeout
from toolkit.host.clock import Clock, SystemClock, wait_until
from toolkit.host.exitcode import parse_exit_code
from toolkit.host.runner import Completed, LocalRunner, OutputSink, argv_list, decode, redact
from toolkit.host.ssh.command import exec_channel, quote_argv
from toolkit.host.ssh.files import SftpFiles
from toolkit.host.ssh.target import HostPlatform, SshTarget, load_private_key
from toolkit.host.ssh.windows import CODE, ERR, OUT, detached_command

__all__ = ["DETACHED_POLL_SECONDS", "HOST_KEY_ALGORITHMS", "SshRunner"]

log = logging.getLogger(__name__)
DETACHED_POLL_SECONDS = 0.5  # how often a detached Windows program's exit-code file is looked for


# The host-key algorithms that prove a key of each pinnable type: an RSA key signs with any of three.
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
# Every host-key algorithm paramiko may negotiate (its Transport._preferred_keys; a test
# checks this list still covers it).
HOST_KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    *_RSA_ALGORITHMS,
)


def _disabled_host_key_algorithms(target: SshTarget) -> dict[str, list[str]]:
    """Every host-key algorithm but the pinned key's, so the server proves the key that was pinned.

    A server usually holds several host keys (``ssh-keyscan`` lists them all, Windows and
    macOS hosts have RSA, ECDSA and Ed25519) and paramiko otherwise negotiates its own
    favourite type, whose key could never match an RSA or ECDSA pin.
    """
    if target.host_public_key is None:
        return {}
    pinned_type = target.host_public_key.split()[0]
    wanted = _RSA_ALGORITHMS if pinned_type == "ssh-rsa" else (pinned_type,)
    if not set(wanted) & set(HOST_KEY_ALGORITHMS):
        raise SshError(
            f"the pinned host_public_key is of type {pinned_type!r}, which cannot be checked; pin the "
            "host's ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa key instead"
        )
    return {"keys": [name for name in HOST_KEY_ALGORITHMS if name not in wanted]}


class _PinnedKey(paramiko.MissingHostKeyPolicy):
    """Accept exactly the pinned host key (the client keeps no known_hosts)."""

    def __init__(self, target: SshTarget) -> None:
        self._target = target

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        offered = f"{key.get_name()} {key.get_base64()}"
        pinned = self._target.host_public_key
        if pinned is None and self._target.insecure_skip_host_key_check:
            # Opting out only stands in for a missing pin: a pinned key is always checked.
            log.warning("not checking the host key of %s (%s)", hostname, offered)
            return
        if pinned is None:
            raise SshError(
                f"the host key of {hostname} is unknown; pin it by setting host_public_key to "
                f"'{offered}' (check it on the host, e.g. with ssh-keygen -l -f on its host key)"
            )
        if pinned.split()[:2] != offered.split():
            raise SshError(
                f"the host key of {hostname} changed: expected '{pinned}', got '{offered}'; "
                "if the host was really re-keyed, pin the new key in host_public_key"
            )


class SshRunner(SftpFiles):
    """Runs programs and touches files on ``target`` over one SSH connection."""

    def __init__(
        self,
        target: SshTarget,
        *,
        clock: Clock | None = None,
        lock_dir: str | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        self._target = target
        self._clock = clock or SystemClock()
        self._connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._locks = LocalRunner(clock=self._clock)
        self._lock_dir = lock_dir
        self.connections_opened = 0

    @property
    def path(self) -> ModuleType:
        return ntpath if self._target.platform is HostPlatform.WINDOWS else posixpath

    def close(self) -> None:
        for closable in (self._sftp, self._client):
            if closable is not None:
                closable.close()
        self._sftp = self._client = None

    def __enter__(self) -> SshRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the connection ---------------------------------------------------------

    def _connection(self) -> paramiko.SSHClient:
        if self._client is not None and not _alive(self._client):
            # The operation that was cut off has already failed (its outcome is unknown);
            # a later one, such as the cleanup after it, gets a fresh connection.
            log.warning("the connection to %s was lost; connecting again", self._target.host)
            self.close()
        if self._client is None:
            self._client = self._connect()
            self.connections_opened += 1
        return self._client

    def _connect(self) -> paramiko.SSHClient:
        target = self._target
        disabled = _disabled_host_key_algorithms(target)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_PinnedKey(target))
        where = f"{target.username}@{target.host}:{target.port}"
        log.debug("connecting to %s", where)
        try:
            client.connect(
                target.host,
                port=target.port,
                username=target.username,
                pkey=load_private_key(target.private_key),
                timeout=self._connect_timeout,
                banner_timeout=self._connect_timeout,
                auth_timeout=self._connect_timeout,
                allow_agent=False,
                look_for_keys=False,
                disabled_algorithms=disabled,
            )
        except SshError:
            client.close()
            raise
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SshError(f"{where}: the host refused the private key for user {target.username!r}") from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            raise SshError(f"cannot connect to {where}: {exc}") from exc
        return client

    def _files(self) -> paramiko.SFTPClient:
        client = self._connection()  # first: a reconnect drops the old SFTP session
        if self._sftp is None:
            try:
                self._sftp = client.open_sftp()
            except (OSError, paramiko.SSHException, EOFError) as exc:
                raise SshError(f"cannot open SFTP on {self._target.host}: {exc}") from exc
        return self._sftp

    # --- programs -----------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        stdin: bytes | None = None,
        on_output: OutputSink | None = None,
        detach: bool = False,
    ) -> Completed:
        argv = argv_list(argv)
        shown = redact(argv)
        log.debug("run on %s: %s", self._target.host, " ".join(shown))
        if detach and self._target.platform is HostPlatform.WINDOWS:
            return self._run_detached(argv, shown, timeout)
        started = self._clock.monotonic()
        command = quote_argv(argv, self._target.platform)
        code, out, err = self._exec(command, shown, timeout=timeout, stdin=stdin, on_output=on_output)
        return Completed(shown, code, out, err, self._clock.monotonic() - started)

    def _run_detached(self, argv: Sequence[str], shown: tuple[str, ...], timeout: float) -> Completed:
        """Windows: start ``argv`` outside the session's job object and poll for its result."""
        started = self._clock.monotonic()
        folder = self.make_temp_dir("vmtk-run-")
        try:
            created = self._exec(detached_command(argv, folder.replace("/", "\\")), shown, timeout=60)
            if created[0] != 0:
                raise SshError(f"Windows could not start {shown[0]!r} outside the SSH session (WMI {created[0]})")
            code = self._poll_exit_code(self.path.join(folder, CODE), shown, timeout)
            out = decode(self.read_bytes(self.path.join(folder, OUT)))
            err = decode(self.read_bytes(self.path.join(folder, ERR)))
        finally:
            self.remove_tree(folder)
        return Completed(shown, code, out, err, self._clock.monotonic() - started)

    def _poll_exit_code(self, path: str, shown: tuple[str, ...], timeout: float) -> int:
        def recorded() -> int | None:
            try:  # one SFTP round trip per poll: no exists() before the read
                return parse_exit_code(decode(self.read_bytes(path)))
            except HostFileNotFound:
                return None

        try:
            return wait_until(
                recorded,
                what=f"{shown[0]!r} to finish",
                timeout=timeout,
                clock=self._clock,
                interval=DETACHED_POLL_SECONDS,
                through_transient=False,  # a lost connection is the caller's to judge
            )
        except WaitTimeout:
            raise CommandTimeout(shown, timeout) from None

    def _exec(
        self,
        command: str,
        shown: tuple[str, ...],
        *,
        timeout: float,
        stdin: bytes | None = None,
        on_output: OutputSink | None = None,
    ) -> tuple[int, str, str]:
        client = self._connection()
        try:
            transport = client.get_transport()
            if transport is None or not transport.is_active():
                raise SshConnectionLost(f"the connection to {self._target.host} is closed")
            return exec_channel(transport, command, shown, stdin, timeout, on_output, self._clock)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            error = SshConnectionLost if not _alive(client) else SshError
            raise error(f"running {shown[0]!r} on {self._target.host} failed: {exc}") from exc

    def lock(self, path: str, *, timeout: float) -> contextlib.AbstractContextManager[None]:
        """A lock on a host path, held on this (the calling) machine.

        Every CPI process that drives this host runs on the same machine (the
        director, or the machine running create-env), so an OS-level file lock
        here serializes them, and the OS releases it if a holder is killed.
        """
        return self._locks.lock(self._local_lock_path(path), timeout=timeout)

    def forget_lock(self, path: str) -> None:
        self._locks.forget_lock(self._local_lock_path(path))

    def _local_lock_path(self, path: str) -> str:
        key = f"{self._target.host}:{self._target.port}:{path}".encode()
        folder = self._lock_dir or posixpath.join(tempfile.gettempdir(), "vmtk-ssh-locks")
        return str(self._locks.path.join(folder, hashlib.sha256(key).hexdigest()[:32] + ".lock"))


def _alive(client: paramiko.SSHClient) -> bool:
    transport = client.get_transport()
    return transport is not None and transport.is_active()
