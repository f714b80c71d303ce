"""Host file operations over SFTP, for the SSH runner.

A mixin: the runner supplies ``_files()`` (its SFTP session), ``path`` (the
host's path flavour) and ``_target``. Writes are atomic (temporary name, then
rename), so an upload cut off by a dropped connection never counts. Must not run
programs.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any, BinaryIO

import paramiko

from toolkit.errors import HostFileError, HostFileNotFound
from toolkit.host.ssh.target import HostPlatform, SshTarget

__all__ = ["SftpFiles"]


class SftpFiles:
    _target: SshTarget

    @property
    def path(self) -> ModuleType:
        raise NotImplementedError

    def _files(self) -> paramiko.SFTPClient:
        raise NotImplementedError

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
            yield _BinaryFile(handle)  # type: ignore[misc]

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
                yield _BinaryFile(handle)  # type: ignore[misc]
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

    def absolute(self, path: str) -> str:
        """Relative to the login directory, where the SFTP session and remote commands start."""
        if self.path.isabs(path):
            return path
        with _sftp_errors(path):
            home = self._files().normalize(".")
        if self.path is not posixpath and home.startswith("/") and home[2:3] == ":":
            home = home[1:]  # Win32-OpenSSH answers "/C:/Users/x"
        return str(self.path.normpath(self.path.join(home, path)))

    def make_temp_dir(self, prefix: str = "vmtk-") -> str:
        base = self._target.temp_dir or ("C:/Windows/Temp" if self._target.platform is HostPlatform.WINDOWS else "/tmp")
        path = str(self.path.join(base, f"{prefix}{uuid.uuid4().hex[:12]}"))
        with _sftp_errors(path):
            self._files().mkdir(path, mode=0o700)
        return path


class _BinaryFile:
    """An SFTP file that answers like ``BinaryIO``.

    paramiko's ``seek`` and ``write`` return ``None``; callers such as the VMDK
    writers use the new position (``f.seek(0, 2) >= size``) and the count written.
    """

    def __init__(self, handle: paramiko.SFTPFile) -> None:
        self._handle = handle

    def seek(self, offset: int, whence: int = 0) -> int:
        self._handle.seek(offset, whence)
        return int(self._handle.tell())

    def write(self, data: bytes) -> int:
        self._handle.write(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


@contextlib.contextmanager
def _sftp_errors(path: str, *, missing_ok: bool = False) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        if not missing_ok:
            raise HostFileNotFound(path) from exc
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise HostFileError(path, str(exc) or type(exc).__name__) from exc
