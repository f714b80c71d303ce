"""Lossless parser and editor for VMware dictionary files (``.vmx``, ``.vmsd``).

``Vmx.parse(data).dumps() == data`` byte for byte: every line keeps its bytes
(comments, blank lines, a ``#!/usr/bin/vmware`` first line, odd spacing, key
case, quoting, CRLF, a missing final newline) until it is edited. Keys are
case-insensitive, as VMware reads them; values are returned with their ``|XX``
pipe escapes decoded. ``read_vmx``/``write_vmx`` move the bytes through a
``Runner`` (atomic replace). This module must not know what keys mean (that is
``devices.py``), reorder or reformat lines it was not asked to change, or touch
files other than through a Runner.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from toolkit.errors import DuplicateKeyError, VmxError, VmxSyntaxError
from toolkit.host.runner import Runner

__all__ = ["DEFAULT_ENCODING", "ENCODING_KEY", "Vmx", "escape", "is_true", "read_vmx", "unescape", "write_vmx"]

log = logging.getLogger(__name__)

ENCODING_KEY = ".encoding"
DEFAULT_ENCODING = "UTF-8"
# The line grammar of VMware's dictionary reader (open-vm-tools lib/dict/dictll.c):
# a name, "=", then a quoted value or a bare word, then optionally a "#" comment.
# A bare value ends at whitespace, so "key = a b" is not a valid line.
_ENTRY = re.compile(
    r'[ \t]*(?P<key>[^\s=#"]+)[ \t]*=[ \t]*'
    r'(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s#"]*))[ \t]*(?:#.*)?\Z'
)
_KEY = re.compile(r'[^\s=#"]+\Z')
_ESCAPE_RUN = re.compile(r"(?:\|[0-9A-Fa-f]{2})+")
# dictll.c escapes control characters, '"', '#' and '|' and writes uppercase hex
# (`vmh.label.team = "a|22b|7Cc"`); backslashes stay literal (Windows paths).
_MUST_ESCAPE = frozenset('"#|\x7f') | frozenset(map(chr, range(0x20)))


@dataclass(frozen=True, slots=True)
class _Line:
    """One line: its bytes without the line end, and the entry it holds if any."""

    raw: bytes
    eol: bytes  # b"\n", b"\r\n", or b"" for a last line without a newline
    key: str | None = None  # None: a comment, a blank line or the shebang
    value: str = ""
    lead: str = ""  # the text before the value (key, "=", spacing, opening quote)
    tail: str = ""  # the text after it (closing quote, spacing, comment)
    quoted: bool = True


def escape(value: str) -> str:
    """``value`` with VMware's pipe escapes applied (``"`` -> ``|22``)."""
    return "".join(f"|{ord(c):02X}" if c in _MUST_ESCAPE else c for c in value)


def unescape(text: str, codec: str = DEFAULT_ENCODING) -> str:
    """``text`` with ``|XX`` runs decoded as bytes in the file's ``codec``."""

    def decode(match: re.Match[str]) -> str:
        return bytes.fromhex(match.group().replace("|", "")).decode(codec, "surrogateescape")

    return _ESCAPE_RUN.sub(decode, text)


