"""Programs that must outlive the SSH session on a Windows host.

Win32-OpenSSH puts every session's processes in a job object that is killed
when the session ends, so a VM powered on by ``vmrun start`` over SSH would die
with the connection (the reference CPI needed CREATE_BREAKAWAY_FROM_JOB for the
same reason). Here the program is created by WMI (``Win32_Process.Create``),
outside the session's job, with its output and exit code redirected into files
in a host temp dir that the SSH runner polls (the exit code is read as a guest
wrapper's is, ``toolkit.host.exitcode.parse_exit_code``). This module only
renders the command lines; it must not open connections.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from toolkit.errors import SshError
from toolkit.host.ssh.command import cmd_arguments

__all__ = ["detached_command"]

OUT, ERR, CODE = "out.txt", "err.txt", "code.txt"


def detached_command(argv: Sequence[str], folder: str) -> str:
    """A command line that starts ``argv`` through WMI, writing into ``folder``."""
    for position, arg in enumerate(argv):
        if "!" in arg:
            # The wrapper needs cmd's delayed expansion (!errorlevel!), which would eat '!'.
            raise SshError(f"argument {position} of {argv[0]!r} contains '!', which cannot be passed here")
    inner = cmd_arguments(argv)  # refuses '%'; leaves cmd outside its quotes for the redirections
    files = {name: f"{folder}\\{name}" for name in (OUT, ERR, CODE)}
    line = f'cmd.exe /d /v:on /c "{inner} > "{files[OUT]}" 2> "{files[ERR]}" & echo !errorlevel! > "{files[CODE]}""'
    script = (
        "$r = Invoke-CimMethod -ClassName Win32_Process -MethodName Create "
        f"-Arguments @{{CommandLine='{_ps_single(line)}'; CurrentDirectory='{_ps_single(folder)}'}}; "
        "exit $r.ReturnValue"
    )
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return f"powershell.exe -NoProfile -NonInteractive -EncodedCommand {encoded}"


def _ps_single(text: str) -> str:
    return text.replace("'", "''")
