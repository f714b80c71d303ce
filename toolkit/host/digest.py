"""Content digests of files, read through a Runner in 1 MiB chunks (never whole into memory).

Stemcell images and release blobs are hundreds of MiB: their SHA-256 names an
imported copy (the CPI's SSH image cache, the harness's templates) or checks a
pinned download; the simulated agent checks blobs against BOSH's SHA-1 and
SHA-256 digests. Reads only; never writes.
"""

from __future__ import annotations

import hashlib

from toolkit.host.runner import Runner

__all__ = ["CHUNK", "digest_of", "sha256_of"]

CHUNK = 1 << 20


def sha256_of(runner: Runner, path: str) -> str:
    """The hex SHA-256 of the file at ``path`` as ``runner`` reads it."""
    return digest_of(runner, path, "sha256")


def digest_of(runner: Runner, path: str, algorithm: str) -> str:
    """The hex digest of the file at ``path`` with ``algorithm`` (a ``hashlib`` name)."""
    hasher = hashlib.new(algorithm)
    with runner.open_read(path) as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()
