"""The ovftool driver: version probe and OVF -> VMX import with progress.

The only module that knows ovftool's flags and messages. ovftool reports on
stdout: ``Opening OVF source: ...``, ``Writing VMX file: ...``, ``Disk progress:
N%`` items separated by carriage returns (it redraws one terminal line), then
``Completed successfully``; or ``Error: <reason>`` (with `` - `` detail lines)
and ``Completed with errors``. ``parse_import_output`` reads that text; it is a
pure function tested against ``fixtures/outputs/ovftool``. Programs run only
through the injected ``Runner``; this module never touches files itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from toolkit.errors import OvftoolError
from toolkit.host.clock import Clock
from toolkit.host.runner import Runner

__all__ = ["FAILURE", "IMPORT_TIMEOUT", "ImportResult", "Ovftool", "SUCCESS", "VERSION_TIMEOUT", "parse_import_output"]

log = logging.getLogger(__name__)

IMPORT_TIMEOUT = 3 * 3600.0  # a multi-GB stemcell disk on a slow host disk
VERSION_TIMEOUT = 60.0
SUCCESS = "Completed successfully"
FAILURE = "Completed with errors"
_PROGRESS = re.compile(r"Disk progress:\s*(\d+)%")
_VERSION = re.compile(r"VMware ovftool (\S+) \(build-(\d+)\)")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ovftool said about an import."""

    ok: bool
    errors: tuple[str, ...]  # "Target already exists: app.vmx", with " - " details appended
    warnings: tuple[str, ...]
    progress: tuple[int, ...]


def _lines(output: str) -> list[str]:
    return [line.rstrip() for line in re.split(r"\r\n|\r|\n", output) if line.strip()]


def parse_import_output(output: str) -> ImportResult:
    """Read ovftool's import answer (pure)."""
    errors: list[str] = []
    warnings: list[str] = []
    block: list[str] | None = None
    for line in _lines(output):
        if line.startswith("Error:"):
            block = errors
            errors.append(line[len("Error:") :].strip())
        elif line.startswith("Warning:"):
            block = warnings
            if line[len("Warning:") :].strip():
                warnings.append(line[len("Warning:") :].strip())
        elif line.startswith(" - ") and block is not None:
            _detail(block, line[3:].strip(), block is errors)
        else:
            block = None
    progress = tuple(int(m) for m in _PROGRESS.findall(output))
    ok = SUCCESS in output and FAILURE not in output and not errors
    return ImportResult(ok, tuple(errors), tuple(warnings), progress)


def _detail(block: list[str], text: str, joined: bool) -> None:
    # Error details belong to their error ("not supported by target:" + " - Line 25: ...").
    if joined and block:
        block[-1] = f"{block[-1]} {text}".strip()
    else:
        block.append(text)


class _ProgressFeed:
    """Turns output chunks into ``on_progress(percent)`` calls, whatever the chunking."""

    def __init__(self, on_progress: Callable[[int], None]) -> None:
        self._on_progress = on_progress
        self._pending = ""
        self._last = -1

    def __call__(self, chunk: str) -> None:
        *complete, self._pending = re.split(r"\r|\n", self._pending + chunk)
        for item in complete:
            match = _PROGRESS.search(item)
            if match and int(match.group(1)) != self._last:
                self._last = int(match.group(1))
                self._on_progress(self._last)


class Ovftool:
    """``ovftool`` at ``binary`` on the runner's host."""

    def __init__(self, runner: Runner, binary: str, clock: Clock, *, timeout: float = IMPORT_TIMEOUT) -> None:
        self._runner = runner
        self._binary = binary
        self._clock = clock
        self._timeout = timeout

    def version(self) -> str:
        """``VMware ovftool 4.6.3 (build-24031167)``; ``OvftoolError`` if it does not answer so."""
        done = self._runner.run([self._binary, "-v"], timeout=VERSION_TIMEOUT)
        match = _VERSION.search(done.stdout)
        if not done.ok or match is None:
            raise OvftoolError("ovftool did not report its version", argv=done.argv, output=done.stdout + done.stderr)
        return match.group(0)

    def import_ovf(
        self,
        ovf_path: str,
        vmx_path: str,
        *,
        name: str,
        on_progress: Callable[[int], None] | None = None,
        lax: bool = False,
    ) -> None:
        """Import ``ovf_path`` as VM ``name`` into ``vmx_path`` (its disks land beside it)."""
        argv = [self._binary, "--acceptAllEulas", "--allowExtraConfig", *(["--lax"] if lax else [])]
        argv += ["--sourceType=OVF", "--targetType=VMX", f"--name={name}", ovf_path, vmx_path]
        started = self._clock.monotonic()
        feed = _ProgressFeed(on_progress) if on_progress else None
        done = self._runner.run(argv, timeout=self._timeout, on_output=feed)
        result = parse_import_output(done.stdout)
        for warning in result.warnings:
            log.warning("ovftool: %s", warning)
        if not (done.ok and result.ok):
            reason = "; ".join(result.errors) or f"exited with code {done.exit_code}"
            raise OvftoolError(
                f"ovftool import of {ovf_path!r} failed: {reason}", argv=done.argv, output=done.stdout + done.stderr
            )
        log.info("ovftool imported %s into %s in %.1f s", ovf_path, vmx_path, self._clock.monotonic() - started)
