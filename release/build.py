"""``make release``: build ``dist/bosh-vmrun-cpi-<version>.tgz`` and print its sha1.

``python -m release.build [--version V] [--out DIR] [--cache DIR] [--relock]``

Composes the other modules: pinned files from the cache (``blobs``), vmtk's and
PyYAML's wheels (``project``, ``wheelfile``), then the job and package archives
and ``release.MF`` (``assemble``). The version defaults to vmtk's (from its
wheel, i.e. pyproject.toml). The only module that prints, and only its result.
Must NOT know archive or wheel formats itself.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from release import assemble, blobs, project, wheelfile
from release.commands import run
from release.errors import ReleaseBuildError

NAME = "bosh-vmrun-cpi"
ROOT = Path(__file__).resolve().parents[1]
RELEASE_DIR = ROOT / "release"
INDEX = RELEASE_DIR / "config" / "blobs.yml"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Built:
    path: Path
    version: str
    sha1: str  # hex, for a manifest's `releases[].sha1`
    sha256: str  # hex


def build(out_dir: Path, cache: Path, version: str | None = None, root: Path = ROOT) -> Built:
    pinned = blobs.ensure(blobs.read_index(INDEX.read_text(encoding="utf-8")), cache, run)
    state = project.git_state(root, run)
    files = {p: path.read_bytes() for p, path in pinned.items() if p.startswith("wheels/")}
    vmtk_name, vmtk = project.project_wheel(root, cache / "build", state.commit_time, run)
    yaml_name, pure_yaml = wheelfile.pyyaml_wheel(pinned[_one(pinned, "sources/")].read_bytes())
    files |= {f"wheels/{vmtk_name}": vmtk, f"wheels/{yaml_name}": pure_yaml}
    version = version or vmtk_name.split("-")[1]
    parts = [
        assemble.job(RELEASE_DIR / "jobs" / "vmrun_cpi"),
        assemble.package(RELEASE_DIR / "packages" / "vmrun_cpi", files),
    ]
    manifest = assemble.release_manifest(NAME, version, state.commit_hash, state.uncommitted_changes, parts)
    return _write(out_dir / f"{NAME}-{version}.tgz", version, assemble.release_tarball(manifest, parts))


def _one(pinned: dict[str, Path], prefix: str) -> str:
    found = [p for p in pinned if p.startswith(prefix)]
    if len(found) != 1:
        raise ReleaseBuildError(f"expected one pinned file under {prefix}, found {found}")
    return found[0]


def _write(path: Path, version: str, data: bytes) -> Built:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)  # a failed build never leaves a truncated tarball behind
    return Built(path, version, hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest())


def relock(cache: Path) -> Path:
    INDEX.write_text(blobs.render_index(blobs.relock(cache, run)), encoding="utf-8")
    return INDEX


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release.build", description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="release version (default: vmtk's version)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default: dist/)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "wheels", help="pinned-file cache")
    parser.add_argument("--relock", action="store_true", help="re-resolve the pins and rewrite config/blobs.yml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.relock:
            print(f"rewrote {relock(args.cache)}")
            return 0
        built = build(args.out, args.cache, args.version)
    except ReleaseBuildError as exc:
        print(f"make release: {exc}", file=sys.stderr)
        return 1
    print(f"{built.path}\nversion: {built.version}\nsha1: {built.sha1}\nsha256: sha256:{built.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
