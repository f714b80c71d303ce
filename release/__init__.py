"""The BOSH release of the vmrun CPI: its sources (jobs/, packages/, config/) and
the builder behind ``make release`` (``python -m release.build``).

The builder depends on the toolkit only for its error tree; nothing in the
toolkit or the CPI imports this package.
"""
