"""``make bench``: what each CPI call costs a VMware host, measured against ``vmrun-sim``.

One module per benchmark (``runs``, ``lifecycle``, ``overhead``, ``scaling``,
``primitives``), a simulated host per run (``workspace``), the host cost model
(``hostcosts``), the reference CPI's call pattern replayed as the naive baseline
(``reference``), and the report (``report``, rewritten into BENCHMARKS.md).
Nothing here is imported by the toolkit or the CPI, and no test asserts a time.
"""
