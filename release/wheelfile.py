"""Pure-Python wheels written by the release builder itself, reproducibly.

Why: PyYAML publishes binary wheels per interpreter and platform only, never a
``py3-none-any`` one, yet its pure-Python implementation (``lib/yaml`` in the
sdist) works everywhere: ``yaml`` falls back to it when the C extension is
absent (``yaml.__with_libyaml__`` is then False). Repacking it keeps the
release's local mode free of compiled code, so it installs on any OS and CPU.
Responsible for the wheel format (dist-info, RECORD, fixed zip timestamps).
Must NOT download or run programs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import posixpath
import tarfile
import zipfile
from collections.abc import Mapping

from release.errors import ReleaseBuildError

# zip cannot store dates before 1980; any fixed date makes the bytes reproducible.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def write_wheel(dist: str, version: str, files: Mapping[str, bytes], metadata: bytes) -> tuple[str, bytes]:
    """A ``py3-none-any`` wheel of ``files`` (archive path -> bytes): (file name, bytes)."""
    info = f"{dist}-{version}.dist-info"
    wheel = b"Wheel-Version: 1.0\nGenerator: vmtk release builder\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    contents = dict(files)
    contents[f"{info}/METADATA"] = metadata
    contents[f"{info}/WHEEL"] = wheel
    contents[f"{info}/RECORD"] = _record(contents, f"{info}/RECORD")
    return f"{dist}-{version}-py3-none-any.whl", _zip(contents)


def _record(contents: Mapping[str, bytes], record_path: str) -> bytes:
    lines = []
    for path in sorted(contents):
        digest = base64.urlsafe_b64encode(hashlib.sha256(contents[path]).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(contents[path])}")
    lines.append(f"{record_path},,")
    return ("\n".join(lines) + "\n").encode()


def _zip(contents: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(contents):
            info = zipfile.ZipInfo(path, date_time=_FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, contents[path])
    return out.getvalue()


def pyyaml_wheel(sdist: bytes) -> tuple[str, bytes]:
    """The pure-Python ``yaml`` package of a PyYAML sdist, as a ``py3-none-any`` wheel."""
    files: dict[str, bytes] = {}
    metadata = b""
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if member.isfile() and parts[1:2] == ["PKG-INFO"] and len(parts) == 2:
                metadata = _read(tar, member)
            elif member.isfile() and parts[1:3] == ["lib", "yaml"] and parts[-1].endswith(".py"):
                files[posixpath.join("yaml", *parts[3:])] = _read(tar, member)
    version = _field(metadata, "Version")
    if "yaml/__init__.py" not in files or not version:
        raise ReleaseBuildError("the PyYAML sdist has no lib/yaml/__init__.py or no PKG-INFO version")
    return write_wheel("PyYAML", version, files, metadata)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise ReleaseBuildError(f"cannot read {member.name} from the PyYAML sdist")
    return handle.read()


def _field(metadata: bytes, name: str) -> str:
    for line in metadata.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    return ""
