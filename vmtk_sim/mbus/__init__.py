"""A simulated BOSH agent's HTTPS mbus, so ``bosh create-env`` runs end to end on the simulator.

A real stemcell's agent answers the bosh CLI on ``https://mbus:<password>@<vm>:6868``:
``/agent`` for its actions (ping, apply, compile_package, run_script, start, ...)
and ``/blobs/`` for the CLI's uploads. With the simulator's ``mbus_agent`` knob on,
every VM whose settings the agent accepts gets such a listener on loopback
(``process.py``), driven by ``actions.py`` over the VM's guest file system.
It imitates what the CLI can observe of the bosh-agent, not the agent's
internals, and it is never imported by the CPI or the toolkit's library code.
"""
