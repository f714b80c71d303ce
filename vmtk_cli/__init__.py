"""The ``vmtk`` command line: the top floor, and the only importer of click.

It drives the toolkit's primitives, the simulator (``vmtk sim``) and, for
``vmtk store``, the CPI's store; nothing imports it.
"""
