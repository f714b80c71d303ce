"""The CPI's resource groups, composed: what the dispatcher calls.

``Cloud`` is a small composition (stemcells, VMs, disks, attachments), built
only by ``cpi.factory``. Each group holds only what it needs. This module
defines shapes; it does no work and imports the groups for typing only, so
importing it stays cheap (``info`` must not load the vmrun driver).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cpi.attachments import Attachments
    from cpi.disks import Disks
    from cpi.stemcells import Stemcells
    from cpi.vms import Vms


@dataclass(frozen=True, slots=True)
class Cloud:
    stemcells: Stemcells
    vms: Vms
    disks: Disks
    attachments: Attachments
