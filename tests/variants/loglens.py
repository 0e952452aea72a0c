"""LogLens with one realistic mistake each."""

from tests.variants import Variant

VARIANTS = [
    Variant(
        name="reads_whole_input",
        mistake="reads the whole input with one read() before splitting it into lines",
        patches=[
            (
                "inputs.py",
                '    read = getattr(stream, "read1", stream.read)\n'
                "    if limit is None:\n"
                "        while chunk := read(size):\n"
                "            yield chunk\n"
                "        return",
                "    if limit is None:\n        yield stream.read()\n        return\n    read = stream.read",
            )
        ],
        test="test_stress.py::test_memory_flat_from_n_to_4n",
        message="memory grows with the input",
    ),
    Variant(
        name="keeps_every_latency",
        mistake="keeps every latency in a list and sorts it for each quantile",
        patches=[
            (
                "sketch.py",
                "        # BEGIN SOLUTION: put the value in its bucket and update count/min/max\n",
                "        # BEGIN SOLUTION: put the value in its bucket and update count/min/max\n"
                "        self.__dict__.setdefault('_all', []).append(value)\n",
            ),
            ("sketch.py", "    __slots__ = (", '    __slots__ = ("__dict__", '),
        ],
        test="test_sketch.py::test_memory_does_not_grow_with_count",
        message="storing values instead of bucket counts",
    ),
    Variant(
        name="unbounded_routes",
        mistake="counts routes in a table with room for every distinct path",
        patches=[("summary.py", "= TopK(capacity or max(200, 20 * top))", "= TopK(10**9)")],
        test="test_stress.py::test_high_cardinality_stays_in_budget",
        message="grows with the input",
    ),
    Variant(
        name="crashes_on_malformed",
        mistake="assumes every line matches the pattern",
        patches=[
            ("parse.py", "    m = _LINE(line)\n    if m is None:\n        return None\n", "    m = _LINE(line)\n")
        ],
        test="test_parse.py::test_malformed_line_gives_none",
        message="AttributeError",
    ),
    Variant(
        name="drops_last_line",
        mistake="forgets the last line when the input does not end with a newline",
        patches=[("lines.py", "    if carry:\n        yield _finish(bytes(carry), max_line)\n", "")],
        test="test_lines.py::test_last_line_without_newline",
        message="must still yield it as a line",
    ),
    Variant(
        name="splits_each_chunk_alone",
        mistake="splits every chunk on its own, so a line cut by a chunk boundary becomes two",
        patches=[
            (
                "lines.py",
                '        if carry:\n            nl = chunk.find(b"\\n", start)',
                "        if False:\n            nl = 0",
            ),
            (
                "lines.py",
                "        else:\n            carry += tail\n",
                "        elif tail:\n            yield _finish(tail, max_line)\n",
            ),
        ],
        test="test_lines.py::test_line_split_across_chunks",
        message="a line continues across chunks",
    ),
    Variant(
        name="progress_on_stdout",
        mistake="prints progress with print(), i.e. on stdout",
        patches=[
            (
                "progress.py",
                "        stream = self.stream or sys.stderr\n",
                "        stream = self.stream or sys.stdout\n",
            )
        ],
        test="test_cli.py::test_progress_goes_to_stderr",
        message="stdout must still be exactly one JSON document",
    ),
    Variant(
        name="brokenpipe_traceback",
        mistake="lets BrokenPipeError escape when the reader goes away",
        patches=[("cli.py", "    except BrokenPipeError:\n", "    except ZeroDivisionError:\n")],
        test="test_cli.py::test_pipe_into_head_ends_quietly",
        message="end quietly",
    ),
    Variant(
        name="keeps_query_string",
        mistake="uses the whole request target as the route, query string included",
        patches=[
            ("parse.py", 'rb\'"([A-Z]+) ([^ "?]+)(?:\\?[^ "]*)? HTTP', 'rb\'"([A-Z]+) ([^ "]+)() HTTP'),
            (
                "parse.py",
                "    local, offset, method, path, status, size, latency = m.groups()",
                "    local, offset, method, path, _, status, size, latency = m.groups()",
            ),
        ],
        test="test_parse.py::test_query_string_removed_from_path",
        message="should give path",
    ),
    Variant(
        name="wrong_percentile_rank",
        mistake="takes the value at rank floor(q*n) instead of ceil(q*n)",
        patches=[
            (
                "sketch.py",
                "        rank = max(1, math.ceil(q * self._count))",
                "        rank = max(1, int(q * self._count))",
            )
        ],
        test="test_sketch.py::test_small_exact_examples",
        message="rank max(1, ceil",
    ),
    Variant(
        name="local_time",
        mistake="ignores the UTC offset and counts local minutes",
        patches=[
            (
                "parse.py",
                '    utc = (when - shift if offset[:1] == b"+" else when + shift).replace(tzinfo=UTC)',
                "    utc = when.replace(tzinfo=UTC)",
            )
        ],
        test="test_parse.py::test_minute_is_utc_whatever_the_offset",
        message="UTC",
    ),
]
