"""Runtime (project 00): how Python's async runtime really works, built piece by piece."""

from .context import RequestIdFilter, current_request_id, in_thread, new_request_id, request_id, run_request
from .flow import bounded_gather, first_completed, pipeline, run_with_cleanup
from .lag import LoopLagMonitor, Stall
from .miniloop import Future, MiniLoop, Task
from .resilience import (
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpen,
    TokenBucket,
    backoff_bound,
    retry,
)
from .shutdown import DrainReport, GracefulShutdown

__all__ = [
    "Bulkhead",
    "BulkheadFull",
    "CircuitBreaker",
    "CircuitOpen",
    "DrainReport",
    "Future",
    "GracefulShutdown",
    "LoopLagMonitor",
    "MiniLoop",
    "RequestIdFilter",
    "Stall",
    "Task",
    "TokenBucket",
    "backoff_bound",
    "bounded_gather",
    "current_request_id",
    "first_completed",
    "in_thread",
    "new_request_id",
    "pipeline",
    "request_id",
    "retry",
    "run_request",
    "run_with_cleanup",
]
