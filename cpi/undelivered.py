"""What a creating call made, undone when its answer cannot be delivered.

The bosh CLI starts the CPI in a process group of its own (bosh-utils' exec
runner sets ``Setpgid``), so Ctrl-C on ``bosh create-env`` ends the CLI but never
reaches the CPI: the call runs to its end and its answer meets a closed pipe.
Nobody will ever learn the new CID, so the VM (disk, stemcell, snapshot) would be
left behind, a VM holding its static IP and its agent's port. When the answer
cannot be written, ``__main__`` asks this module for the request that deletes
what the call created and runs it through the same dispatch as any request.
This module only builds that request; it must not touch the host itself.
"""

from __future__ import annotations

import json
from typing import Any

from cpi.protocol import Request, Response

__all__ = ["UNDO", "undo_request"]

# A creating method and the method that deletes what it made, given its CID.
UNDO = {
    "create_vm": "delete_vm",
    "create_disk": "delete_disk",
    "create_stemcell": "delete_stemcell",
    "snapshot_disk": "delete_snapshot",
}


def undo_request(raw: bytes, response: Response) -> bytes | None:
    """The request deleting what ``raw`` created (its answer being ``response``), or None if it created nothing."""
    if response.error is not None:
        return None  # a failed call already rolled back what it made
    try:
        request = Request.parse(raw)
    except Exception:  # it was answered, so it parsed; nothing to undo otherwise
        return None
    method = UNDO.get(request.method)
    cid = _created_cid(request.method, response.result)
    if method is None or cid is None:
        return None
    body = {"method": method, "arguments": [cid], "context": dict(request.context), "api_version": request.api_version}
    return json.dumps(body).encode()


def _created_cid(method: str, result: Any) -> str | None:
    # API v2's create_vm answers [cid, networks]; every other creating method answers the CID.
    if method == "create_vm" and isinstance(result, list) and result:
        result = result[0]
    return result if isinstance(result, str) and result else None
