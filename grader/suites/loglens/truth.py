"""Comparing a LogLens summary document with a generated log's exact truth."""

from __future__ import annotations

from typing import Any

from grader.data.accesslog import Truth

TOLERANCE = 0.01  # the sketch's promise
ROUNDING = 0.0005  # the JSON rounds milliseconds to 3 decimals


def close(got: float | None, exact: float | None) -> bool:
    if exact is None:
        return got is None
    return got is not None and abs(got - exact) <= TOLERANCE * exact + ROUNDING


def compare(doc: dict[str, Any], truth: Truth, top: int = 10, name: str = "the log") -> list[str]:
    """Every way ``doc`` disagrees with the truth, each as a sentence (empty when it agrees)."""
    problems = []
    for key in ("lines", "records", "parse_errors"):
        if doc.get(key) != getattr(truth, key):
            problems.append(f"{key}: expected {getattr(truth, key):,}, got {doc.get(key)!r}")
    if doc.get("status") != truth.status:
        problems.append(f"status classes: expected {truth.status}, got {doc.get('status')}")
    latency = doc.get("latency_ms") or {}
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        exact = truth.quantile(q)
        if not close(latency.get(label), exact):
            problems.append(f"latency {label}: exact value is {exact} ms, got {latency.get(label)!r} (1% allowed)")
    exact_max = max(truth.latency) if truth.latency else None
    if exact_max is not None and not close(latency.get("max"), exact_max):
        problems.append(f"latency max: expected {exact_max} ms, got {latency.get('max')!r}")
    want_routes = truth.top_routes(top)
    got_routes = [(f"{r.get('method')} {r.get('path')}", r.get("count")) for r in doc.get("top_routes", [])]
    if got_routes != want_routes:
        problems.append(f"top routes: expected {want_routes[:5]}..., got {got_routes[:5]}...")
    else:
        for route in doc["top_routes"]:
            key = f"{route['method']} {route['path']}"
            if key in truth.route_latency:
                exact = truth.quantile(0.95, key)
                if not close(route.get("p95_ms"), exact):
                    problems.append(f"p95 of {key}: exact value is {exact} ms, got {route.get('p95_ms')!r}")
    busiest = truth.busiest_minute()
    got_busiest = doc.get("busiest_minute") or {}
    if busiest and (got_busiest.get("minute"), got_busiest.get("count")) != busiest:
        problems.append(f"busiest minute: expected {busiest}, got {got_busiest}")
    samples = doc.get("error_samples", [])
    wrong = [s.get("line") for s in samples if s.get("line") not in set(truth.error_lines)]
    if wrong:
        problems.append(f"error samples name lines {wrong}, but the broken lines are {truth.error_lines[:8]}...")
    if truth.parse_errors and not samples:
        problems.append("error_samples is empty although the log has malformed lines")
    return [f"{name}: {p}" for p in problems]
