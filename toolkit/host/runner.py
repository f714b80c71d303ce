"""The one boundary that runs programs and touches files on the VMware host.

A ``Runner`` reports and never judges: a non-zero exit comes back as data in
``Completed``; ``RunnerError`` is raised only when a program could not run at
all (spawn failure, timeout) or a file operation failed. Everything above this
module (vmrun driver, guest operations, stores, the CPI) reaches the host only
through a Runner, so ``SshRunner`` can replace ``LocalRunner`` unchanged.

Host paths are strings in the host's own flavour; ``runner.path`` is the
matching ``posixpath`` or ``ntpath`` module for joining and splitting them.
"""

from __future__ import annotations

import contextlib
import logging
import ntpath
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import IO, BinaryIO, Protocol

import filelock

from toolkit.errors import (
    CommandTimeout,
    HostFileError,
    HostFileNotFound,
    LockTimeout,
    SpawnError,
)
from toolkit.host import interrupts
from toolkit.host.clock import Clock, SystemClock

__all__ = ["Completed", "LOCK_POLL_SECONDS", "LocalRunner", "Runner", "argv_list", "decode", "redact"]

log = logging.getLogger(__name__)

# vmrun flags whose following argument is a secret (guest / VM-encryption password).
_SECRET_FLAGS = frozenset({"-gp", "-vp"})
LOCK_POLL_SECONDS = 0.05
# How long an interrupted child may take to end after SIGTERM (a CPI child rolls back first).
STOP_GRACE_SECONDS = 10.0
OutputSink = Callable[[str], None]


def argv_list(argv: Sequence[str]) -> list[str]:
    """``argv`` as a list of arguments; a bare string is refused.

    No runner ever hands a command to a shell, and a string is a sequence too:
    it would be run as one program per character and fail obscurely.
    """
    if isinstance(argv, (str, bytes)):
        raise TypeError(f"argv must be a list of arguments, not {type(argv).__name__} {argv[:60]!r}")
    return list(argv)


def redact(argv: Sequence[str]) -> tuple[str, ...]:
    """argv with every secret flag's value replaced by ``***``."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in _SECRET_FLAGS:
            out[i + 1] = "***"
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Completed:
    """What a program did. ``argv`` is redacted."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Runner(Protocol):
    """Programs and files on the VMware host (see module docstring)."""

    @property
    def path(self) -> ModuleType: ...

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        stdin: bytes | None = None,
        on_output: OutputSink | None = None,
        detach: bool = False,
    ) -> Completed: ...

    """Run ``argv``; ``detach``: what it starts must outlive this runner's session."""

    def read_bytes(self, path: str) -> bytes: ...

    def write_bytes(self, path: str, data: bytes, *, mode: int | None = None) -> None: ...

    def open_read(self, path: str) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def open_write(self, path: str, *, mode: int | None = None) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def size(self, path: str) -> int: ...

    def mkdir(self, path: str) -> None: ...

    def remove(self, path: str) -> None: ...

    def remove_tree(self, path: str) -> None: ...

    def rename(self, src: str, dst: str) -> None: ...

    def copy_file(self, src: str, dst: str) -> None: ...

    def list_dir(self, path: str) -> list[str]: ...

    def make_temp_dir(self, prefix: str = "vmtk-") -> str: ...

    def absolute(self, path: str) -> str:
        """``path`` made absolute on that host (relative to the directory programs run in)."""
        ...

    def lock(self, path: str, *, timeout: float) -> contextlib.AbstractContextManager[None]: ...

    def forget_lock(self, path: str) -> None:
        """Remove what ``lock(path)`` keeps for ``path`` (call it while holding the lock; none is fine)."""
        ...


def _spawn(
    argv: list[str], stdin: bytes | None, timeout: float, on_output: OutputSink | None
) -> tuple[int, bytes, bytes]:
    """Start ``argv`` and collect its output: the single seam tests guard."""
    with interrupts.held() as release:  # a signal inside Popen would orphan the child: raised below instead
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    try:
        release()
        return _collect(proc, stdin, timeout, on_output)
    except BaseException:
        _stop(proc)  # interrupted: a program we started must not outlive the call (nor race its cleanup)
        raise


