"""LogLens the obvious way: read everything, keep everything, sort at the end.

It gives the same answers as the reference on small logs; the demo and the notebooks run it on
big ones to show what "not streaming" costs. Run: ``python -m grader.demos.naive_loglens FILE``.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from datetime import UTC, datetime

LINE = re.compile(
    rb'\S+ \S+ \S+ \[([^\]]+)\] "([A-Z]+) ([^ "?]+)[^ "]* HTTP/[\d.]+" (\d{3}) (\d+|-) "[^"]*" "[^"]*"(?: ([\d.]+))?'
)


def main(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()  # the whole file in memory ...
    lines = data.split(b"\n")  # ... and then a second copy, one object per line
    if lines and lines[-1] == b"":
        lines.pop()
    latencies: list[float] = []  # every latency, to sort later
    routes: dict[tuple[str, str], list[float]] = {}  # every route, with every latency
    status: Counter[str] = Counter()
    minutes: Counter[str] = Counter()
    errors = 0
    for line in lines:
        m = LINE.match(line)
        if m is None:
            errors += 1
            continue
        stamp, method, path_, code, _, latency = m.groups()
        try:
            when = datetime.strptime(stamp.decode(), "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
        except ValueError:
            errors += 1
            continue
        minutes[when.strftime("%Y-%m-%dT%H:%MZ")] += 1
        status[f"{code.decode()[0]}xx"] += 1
        ms = float(latency) * 1000 if latency else 0.0
        latencies.append(ms)
        routes.setdefault((method.decode(), path_.decode()), []).append(ms)
    latencies.sort()

    def rank(values: list[float], q: float) -> float | None:
        return values[max(1, math.ceil(q * len(values))) - 1] if values else None

    top = sorted(routes.items(), key=lambda kv: -len(kv[1]))[:10]
    doc = {
        "lines": len(lines),
        "records": len(latencies),
        "parse_errors": errors,
        "status": {k: status.get(k, 0) for k in ("1xx", "2xx", "3xx", "4xx", "5xx")},
        "latency_ms": {
            "count": len(latencies),
            "p50": rank(latencies, 0.5),
            "p95": rank(latencies, 0.95),
            "p99": rank(latencies, 0.99),
            "max": latencies[-1] if latencies else None,
        },
        "top_routes": [{"method": m, "path": p, "count": len(v), "p95_ms": rank(sorted(v), 0.95)} for (m, p), v in top],
        "busiest_minute": dict(zip(("minute", "count"), minutes.most_common(1)[0], strict=True)) if minutes else None,
    }
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
