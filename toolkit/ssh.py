"""The Runner boundary over SSH: programs and files on a remote VMware host.

One paramiko connection per runner (so one per CPI call) carries every exec and
SFTP operation. Nothing needs installing on the host but an SSH server; POSIX
hosts (Linux, macOS) and Windows hosts (Win32-OpenSSH, whose default shell is
cmd.exe) are both supported, each with its own path flavour and argv quoting.

The host key is pinned: an unknown or changed key is refused unless the target
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
import socket
import stat
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import BinaryIO

import paramiko

from toolkit.clock import Clock, SystemClock
from toolkit.errors import HostFileError, HostFileNotFound, SshError
from toolkit.runner import Completed, LocalRunner, OutputSink, redact
from toolkit.sshcommand import exec_channel, quote_argv
from toolkit.sshtarget import HostPlatform, SshTarget, load_private_key

log = logging.getLogger(__name__)


class _PinnedKey(paramiko.MissingHostKeyPolicy):
    """Accept exactly the pinned host key (the client keeps no known_hosts)."""

    def __init__(self, target: SshTarget) -> None:
        self._target = target

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        offered = f"{key.get_name()} {key.get_base64()}"
        if self._target.insecure_skip_host_key_check:
            log.warning("not checking the host key of %s (%s)", hostname, offered)
            return
        pinned = self._target.host_public_key
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


class SshRunner:
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
        if self._client is None:
            self._client = self._connect()
            self.connections_opened += 1
        return self._client

    def _connect(self) -> paramiko.SSHClient:
        target = self._target
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
        if self._sftp is None:
            try:
                self._sftp = self._connection().open_sftp()
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
    ) -> Completed:
        shown = redact(argv)
        log.debug("run on %s: %s", self._target.host, " ".join(shown))
        command = quote_argv(argv, self._target.platform)
        started = self._clock.monotonic()
        try:
            transport = self._connection().get_transport()
            if transport is None or not transport.is_active():
                raise SshError(f"the connection to {self._target.host} is closed")
            code, out, err = exec_channel(transport, command, shown, stdin, timeout, on_output, self._clock)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise SshError(f"running {shown[0]!r} on {self._target.host} failed: {exc}") from exc
        return Completed(shown, code, out, err, self._clock.monotonic() - started)

    # --- files ----------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def write_bytes(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        with self.open_write(path, mode=mode) as handle:
            handle.write(data)

    @contextlib.contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        with _sftp_errors(path):
            handle = self._files().open(path, "rb")
        with handle:
            handle.prefetch()
            yield handle  # type: ignore[misc]

    @contextlib.contextmanager
    def open_write(self, path: str, *, mode: int | None = None) -> Iterator[BinaryIO]:
        """A remote file that replaces ``path`` only once fully written.

        A dropped connection leaves at most a ``.tmp-*`` file, never a partial
        ``path``: an upload either fully counts or does not count at all.
        """
        sftp = self._files()
        temp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with _sftp_errors(path):
            handle = sftp.open(temp, "w+b")
        try:
            with handle:
                handle.set_pipelined(True)
                if mode is not None:
                    sftp.chmod(temp, mode)
                yield handle  # type: ignore[misc]
            with _sftp_errors(path):
                self._replace(temp, path)
        finally:
            with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                sftp.remove(temp)

    def _replace(self, src: str, dst: str) -> None:
        sftp = self._files()
        if self._target.platform is HostPlatform.WINDOWS:
            # Win32-OpenSSH has no posix-rename extension; plain rename refuses an existing target.
            with contextlib.suppress(OSError):
                sftp.remove(dst)
            sftp.rename(src, dst)
        else:
            sftp.posix_rename(src, dst)

    def exists(self, path: str) -> bool:
        return self._stat(path) is not None

    def is_dir(self, path: str) -> bool:
        found = self._stat(path)
        return found is not None and stat.S_ISDIR(found.st_mode or 0)

    def size(self, path: str) -> int:
        with _sftp_errors(path):
            return int(self._files().stat(path).st_size or 0)

    def _stat(self, path: str) -> paramiko.SFTPAttributes | None:
        try:
            return self._files().lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HostFileError(path, str(exc)) from exc

    def mkdir(self, path: str) -> None:
        if self.is_dir(path):
            return
        parent = self.path.dirname(path)
        if parent and parent != path:
            self.mkdir(parent)
        with _sftp_errors(path):
            try:
                self._files().mkdir(path)
            except OSError:
                if not self.is_dir(path):  # lost a race with another creator: fine
                    raise

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError), _sftp_errors(path, missing_ok=True):
            self._files().remove(path)

    def remove_tree(self, path: str) -> None:
        found = self._stat(path)
        if found is None:
            return
        if not stat.S_ISDIR(found.st_mode or 0):
            self.remove(path)
            return
        for name in self.list_dir(path):
            self.remove_tree(self.path.join(path, name))
        with _sftp_errors(path, missing_ok=True):
            self._files().rmdir(path)

    def rename(self, src: str, dst: str) -> None:
        with _sftp_errors(src):
            self._replace(src, dst)

    def copy_file(self, src: str, dst: str) -> None:
        with self.open_read(src) as source, self.open_write(dst) as target:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                target.write(chunk)

    def list_dir(self, path: str) -> list[str]:
        with _sftp_errors(path):
            return sorted(self._files().listdir(path))

    def make_temp_dir(self, prefix: str = "vmtk-") -> str:
        base = self._target.temp_dir or ("C:/Windows/Temp" if self.path is ntpath else "/tmp")
        path = self.path.join(base, f"{prefix}{uuid.uuid4().hex[:12]}")
        with _sftp_errors(path):
            self._files().mkdir(path, mode=0o700)
        return path

    def lock(self, path: str, *, timeout: float) -> contextlib.AbstractContextManager[None]:
        """A lock on a host path, held on this (the calling) machine.

        Every CPI process that drives this host runs on the same machine (the
        director, or the machine running create-env), so an OS-level file lock
        here serializes them, and the OS releases it if a holder is killed.
        """
        return self._locks.lock(self._local_lock_path(path), timeout=timeout)

    def _local_lock_path(self, path: str) -> str:
        key = f"{self._target.host}:{self._target.port}:{path}".encode()
        folder = self._lock_dir or posixpath.join(tempfile.gettempdir(), "vmtk-ssh-locks")
        self._locks.mkdir(folder)
        return self._locks.path.join(folder, hashlib.sha256(key).hexdigest()[:32] + ".lock")


@contextlib.contextmanager
def _sftp_errors(path: str, *, missing_ok: bool = False) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        if not missing_ok:
            raise HostFileNotFound(path) from exc
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise HostFileError(path, str(exc) or type(exc).__name__) from exc

