"""BOSH error types and the ONE translation from toolkit errors to them.

Every failure the CPI reports is a ``CpiFailure`` whose ``bosh_type`` is one of
the names the Director knows (``KNOWN_RPC_ERRORS`` in bosh's external_cpi.rb);
anything else would surface as "Unknown CPI error". Operations add context by
chaining (``raise CloudError("Creating VM ...") from exc``); ``translate`` picks
the BOSH type from the outermost specific error in the chain and renders the
whole chain as one line. This module must not know vmrun's messages or touch
the host: it only reads exception types.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import ClassVar

from toolkit import errors as tk


class CpiFailure(Exception):
    """A failure reported to BOSH as ``{"type": bosh_type, ...}``."""

    bosh_type: ClassVar[str] = "Bosh::Clouds::CloudError"
    default_retry: ClassVar[bool] = False
    specific: ClassVar[bool] = True

    def __init__(self, message: str, *, ok_to_retry: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ok_to_retry = self.default_retry if ok_to_retry is None else ok_to_retry


class CloudError(CpiFailure):
    """The catch-all; also the plain "what was being done" context wrapper."""

    specific = False


class CpiError(CpiFailure):
    """Malformed request, bad CID or invalid CPI configuration."""

    bosh_type = "Bosh::Clouds::CpiError"


class MethodNotImplemented(CpiFailure):
    bosh_type = "Bosh::Clouds::NotImplemented"


class NotSupported(CpiFailure):
    bosh_type = "Bosh::Clouds::NotSupported"


class VmNotFound(CpiFailure):
    bosh_type = "Bosh::Clouds::VMNotFound"


class DiskNotFound(CpiFailure):
    bosh_type = "Bosh::Clouds::DiskNotFound"


class DiskNotAttached(CpiFailure):
    # vSphere answers DiskNotAttached.new(true); the Director only stores the flag.
    bosh_type = "Bosh::Clouds::DiskNotAttached"
    default_retry = True


class NoDiskSpace(CpiFailure):
    bosh_type = "Bosh::Clouds::NoDiskSpace"


class VmCreationFailed(CpiFailure):
    """create_vm failed AND was cleaned up; the Director retries when ``ok_to_retry``."""

    bosh_type = "Bosh::Clouds::VMCreationFailed"


# Toolkit error class -> BOSH error class, first match wins (subclasses first).
_TOOLKIT: tuple[tuple[type[tk.ToolkitError], type[CpiFailure]], ...] = (
    (tk.VmNotFoundError, VmNotFound),
    (tk.NotSupportedError, NotSupported),
    (tk.PlayerOnlyHostError, NotSupported),
    (tk.ConfigError, CpiError),
)


def bosh_class(exc: BaseException) -> type[CpiFailure]:
    """The BOSH class one exception maps to on its own (``CloudError`` when generic)."""
    if isinstance(exc, CpiFailure):
        return type(exc)
    for source, target in _TOOLKIT:
        if isinstance(exc, source):
            return target
    return CloudError


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, outermost first (cycles cut)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return seen


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (vmrun errors span several: message, command, output)."""
    text = exc.message if isinstance(exc, CpiFailure) else str(exc)
    parts = [" ".join(line.split()) for line in text.splitlines()]
    return "; ".join(p for p in parts if p) or type(exc).__name__


def render(exc: BaseException) -> str:
    """The cause chain as one line: "Creating VM for agent 'a1': Starting '…': …"."""
    parts: list[str] = []
    for link in chain(exc):
        text = one_line(link)
        if not parts or text not in parts[-1]:
            parts.append(text)
    return ": ".join(parts)


def translate(exc: BaseException) -> CpiFailure:
    """The ONE mapping from any exception to what BOSH is told.

    The type comes from the outermost link of the chain that maps to something
    more specific than ``CloudError``; ``ok_to_retry`` from that link, or for
    ``VMCreationFailed`` as set by create_vm. The message is the whole chain.
    """
    links = chain(exc)
    chosen = next((link for link in links if bosh_class(link).specific), links[0])
    target = bosh_class(chosen)
    retry = chosen.ok_to_retry if isinstance(chosen, CpiFailure) else target.default_retry
    if not target.specific:  # the catch-all: retry where the host said "not now" (unreachable, busy)
        retry = retry or is_transient(exc)
    result = target(render(exc), ok_to_retry=retry)
    result.__cause__ = exc
    return result


def is_transient(exc: BaseException) -> bool:
    """Would the same call, repeated unchanged, have a chance to succeed?"""
    return any(isinstance(link, tk.ToolkitError) and link.transient for link in chain(exc))


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Say what was being done when something fails: ``raise CloudError(what) from exc``."""
    try:
        yield
    except Exception as exc:
        raise CloudError(what) from exc
