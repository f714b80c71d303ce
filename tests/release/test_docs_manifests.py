"""Every manifest the docs show interpolates with the real bosh CLI and the documented flags.

``bosh int --var-errs`` fails on a ``((variable))`` that neither the vars store
(with the manifest's ``variables:``) nor a ``-v`` flag provides: what create-env
would stop on before it starts. Manifests are the ``yaml`` blocks of docs/*.md
that have ``cloud_provider`` or ``instance_groups``, and docs/examples/*.yml; the
``-v`` flags are those of the documented commands that name the manifest's file
(``my-vm.yml`` for the inline example).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.bosh_cli import bosh_binary

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_NAME = "my-vm.yml"  # the file name docs/bosh.md's commands give the inline example


def documented_manifests() -> list[tuple[str, str, str]]:
    """(where, file name its commands use, manifest text)."""
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        for index, (lang, body) in enumerate(FENCED.findall(doc.read_text())):
            loaded = yaml.safe_load(body) if lang == "yaml" else None
            if isinstance(loaded, dict) and ({"cloud_provider", "instance_groups"} & set(loaded)):
                found.append((f"{doc.name} block {index}", INLINE_NAME, body))
    for example in sorted((DOCS / "examples").glob("*.yml")):
        found.append((f"examples/{example.name}", example.name, example.read_text()))
    return found


def documented_vars(file_name: str) -> list[str]:
    """``-v`` names of every documented ``bosh`` command (continued lines joined) that names ``file_name``."""
    names: list[str] = []
    for doc in DOCS.glob("*.md"):
        text = doc.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            if "bosh " in line and file_name in line:
                names += [n for n in re.findall(r"-v (\w+)=", line) if n not in names]
    return names


def test_the_docs_show_manifests() -> None:
    where = [entry[0] for entry in documented_manifests()]
    assert any(w.startswith("bosh.md") for w in where) and "examples/sim-create-env.yml" in where


@pytest.mark.parametrize(("where", "file_name", "text"), [pytest.param(*m, id=m[0]) for m in documented_manifests()])
def test_a_documented_manifest_interpolates(where: str, file_name: str, text: str, tmp_path: Path) -> None:
    binary = bosh_binary()
    if binary is None:
        pytest.skip("no bosh CLI: set BOSH_BIN or put bosh on PATH (.ci/run uses ../shared/tools/bosh-cli)")
    manifest = tmp_path / file_name
    manifest.write_text(text)
    flags = [arg for name in documented_vars(file_name) for arg in ("-v", f"{name}=x")]
    done = subprocess.run(
        [binary, "int", str(manifest), "--vars-store", str(tmp_path / "creds.yml"), "--var-errs", *flags],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, f"{where}: {done.stdout}{done.stderr}"
    assert "((" not in done.stdout  # nothing left uninterpolated
