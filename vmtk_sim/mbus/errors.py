"""The simulated BOSH agent's errors.

The agent answers a failed action with ``{"exception": {"message": ...}}``; inside
the simulator that failure is an ``AgentActionError`` carrying the message the
agent would send. Nothing outside ``vmtk_sim`` raises or catches it.
"""

from __future__ import annotations

from toolkit.errors import ToolkitError


class AgentActionError(ToolkitError):
    """A simulated agent's action failed; the message is what the agent answers as its exception."""
