"""``bosh-vmrun-cpi``: a BOSH CPI (API v1 and v2) for VMware Workstation, Fusion and Player.

Composed on the toolkit's primitives: one JSON request on stdin, one response on
stdout (``__main__``, ``protocol``, ``dispatch``). It imports ``toolkit`` only,
never the simulator, the harness or the CLI.
"""
