"""vmtk: a VIX/vmrun guest-operations toolkit.

Standalone primitives, one concept per module: the Runner boundary (runner),
time (clock), .vmx files (vmx), the vmrun driver (vmrun), guest operations
(guest), settings ISOs (iso), VMDK disks (vmdk), stemcell import (stemcell),
and a VMware host simulator (sim). The toolkit never imports ``cpi`` or
``click``.
"""

__version__ = "0.1.0"
