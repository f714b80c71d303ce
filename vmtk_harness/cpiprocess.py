"""The ``bosh-vmrun-cpi`` executable as the bosh CLI calls it, seen from outside.

``request`` builds one request body (API version 2), ``run`` sends it to
``EXECUTABLE CONFIG`` through a Runner (one process per request, the body on
stdin), and ``answer`` reads the one JSON response that comes back: its result
and log, or ``CpiErrorResponse`` when the CPI answered an error.
``reference_image`` packs the VMware-written reference OVF and streamOptimized
VMDK as a stemcell ``image``. This module knows the executable only by its path
and its JSON: it never imports the CPI.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.host.runner import Completed, Runner

__all__ = ["CpiErrorResponse", "answer", "reference_image", "request", "run"]

API_VERSION = 2
REFERENCE_FILES = ("image.ovf", "image.vmdk")


class CpiErrorResponse(ToolkitError):
    """The CPI executable answered ``{"error": {...}}``; the message is ``METHOD: TYPE: MESSAGE``."""

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('type')}: {error.get('message')}")
        self.method = method
        self.error = error


def request(method: str, arguments: Sequence[Any], context: Mapping[str, Any]) -> bytes:
    """One request body as bosh writes it to the CPI's stdin."""
    body = {"method": method, "arguments": list(arguments), "api_version": API_VERSION, "context": dict(context)}
    return json.dumps(body).encode()


def run(runner: Runner, executable: str, config: Path, body: bytes, *, timeout: float) -> Completed:
    """One ``EXECUTABLE CONFIG`` process answering ``body``; a non-zero exit is data, as from any Runner."""
    return runner.run([executable, str(config)], stdin=body, timeout=timeout)


def answer(method: str, stdout: str | bytes) -> tuple[Any, str]:
    """The result and log of the response on ``stdout``.

    ``ValueError`` if stdout holds no JSON (callers say what the process left
    instead); ``CpiErrorResponse`` if the response carries an error.
    """
    response = json.loads(stdout)
    if response.get("error"):
        raise CpiErrorResponse(method, response["error"])
    return response.get("result"), response.get("log") or ""


def reference_image(reference: Path) -> bytes:
    """A stemcell ``image`` (gzipped tar of OVF, VMDK and their SHA1 manifest) from ``reference``'s files."""
    files = {name: (reference / name).read_bytes() for name in REFERENCE_FILES}
    # The reference's own image.mf names another disk (test.vmdk): write the manifest these files need.
    files["image.mf"] = "".join(f"SHA1({n})= {hashlib.sha1(d).hexdigest()}\n" for n, d in files.items()).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
