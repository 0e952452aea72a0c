"""The reference's gzip splitting (scaffolding the learner is given): cutting a decompressed
stream into segments must not change a single line a one-process run would see."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.streamfoundry.parallel import stream_segments
from solutions.streamfoundry.records import iter_lines
from solutions.streamfoundry.runner import Counters

LINE = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    st.integers(50, 400).map(lambda n: b"x" * n),  # longer than the small max_line below
)


class Trickle(io.RawIOBase):
    """A stream that hands out its bytes in the given sizes, like a decompressor would."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.at = data, sizes, 0

    def read(self, size: int = -1) -> bytes:
        step = self.sizes[self.at % len(self.sizes)] if self.sizes else size
        piece = self.data[:step]
        self.data = self.data[step:]
        self.at += 1
        return piece


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(LINE, max_size=60),
    final_newline=st.booleans(),
    size=st.integers(1, 300),
    max_line=st.integers(1, 120),
    reads=st.lists(st.integers(1, 200), min_size=1, max_size=5),
)
def test_segments_give_the_lines_of_the_whole(lines, final_newline, size, max_line, reads):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    segments = list(stream_segments(Trickle(data, reads), size, max_line, Counters()))  # type: ignore[arg-type]
    assert all(s.endswith(b"\n") for s in segments[:-1]), "every segment but the last ends at a newline"
    whole = list(iter_lines([data], max_line))
    per_segment = [line for s in segments for line in iter_lines([s], max_line)]
    assert per_segment == whole
    assert [type(x) for x in per_segment] == [type(x) for x in whole], "over-long lines flagged the same way"
    longest = max((len(s) for s in segments), default=0)
    assert longest <= size + max(reads) + max_line + 2, "a segment holds at most one size, one read and one cut line"
