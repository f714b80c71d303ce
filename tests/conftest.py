"""Suite-wide guards: no accidental real processes, no real sleeping."""

from __future__ import annotations

import pytest

import toolkit.runner


class UnexpectedProcess(BaseException):
    """A test started a real program without ``@pytest.mark.real_process``."""


@pytest.fixture(autouse=True)
def _no_real_processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_process") is None:

        def refuse(argv, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise UnexpectedProcess(f"test tried to run {argv!r}; mark it real_process")

        monkeypatch.setattr(toolkit.runner, "_spawn", refuse)
