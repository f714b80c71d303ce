"""The release, built once per test session, compiled once (``installation``), and helpers to
render, install and call it as the bosh CLI would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from release.build import ROOT, Built, build

JOB_DIR = ROOT / "release" / "jobs" / "vmrun_cpi"
RENDER = Path(__file__).with_name("render.rb")
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull, "PATH": "/usr/local/bin:/usr/bin:/bin"}
BASH = shutil.which("bash") or "/bin/bash"
CACHE = ROOT / ".cache" / "wheels"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """``make release`` into a temp dir (downloads the pinned wheels once into .cache/wheels)."""
    return build(tmp_path_factory.mktemp("dist"), CACHE)


@pytest.fixture(scope="session")
def unpacked(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract(built.path.read_bytes(), tmp_path_factory.mktemp("release"))


def extract(data: bytes, dest: Path) -> Path:
    import io

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest


def merged_properties(manifest_properties: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees, as the bosh CLI computes it: every property the job
    spec declares, from the manifest or else its default (else null), nested."""
    spec = yaml.safe_load((JOB_DIR / "spec").read_text())
    merged: dict[str, Any] = {}
    for dotted, declaration in spec["properties"].items():
        value = _lookup(manifest_properties, dotted)
        if value is None:
            value = (declaration or {}).get("default")
        _assign(merged, dotted.split("."), value)
    return merged


def _lookup(properties: Mapping[str, Any], dotted: str) -> Any:
    node: Any = properties
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _assign(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def render(template: str, manifest_properties: Mapping[str, Any], tmp_path: Path) -> str:
    """Render ``templates/<template>`` with Ruby's ERB (skips when ruby is absent)."""
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (.ci/run installs it)")
    props = tmp_path / f"{template}.properties.json"
    props.write_text(json.dumps(merged_properties(manifest_properties)))
    done = subprocess.run(
        [ruby, str(RENDER), str(JOB_DIR / "templates" / template), str(props)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def compile_package(unpacked: Path, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``bash -x packaging`` in the unpacked package, as the bosh CLI runs it."""
    source, target = root / "compile" / "vmrun_cpi", root / "packages" / "vmrun_cpi"
    source.mkdir(parents=True)
    target.mkdir(parents=True)
    with tarfile.open(unpacked / "packages" / "vmrun_cpi.tgz") as tar:
        tar.extractall(source, filter="data")
    bosh = {
        "BOSH_COMPILE_TARGET": str(source),
        "BOSH_INSTALL_TARGET": str(target),
        "BOSH_PACKAGE_NAME": "vmrun_cpi",
        "BOSH_PACKAGES_DIR": str(root / "packages"),
    }
    return subprocess.run(
        [BASH, "-x", "packaging"],
        cwd=source,
        env={**env, **bosh},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def installation(unpacked: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bosh")
    done = compile_package(unpacked, root, OFFLINE)
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def install_job(root: Path, properties: dict[str, Any], tmp_path: Path) -> Path:
    job = root / "jobs" / "vmrun_cpi"
    shutil.rmtree(job, ignore_errors=True)
    (job / "bin").mkdir(parents=True)
    (job / "config").mkdir()
    (job / "bin" / "cpi").write_text(render("cpi.erb", properties, tmp_path))
    (job / "bin" / "cpi").chmod(0o755)
    (job / "config" / "cpi.json").write_text(render("cpi.json.erb", properties, tmp_path))
    return job / "bin" / "cpi"


def call(cpi: Path, root: Path, method: str, *args: Any, env: dict[str, str] | None = None) -> Any:
    """One CPI call the way the bosh CLI makes it: no arguments, one request on stdin."""
    request = {
        "method": method,
        "arguments": list(args),
        "context": {"director_uuid": "d"},
        "api_version": 1 if method == "info" else 2,
    }
    run_env = {
        "PATH": "/usr/bin:/bin",
        "BOSH_PACKAGES_DIR": str(root / "packages"),
        "BOSH_JOBS_DIR": str(root / "jobs"),
        **(env or {}),
    }
    done = subprocess.run(
        [str(cpi)],
        input=json.dumps(request),
        env=run_env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    response = json.loads(done.stdout)
    assert response["error"] is None, (response, done.stderr[-3000:])
    assert "mbus-Secret" not in done.stdout + done.stderr
    return response["result"]
