"""``bosh-vmrun-cpi CONFIG_PATH`` (or ``python -m cpi CONFIG_PATH``): one BOSH CPI call.

Reads ALL of stdin, writes exactly ONE JSON object ``{"result", "error", "log"}``
to stdout, logs to stderr, and exits 0 whatever happened: the bosh CLI treats
a non-zero exit as a crash and ignores stdout. A missing or invalid config is a
``Bosh::Clouds::CpiError`` response like any other. Imports stay lazy so that
``info`` loads neither the vmrun driver nor pycdlib/yaml and starts no program.
This is the only place that configures logging or reads the environment.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from cpi.protocol import Request, Response
from toolkit.host.interrupts import Interrupted, signals_raise

if TYPE_CHECKING:
    from cpi.cloud import Cloud
    from cpi.config import CpiConfig

USAGE = "usage: bosh-vmrun-cpi CONFIG_PATH  (request JSON on stdin, response JSON on stdout)"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _configure_logging()
    stdout = sys.stdout
    sys.stdout = sys.stderr  # nothing but the response may ever reach the real stdout
    raw = bytearray()
    try:
        # SIGINT/SIGTERM (Ctrl-C on `bosh create-env` reaches the whole process group) fail the
        # call like any error: the method rolls back and the answer is still written, whole.
        with signals_raise():
            response = _respond(args, lambda: _keep(raw, sys.stdin.buffer.read()))
    finally:
        sys.stdout = stdout
    if not _write(stdout, response):
        _undo(args, bytes(raw), response)
    return 0


def _keep(kept: bytearray, data: bytes) -> bytes:
    kept += data
    return data


def _respond(args: list[str], read: Callable[[], bytes]) -> Response:
    try:
        from cpi.dispatch import dispatch

        raw = read()
        config = _load_config(_config_path(args))
        return dispatch(raw, lambda request: _build(config, request))
    except Exception as exc:
        from cpi.errors import translate

        trace = not isinstance(exc, Interrupted)
        logging.getLogger("cpi").error("cannot serve the request: %s", exc, exc_info=trace)
        return Response(error=translate(exc))


def _config_path(args: list[str]) -> str:
    from cpi.errors import CpiError

    # Accept the reference's job template spelling (-configPath X) as well.
    if len(args) == 2 and args[0] in ("-configPath", "--config", "-config"):
        args = args[1:]
    if len(args) != 1 or not args[0]:
        raise CpiError(f"Invalid command line {args!r}; {USAGE}")
    return args[0]


def _load_config(path: str) -> CpiConfig:
    from cpi.config import CpiConfig
    from cpi.errors import CpiError

    try:
        with open(path, "rb") as handle:  # the CPI's own config, not a VMware host file
            text = handle.read()
    except OSError as exc:
        raise CpiError(f"Cannot read CPI config '{path}': {exc.strerror or exc}") from None
    return CpiConfig.from_json(text)


def _build(config: CpiConfig, request: Request) -> Cloud:
    from cpi.factory import build_cloud

    return build_cloud(config, request)


def _configure_logging() -> None:
    level = os.environ.get("BOSH_LOG_LEVEL", "debug").upper()
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level, logging.DEBUG) if level != "NONE" else logging.CRITICAL + 1,
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )


def _write(stdout: TextIO, response: Response) -> bool:
    """Write the answer; False when the caller is gone (a closed pipe)."""
    try:
        stdout.write(response.to_json() + "\n")
        stdout.flush()
    except OSError:
        return False
    return True


def _undo(args: list[str], raw: bytes, response: Response) -> None:
    """The caller left before the answer: delete what the call created, since nobody will know its CID."""
    from cpi.undelivered import undo_request

    undo = undo_request(raw, response)
    if undo is None:
        return
    log = logging.getLogger("cpi")
    log.warning("the caller is gone before the answer: undoing the call with %s", json.loads(undo)["method"])
    # The handlers stay installed and disarmed: a further Ctrl-C or SIGTERM cannot cut the delete short.
    answer = _respond(args, lambda: undo)
    if answer.error is not None:
        log.error("could not undo the unanswered call: %s", answer.error.message)


if __name__ == "__main__":
    sys.exit(main())
