"""Suite-wide guards: no accidental real processes, no real sleeping; reproducible property tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

import toolkit.host.runner
from tests.support.installed import Installed, shared_install
from tests.support.sshd import Sshd, start_sshd, stop_sshd

# Property tests draw the same examples on every run, so a run passes or fails
# for the code, not for the draw. HYPOTHESIS_PROFILE=explore draws new ones
# (a new find there becomes a fixed test or an @example).
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


class UnexpectedProcess(BaseException):
    """A test started a real program without ``@pytest.mark.real_process``."""


@pytest.fixture(autouse=True)
def _no_real_processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_process") is None:

        def refuse(argv, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise UnexpectedProcess(f"test tried to run {argv!r}; mark it real_process")

        monkeypatch.setattr(toolkit.host.runner, "_spawn", refuse)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH server on 127.0.0.1, one per test module (skips if none is installed)."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    stop_sshd(server)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The project's wheel installed (not editable) in a fresh venv, used from a directory outside the checkout."""
    base = tmp_path_factory.getbasetemp()
    return shared_install(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)  # one per run
