"""A BOSH release tarball from job and package sources, in the layout the bosh CLI reads.

Layout: ``release.MF``, ``jobs/<job>.tgz`` (``job.MF`` = the job spec, ``monit``,
``templates/...``) and ``packages/<package>.tgz`` (``packaging`` plus the files
the package spec's ``files`` globs select). Each job and package is versioned by
its fingerprint, and ``release.MF`` records the ``sha256:<hex>`` of each archive.
Responsible for reading the release sources under ``release/`` and for the
manifest. Must NOT fetch or build wheels (they arrive as bytes).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from release.errors import ReleaseBuildError
from release.tarballs import Entry, fingerprint, sha256_digest, tgz


@dataclass(frozen=True, slots=True)
class Part:
    """One job or package of the release: its manifest record and archive bytes."""

    kind: str  # "jobs" | "packages"
    name: str
    fingerprint: str
    archive: bytes = field(repr=False)
    links: tuple[str, ...] = ()  # a job's packages, a package's dependencies

    def record(self) -> dict[str, Any]:
        links = "packages" if self.kind == "jobs" else "dependencies"
        return {
            "name": self.name,
            "version": self.fingerprint,
            "fingerprint": self.fingerprint,
            "sha1": sha256_digest(self.archive),
            links: list(self.links),
        }


def job(job_dir: Path) -> Part:
    spec_bytes = (job_dir / "spec").read_bytes()
    spec = _spec(spec_bytes, job_dir / "spec")
    entries = [Entry("job.MF", spec_bytes), Entry("monit", (job_dir / "monit").read_bytes())]
    for template in sorted(spec.get("templates") or {}):
        entries.append(Entry(f"templates/{template}", (job_dir / "templates" / template).read_bytes()))
    packages = tuple(spec.get("packages") or ())
    return Part("jobs", spec["name"], fingerprint(entries), tgz(entries), packages)


def package(package_dir: Path, files: Mapping[str, bytes]) -> Part:
    """``files`` (path -> bytes) are the candidates the spec's globs choose from."""
    spec = _spec((package_dir / "spec").read_bytes(), package_dir / "spec")
    entries = [Entry("packaging", (package_dir / "packaging").read_bytes(), 0o755)]
    for pattern in spec.get("files") or ():
        chosen = sorted(p for p in files if fnmatch.fnmatchcase(p, pattern))
        if not chosen:
            raise ReleaseBuildError(f"package {spec['name']}: no file matches {pattern!r}")
        entries += [Entry(p, files[p]) for p in chosen]
    dependencies = tuple(spec.get("dependencies") or ())
    return Part("packages", spec["name"], fingerprint(entries, dependencies), tgz(entries), dependencies)


def _spec(data: bytes, path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise ReleaseBuildError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ReleaseBuildError(f"{path} must be a mapping with a name")
    return spec


def release_manifest(name: str, version: str, commit_hash: str, dirty: bool, parts: list[Part]) -> bytes:
    body = {
        "name": name,
        "version": version,
        "commit_hash": commit_hash,
        "uncommitted_changes": dirty,
        "jobs": [p.record() for p in parts if p.kind == "jobs"],
        "packages": [p.record() for p in parts if p.kind == "packages"],
    }
    return yaml.safe_dump(body, sort_keys=False).encode()


def release_tarball(manifest: bytes, parts: list[Part]) -> bytes:
    entries = [Entry("release.MF", manifest)]
    entries += [Entry(f"{p.kind}/{p.name}.tgz", p.archive) for p in parts]
    return tgz(entries)
