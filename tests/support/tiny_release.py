"""A tiny BOSH release for the create-env flow test: one package, one job, as the CLI ships them.

``build_release`` writes the package archive as it sits in a release tarball
(``packaging`` and its sources at the top) and the rendered-jobs archive the
CLI uploads before apply (``<job>/bin/...``, ``<job>/monit``), each job
template rendered by Ruby's ERB like the vmrun_cpi job's templates. The
package's ``packaging`` really runs on the simulated agent; the scripts leave
markers in the guest that the test reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.release.conftest import RENDER

PACKAGE, JOB = "greeter", "greeter"
GREETING = "hello from create-env"
PACKAGING = (
    'set -e\ncp greeter/greeting.txt "$BOSH_INSTALL_TARGET/"\n'
    'echo "compiled $BOSH_PACKAGE_NAME" > "$BOSH_INSTALL_TARGET/compiled.txt"\n'
)
PRE_START = (
    "#!/bin/bash\nset -e\nmkdir -p /var/vcap/data/greeter\n"
    "{ echo '<%= p(\"greeter.greeting\") %>'; cat /var/vcap/packages/greeter/greeting.txt; }"
    " > /var/vcap/data/greeter/pre-start.marker\n"
)
POST_START = "#!/bin/bash\necho post-start > /var/vcap/data/greeter/post-start.marker\n"
DRAIN = '#!/bin/bash\necho "$1" > /var/vcap/data/greeter/drain.marker\necho 0\n'  # 0: stop at once
MONIT = "check process greeter\n  with pidfile /var/vcap/sys/run/greeter/greeter.pid\n  group vcap\n"


@dataclass(frozen=True)
class TinyRelease:
    """A package archive as in a release tarball and the rendered jobs archive the CLI uploads."""

    package: Path
    package_version: str
    job_version: str
    rendered_jobs: Path


def build_release(tmp_path: Path) -> TinyRelease:
    package = tmp_path / f"{PACKAGE}.tgz"
    files = {"packaging": (PACKAGING, 0o644), "greeter/greeting.txt": ("greetings, compiled in the guest\n", 0o644)}
    package.write_bytes(_tgz(files))
    templates = {"bin/pre-start": PRE_START, "bin/post-start": POST_START, "bin/drain": DRAIN}
    rendered = {f"./{JOB}/{dst}": (_render(text, tmp_path), 0o755) for dst, text in templates.items()}
    rendered[f"./{JOB}/monit"] = (MONIT, 0o644)
    jobs = tmp_path / "rendered-jobs.tgz"
    jobs.write_bytes(_tgz(rendered))
    return TinyRelease(package, _fingerprint(files), _fingerprint({**templates, "monit": MONIT}), jobs)


def _render(template: str, tmp_path: Path) -> str:
    """One job template through the same ERB evaluation the vmrun_cpi job's templates get."""
    source, props = tmp_path / "template.erb", tmp_path / "props.json"
    source.write_text(template)
    props.write_text(json.dumps({"greeter": {"greeting": GREETING}}))
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (.ci/run installs it)")
    done = subprocess.run(
        [ruby, str(RENDER), str(source), str(props)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _tgz(files: dict[str, tuple[str, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (text, mode) in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fingerprint(files: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(files, sort_keys=True).encode()).hexdigest()
