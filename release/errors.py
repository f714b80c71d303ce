"""The release builder's error.

``make release`` stops at the first thing it cannot do (a tool, a pinned file or a
release source missing or wrong) with one ``ReleaseBuildError`` that says which.
"""

from __future__ import annotations


class ReleaseBuildError(Exception):
    """``make release`` failed: a tool, a pinned file or a release source is missing or wrong."""