def _collect(
    proc: subprocess.Popen[bytes], stdin: bytes | None, timeout: float, on_output: OutputSink | None
) -> tuple[int, bytes, bytes]:
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=_pump, args=(proc.stdout, out, on_output), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err, None), daemon=True),
    ]
    for reader in readers:
        reader.start()
    if stdin is not None and proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(stdin)
        proc.stdin.close()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise _Timeout(b"".join(out)) from None
    for reader in readers:
        reader.join()
    return code, b"".join(out), b"".join(err)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask ``proc`` to end (it may answer a signal with its own cleanup), then make sure it has."""
    with contextlib.suppress(OSError):
        proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Timeout(Exception):
    def __init__(self, partial: bytes) -> None:
        self.partial = partial


def _pump(stream: IO[bytes] | None, sink: list[bytes], on_output: OutputSink | None) -> None:
    if stream is None:
        return
    for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
        sink.append(chunk)
        if on_output is not None:
            on_output(decode(chunk))
    stream.close()


def decode(data: bytes) -> str:
    """Tool output as text: UTF-8, or the host's code page for localized Windows hosts."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(sys.getfilesystemencoding(), errors="replace")


class LocalRunner:
    """Runs programs and touches files on this machine."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()

    @property
    def path(self) -> ModuleType:
        return ntpath if os.name == "nt" else posixpath

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        stdin: bytes | None = None,
        on_output: OutputSink | None = None,
        detach: bool = False,
    ) -> Completed:
        # ``detach`` needs nothing here: local children already outlive us.
        argv = argv_list(argv)
        shown = redact(argv)
        log.debug("run %s", " ".join(shown))
        started = self._clock.monotonic()
        try:
            code, out, err = _spawn(argv, stdin, timeout, on_output)
        except OSError as exc:
            raise SpawnError(shown, exc.strerror or str(exc)) from exc
        except _Timeout as exc:
            raise CommandTimeout(shown, timeout, decode(exc.partial)) from None
        done = Completed(shown, code, decode(out), decode(err), self._clock.monotonic() - started)
        log.debug("exit %d from %s", code, shown[0])
        return done

    def absolute(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.abspath(path)  # an absolute one keeps its spelling

    def read_bytes(self, path: str) -> bytes:
        with _file_errors(path), open(path, "rb") as handle:
            return handle.read()

    def write_bytes(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        with self.open_write(path, mode=mode) as handle:
            handle.write(data)

    @contextlib.contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        with _file_errors(path), open(path, "rb") as handle:
            yield handle

    @contextlib.contextmanager
    def open_write(self, path: str, *, mode: int | None = None) -> Iterator[BinaryIO]:
        """A seekable file that replaces ``path`` atomically when the block succeeds.

        On any exception the temporary file is removed and ``path`` is untouched.
        """
        temp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with _file_errors(path):
            handle = open(temp, "w+b")
        try:
            with handle:
                if mode is not None:
                    os.chmod(temp, mode)
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            with _file_errors(path):
                os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def size(self, path: str) -> int:
        with _file_errors(path):
            return os.path.getsize(path)

    def mkdir(self, path: str) -> None:
        with _file_errors(path):
            os.makedirs(path, exist_ok=True)

    def remove(self, path: str) -> None:
        """Remove a file; a missing file is not an error (deletes are idempotent)."""
        with contextlib.suppress(HostFileNotFound), _file_errors(path):
            os.remove(path)

    def remove_tree(self, path: str) -> None:
        with contextlib.suppress(HostFileNotFound), _file_errors(path):
            shutil.rmtree(path)

    def rename(self, src: str, dst: str) -> None:
        with _file_errors(src):
            os.replace(src, dst)

    def copy_file(self, src: str, dst: str) -> None:
        with self.open_read(src) as source, self.open_write(dst) as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def list_dir(self, path: str) -> list[str]:
        with _file_errors(path):
            return sorted(os.listdir(path))

    def make_temp_dir(self, prefix: str = "vmtk-") -> str:
        return tempfile.mkdtemp(prefix=prefix)

    @contextlib.contextmanager
    def lock(self, path: str, *, timeout: float) -> Iterator[None]:
        """A cross-process lock (released by the OS if the holder dies); its folder is made if missing."""
        with _file_errors(path):
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        file_lock = filelock.FileLock(path)
        deadline = self._clock.monotonic() + timeout
        while True:
            try:
                file_lock.acquire(timeout=0)
                break
            except filelock.Timeout:
                if self._clock.monotonic() >= deadline:
                    raise LockTimeout(path, timeout) from None
                self._clock.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            file_lock.release()

    def forget_lock(self, path: str) -> None:
        self.remove(path)


@contextlib.contextmanager
def _file_errors(path: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        raise HostFileNotFound(path) from exc
    except OSError as exc:
        raise HostFileError(path, exc.strerror or str(exc)) from exc
