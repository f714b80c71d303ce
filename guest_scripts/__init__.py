"""Scripts that run inside guests; data, not host code.

Located only through ``toolkit.vmware.guest.script_path(name)``. Nothing here is
imported or executed on the VMware host.
"""
