"""The Python test harness and its pytest plugin, on top of the toolkit.

``Lab`` (``harness``) gives tests guest VMs cloned from a template on a real
VMware host or on the simulator, with recorded guest transcripts (``guest``),
clone bookkeeping (``clones``) and template import (``template``);
``pytest_plugin`` exposes it as fixtures. ``cpiprocess`` calls the CPI
executable from outside, as the bosh CLI does. Nothing in ``toolkit`` or ``cpi``
imports this package.
"""
