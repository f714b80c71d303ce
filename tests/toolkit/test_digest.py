"""SHA-256 of a file read through a Runner, in chunks."""

from __future__ import annotations

import hashlib
from pathlib import Path

from toolkit.host.digest import CHUNK, sha256_of
from toolkit.host.runner import LocalRunner


def test_sha256_of_matches_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    for size in (0, 1, CHUNK, CHUNK + 7):
        path = tmp_path / f"f{size}"
        data = bytes(i % 251 for i in range(size))
        path.write_bytes(data)
        assert sha256_of(LocalRunner(), str(path)) == hashlib.sha256(data).hexdigest()