class Vmx:
    """An editable VMware dictionary file that remembers every byte it was given."""

    def __init__(self, *, codec: str = DEFAULT_ENCODING, newline: bytes = b"\n", source: str = "") -> None:
        self._codec = _codec_name(codec)
        self._newline = newline
        self._source = source
        self._ids = itertools.count()
        # Lines by an ever-growing id: a dict keeps file order and lets set/unset
        # work in O(1) without shifting positions (no quadratic editing).
        self._lines: dict[int, _Line] = {}
        self._index: dict[str, int] = {}  # lower-cased key -> line id

    @classmethod
    def parse(cls, data: bytes, *, source: str = "") -> Vmx:
        chunks = _split_lines(data)
        doc = cls(codec=_declared_codec(chunks, source), newline=_dominant_newline(chunks), source=source)
        first_seen: dict[str, int] = {}
        for number, (body, eol) in enumerate(chunks, 1):
            line = _parse_line(body, eol, doc._codec, number, source)
            if line.key is not None:
                _check_unique(line.key, number, first_seen, source)
            doc._insert(line)
        return doc

    @classmethod
    def new(cls) -> Vmx:
        return cls.parse(f'{ENCODING_KEY} = "{DEFAULT_ENCODING}"\n'.encode())

    def dumps(self) -> bytes:
        return b"".join(line.raw + line.eol for line in self._lines.values())

    def get(self, key: str, default: str | None = None) -> str | None:
        ident = self._index.get(key.lower())
        return default if ident is None else self._lines[ident].value

    def __getitem__(self, key: str) -> str:
        ident = self._index.get(key.lower())
        if ident is None:
            raise KeyError(key)
        return self._lines[ident].value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:  # no values: guestinfo keys may hold secrets
        return f"Vmx({self._source!r}, {len(self._index)} keys, {self._codec})"

    @property
    def encoding(self) -> str:
        """The Python codec the file is read and written with."""
        return self._codec

    def set(self, key: str, value: str) -> None:
        """Set ``key``, in place whatever case it is stored in; new keys go last."""
        if not _KEY.match(key):
            raise VmxError(f"invalid key {key!r}: keys have no whitespace, '=', '#' or '\"'")
        if key.lower() == ENCODING_KEY:
            self._recode(_codec_name(value))
        ident = self._index.get(key.lower())
        if ident is None:
            self._append(key, value)
        else:
            self._lines[ident] = self._rewritten(self._lines[ident], value)

    def unset(self, key: str) -> bool:
        """Remove ``key``; False if it was not there."""
        ident = self._index.pop(key.lower(), None)
        if ident is None:
            return False
        del self._lines[ident]
        if key.lower() == ENCODING_KEY:
            self._recode(DEFAULT_ENCODING)  # without a declaration readers assume UTF-8
        return True

    def unset_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix`` (case-insensitive); how many."""
        lowered = prefix.lower()
        doomed = [key for key in self._index if key.startswith(lowered)]
        for key in doomed:
            self.unset(key)
        return len(doomed)

    def keys(self) -> list[str]:
        return [line.key for line in self._lines.values() if line.key is not None]

    def items(self) -> list[tuple[str, str]]:
        return [(line.key, line.value) for line in self._lines.values() if line.key is not None]

    def _insert(self, line: _Line) -> None:
        ident = next(self._ids)
        self._lines[ident] = line
        if line.key is not None:
            self._index[line.key.lower()] = ident

    def _append(self, key: str, value: str) -> None:
        if self._lines:
            last = next(reversed(self._lines))
            if not self._lines[last].eol:  # the file ended without a newline
                self._lines[last] = replace(self._lines[last], eol=self._newline)
        lead = f'{key} = "'
        text = f'{lead}{escape(value)}"'
        self._insert(_Line(self._encode(text, key), self._newline, key, value, lead, '"'))

    def _rewritten(self, line: _Line, value: str) -> _Line:
        escaped = escape(value)
        # A bare value ends at whitespace: keep the bare style only where it still reads back.
        quoted = line.quoted or not escaped or any(c.isspace() for c in escaped)
        opening = "" if line.quoted or not quoted else '"'
        closing = '"' if quoted and not line.quoted else ""
        lead, tail = line.lead + opening, closing + line.tail
        raw = self._encode(lead + escaped + tail, line.key or "")
        return replace(line, raw=raw, value=value, lead=lead, tail=tail, quoted=quoted)

    def _encode(self, text: str, key: str) -> bytes:
        try:
            return text.encode(self._codec, "surrogateescape")
        except UnicodeEncodeError as exc:  # the message names the key only: values may be secret
            raise VmxError(
                f"{self._source or 'vmx'}: the value of {key!r} cannot be written in this file's "
                f"{self._codec} encoding; set {ENCODING_KEY!r} to {DEFAULT_ENCODING!r} first"
            ) from exc

    def _recode(self, codec: str) -> None:
        """Re-encode every line for a new declared encoding (texts unchanged)."""
        if codec == self._codec:
            return
        old, self._codec = self._codec, codec
        try:
            recoded = {
                ident: replace(line, raw=self._encode(line.raw.decode(old, "surrogateescape"), line.key or "#"))
                for ident, line in self._lines.items()
            }
        except VmxError:
            self._codec = old  # all or nothing
            raise
        self._lines.update(recoded)
        log.debug("%s: re-encoded from %s to %s", self._source, old, codec)


def _split_lines(data: bytes) -> list[tuple[bytes, bytes]]:
    # Safe at byte level for every encoding VMware declares: GBK and Big5 trail
    # bytes are >= 0x40, so 0x0A and 0x0D only ever mean line ends.
    *lines, last = data.split(b"\n")
    chunks = [(line[:-1], b"\r\n") if line.endswith(b"\r") else (line, b"\n") for line in lines]
    if last:
        chunks.append((last, b""))
    return chunks


def _dominant_newline(chunks: list[tuple[bytes, bytes]]) -> bytes:
    crlf = sum(1 for _, eol in chunks if eol == b"\r\n")
    lf = sum(1 for _, eol in chunks if eol == b"\n")
    return b"\r\n" if crlf > lf else b"\n"


def _declared_codec(chunks: list[tuple[bytes, bytes]], source: str) -> str:
    """The codec named by the ``.encoding`` line (UTF-8 when there is none)."""
    for number, (body, _) in enumerate(chunks, 1):
        # Latin-1 maps bytes 1:1, enough to read an ASCII declaration in any of them.
        match = _ENTRY.match(body.removeprefix(codecs.BOM_UTF8).decode("latin-1"))
        if match and match["key"].lower() == ENCODING_KEY:
            try:
                return _codec_name(match["quoted"] if match["quoted"] is not None else match["bare"])
            except VmxError as exc:
                raise VmxSyntaxError(number, body.decode("latin-1"), str(exc), source=source) from exc
    return _codec_name(DEFAULT_ENCODING)


def _codec_name(declared: str) -> str:
    try:
        return codecs.lookup(declared).name
    except LookupError as exc:
        raise VmxError(f"unknown encoding {declared!r}") from exc


def _parse_line(body: bytes, eol: bytes, codec: str, number: int, source: str) -> _Line:
    text = body.decode(codec, "surrogateescape").removeprefix("\ufeff")
    stripped = text.strip(" \t")
    if not stripped or stripped.startswith("#"):
        return _Line(body, eol)
    match = _ENTRY.match(text)
    if match is None:
        raise VmxSyntaxError(number, text, 'expected key = "value"', source=source)
    group = "quoted" if match["quoted"] is not None else "bare"
    start, end = match.span(group)
    value = unescape(match[group], codec)
    return _Line(body, eol, match["key"], value, text[:start], text[end:], group == "quoted")


def _check_unique(key: str, number: int, first_seen: dict[str, int], source: str) -> None:
    earlier = first_seen.setdefault(key.lower(), number)
    if earlier != number:
        where = f"{source}: " if source else ""
        raise DuplicateKeyError(
            f"{where}key {key!r} on line {number} repeats line {earlier} "
            "(keys are case-insensitive; VMware refuses such a file)"
        )


def read_vmx(runner: Runner, path: str) -> Vmx:
    """Parse the dictionary file at ``path`` on the runner's host."""
    return Vmx.parse(runner.read_bytes(path), source=path)


def write_vmx(runner: Runner, path: str, vmx: Vmx) -> None:
    """Replace ``path`` atomically (temp file + rename) with ``vmx``'s bytes."""
    data = vmx.dumps()
    # VMware on Linux marks a '#!/usr/bin/vmware' file executable; the rename
    # would otherwise replace it with a file that lost that bit.
    runner.write_bytes(path, data, mode=0o755 if data.startswith(b"#!") else None)
    log.debug("wrote %s (%d bytes)", path, len(data))


def is_true(value: str | None) -> bool:
    """VMware's reading of a boolean: TRUE/FALSE in any case (ovftool writes "true")."""
    return (value or "").strip().lower() in ("true", "yes", "1")
