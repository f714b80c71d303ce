"""The agent's long-running tasks: started by one request, collected by ``get_task``.

An asynchronous action answers at once with ``{"agent_task_id", "state":
"running"}``; its work runs on the agent's single task worker (actions that
change the guest never overlap), and ``get_task`` answers ``running`` until it
ends, then its value, or its failure as an exception message. Knows nothing
about what the actions do.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from toolkit.errors import ToolkitError
from vmtk_sim.mbus.errors import AgentActionError


class Tasks:
    """Task IDs to their futures; thread-safe, as each request has its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-task")

    def submit(self, work: Callable[[], Any]) -> dict[str, str]:
        """Start ``work``; the answer the agent gives to the request that started it."""
        task_id = str(uuid.uuid4())
        with self._lock:
            self._futures[task_id] = self._worker.submit(work)
        return {"agent_task_id": task_id, "state": "running"}

    def outcome(self, task_id: object) -> Any:
        """``get_task``'s value: running, the task's value, or its failure raised as ``AgentActionError``."""
        with self._lock:
            future = self._futures.get(task_id) if isinstance(task_id, str) else None
        if future is None:
            raise AgentActionError(f"Task with id {task_id} could not be found")
        if not future.done():
            return {"agent_task_id": task_id, "state": "running"}
        error = future.exception()
        if error is None:
            return future.result()
        if isinstance(error, ToolkitError):
            raise AgentActionError(str(error)) from error
        raise AgentActionError(f"Running task: {type(error).__name__}: {error}") from error

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
