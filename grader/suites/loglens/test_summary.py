"""Summarizer: the whole summary in one pass, bounded, mergeable, extensible."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .truth import compare

pytestmark = pytest.mark.milestone(2, "Add a new metric without breaking performance")


def summarize(loglens, path, **options):
    summary = loglens.Summarizer(**options)
    with open(path, "rb") as f:
        summary.feed(loglens.iter_lines(iter(lambda: f.read(1 << 16), b"")))
    return summary


@pytest.mark.hint(3)
def test_summary_matches_truth(loglens, log, scale):
    """every figure of the summary matches the generated log's exact truth"""
    found = log("access", scale.pick(20_000, 100_000, 1_000_000), seed=2)
    doc = summarize(loglens, found.path).result()
    problems = compare(doc, found.truth, name=found.path.name)
    assert not problems, "\n".join(problems)


@pytest.mark.hint(3)
def test_merge_of_two_halves_equals_the_whole(loglens, log):
    """summaries of two halves, merged, agree with the truth for the whole log"""
    found = log("access", 30_000, seed=4)
    data = found.path.read_bytes()
    middle = data.index(b"\n", len(data) // 2) + 1
    first, second = loglens.Summarizer(), loglens.Summarizer()
    first.feed(loglens.iter_lines([data[:middle]]))
    second.feed(loglens.iter_lines([data[middle:]]))
    for sample in second.error_samples:
        sample["line"] += first.lines
    first.merge(second)
    problems = compare(first.result(), found.truth, name="merged halves")
    assert not problems, "\n".join(problems)


@pytest.mark.hint(1)
def test_time_window(loglens, log):
    """--since/--until keep records with since <= minute < until"""
    found = log("access", 20_000, seed=5)
    since = datetime(2025, 12, 26, 3, 0, tzinfo=UTC)
    until = datetime(2025, 12, 26, 5, 0, tzinfo=UTC)
    doc = summarize(loglens, found.path, since=since, until=until).result()
    inside = sum(n for minute, n in found.truth.minutes.items() if "2025-12-26T03:00Z" <= minute < "2025-12-26T05:00Z")
    assert doc["records"] == inside, (
        f"between 03:00 and 05:00 UTC there are {inside:,} records; the summary counted {doc['records']:,}"
    )
    assert doc["lines"] == found.truth.lines, "lines counts every line read, inside the window or not"


class HeadRequests:
    """A metric a learner might add: how many HEAD requests."""

    name = "head_requests"

    def __init__(self):
        self.count = 0

    def add(self, record):
        self.count += record.method == "HEAD"

    def merge(self, other):
        self.count += other.count

    def result(self):
        return self.count


@pytest.mark.hint(3)
def test_a_new_metric_plugs_in(loglens, log):
    """an extra metric plugs in without touching the Summarizer, and the rest stays right"""
    found = log("access", 20_000, seed=6)
    doc = summarize(loglens, found.path, metrics=[HeadRequests()]).result()
    want = sum(n for route, n in found.truth.routes.items() if route.startswith("HEAD "))
    assert doc.get("head_requests") == want, (
        f"a metric passed as Summarizer(metrics=[...]) must see every record and appear under its name: "
        f"expected head_requests = {want}, got {doc.get('head_requests')!r}"
    )
    problems = compare(doc, found.truth, name=found.path.name)
    assert not problems, "\n".join(problems)
