"""The documents' examples, walked as a reader walks them: in order, in one shell, outside the checkout.

Every ```` ```sh example ```` and ```` ```python example ```` block of README.md
and docs/*.md runs, document after document and block after block, in ONE
``bash -e`` session whose working directory is an empty temporary directory (not
the checkout), with nothing set but what the documents themselves tell the
reader to set: the environment is emptied of ``VMTK_*`` and ``VMRUN_SIM_HOME``,
``HOME`` is a fresh directory, and ``PATH`` starts with the ``bin`` of a
virtualenv where the project's wheel is installed (not editable). So an example
that needs the checkout's files, or that only works alone, or that clashes
with the one before it (a reused VM folder, a simulator counting calls made by
an earlier example), fails here as it would for a reader.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.installed import Installed

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(?P<kind>sh|python) example[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def documents() -> list[Path]:
    """README first, then the other documents in the order a reader follows README's links."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def walk_script() -> str:
    """Every example block, in order, as one shell script; each Python block is saved and run as a reader would."""
    parts = []
    for document in documents():
        for number, found in enumerate(BLOCK.finditer(document.read_text(encoding="utf-8")), start=1):
            where = f"{document.relative_to(ROOT)} example {number}"
            body = found["body"] if found["kind"] == "sh" else _as_shell(found["body"])
            parts.append(f"echo '>>> {where}' >&2\n{body}")
    return "\n".join(parts)


def _as_shell(python: str) -> str:
    return f"cat > example.py <<'EXAMPLE'\n{python}EXAMPLE\npython example.py\n"


def test_the_block_pattern_finds_tagged_blocks_only() -> None:
    text = "```sh\nnot me\n```\n```sh example\necho yes\n```\n```python\nno\n```\n```python example\nprint(1)\n```\n"
    assert [(m["kind"], m["body"]) for m in BLOCK.finditer(text)] == [("sh", "echo yes\n"), ("python", "print(1)\n")]


def test_the_walk_covers_readme_and_the_cli_reference() -> None:
    script = walk_script()
    assert ">>> README.md example 1" in script and ">>> docs/cli.md example 1" in script


@pytest.mark.slow
@pytest.mark.real_process
@pytest.mark.timeout(600)
def test_every_documented_example_runs_in_order_in_one_shell_outside_the_checkout(
    installed: Installed, tmp_path: Path
) -> None:
    workdir, home = tmp_path / "reader", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    env = installed.env(HOME=str(home))  # no VMTK_*, VMRUN_SIM_*, PYTHON* or PYTEST* variables
    done = subprocess.run(
        ["bash", "-e", "-c", walk_script()], cwd=workdir, env=env, capture_output=True, text=True, timeout=540
    )
    failed_at = [line for line in done.stderr.splitlines() if line.startswith(">>> ")][-1:]
    assert done.returncode == 0, (
        f"failed in {failed_at}:\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    )
    assert str(ROOT) not in done.stdout + done.stderr, "an example reached into the checkout"
