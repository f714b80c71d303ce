"""Parse vmrun's argv the way vmrun does: authentication flags, then the verb.

vmrun only honours ``-T``, ``-vp``, ``-gu`` and ``-gp`` before the command; after
the verb everything is a parameter (real vmrun then misreads ``-gu`` as a file
name). Verbs match case-insensitively (``CopyFileFromHostToGuest`` and
``copyFileFromHostToGuest`` both work). This module decides nothing about VMs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Canonical (lower-case) verb names this simulator answers.
VERBS = frozenset(
    {
        "list",
        "start",
        "stop",
        "reset",
        "suspend",
        "pause",
        "unpause",
        "clone",
        "deletevm",
        "snapshot",
        "listsnapshots",
        "deletesnapshot",
        "reverttosnapshot",
        "checktoolsstate",
        "getguestipaddress",
        "readvariable",
        "writevariable",
        "runprograminguest",
        "runscriptinguest",
        "copyfilefromhosttoguest",
        "copyfilefromguesttohost",
        "listprocessesinguest",
        "killprocessinguest",
        "fileexistsinguest",
        "directoryexistsinguest",
        "createdirectoryinguest",
        "deletefileinguest",
        "deletedirectoryinguest",
        "listdirectoryinguest",
        "createtempfileinguest",
        "renamefileinguest",
    }
)

_AUTH_FLAGS = {"-T": "host_type", "-vp": "vm_password", "-gu": "guest_user", "-gp": "guest_password"}
# Flags of vmrun <= 1.15 (remote hosts): still swallowed with their value.
_LEGACY_FLAGS = frozenset({"-h", "-P", "-u", "-p"})


@dataclass(frozen=True, slots=True)
class Invocation:
    """One vmrun command line, split. ``verb`` is lower-case, "" when absent or unknown."""

    verb: str
    params: tuple[str, ...]
    spelled_verb: str = ""
    host_type: str | None = None
    guest_user: str | None = None
    guest_password: str | None = field(default=None, repr=False)
    vm_password: str | None = field(default=None, repr=False)

    @property
    def vmx(self) -> str:
        """The first parameter: the VM's .vmx path ("" if missing)."""
        return self.params[0] if self.params else ""


def parse(argv: Sequence[str]) -> Invocation:
    """Split ``argv`` (without the program name) into auth flags, verb and parameters."""
    auth: dict[str, str] = {}
    rest = list(argv)
    while rest and (rest[0] in _AUTH_FLAGS or rest[0] in _LEGACY_FLAGS) and len(rest) >= 2:
        flag, value = rest[0], rest[1]
        if flag in _AUTH_FLAGS:
            auth[_AUTH_FLAGS[flag]] = value
        rest = rest[2:]
    if not rest:
        return Invocation(verb="", params=(), **auth)
    spelled = rest[0]
    verb = spelled.lower() if spelled.lower() in VERBS else ""
    return Invocation(verb=verb, params=tuple(rest[1:]), spelled_verb=spelled, **auth)


def split_options(params: Sequence[str], known: frozenset[str]) -> tuple[set[str], list[str]]:
    """Leading bare flags (``-noWait``, ``-interactive``) and what follows them.

    vmrun's option flags are bare words, matched case-insensitively.
    """
    flags: set[str] = set()
    rest = list(params)
    while rest and rest[0].lower() in known:
        flags.add(rest.pop(0).lower())
    return flags, rest
