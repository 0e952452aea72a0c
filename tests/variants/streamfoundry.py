"""StreamFoundry with one realistic mistake each."""

from tests.variants import Variant

VARIANTS = [
    Variant(
        name="collects_all_records",
        mistake="collects every record in a list before pushing them through the stages",
        patches=[
            (
                "runner.py",
                "        for line, outcome in read_records(chunks, max_line):",
                "        for line, outcome in list(read_records(chunks, max_line)):",
            )
        ],
        test="test_stress.py::test_memory_flat_from_n_to_4n",
        message="memory grows with the input",
    ),
    Variant(
        name="unbounded_buffer",
        mistake="ordered_map keeps taking records from the source however far the consumer lags behind",
        patches=[
            (
                "enrich.py",
                "    limit = max(buffer if buffer is not None else 2 * concurrency, concurrency)",
                "    limit = 1 << 30  # buffer ignored: results pile up while the consumer is slow",
            )
        ],
        test="test_enrich.py::test_buffer_is_bounded_with_a_slow_consumer",
        message="taken from the source and not yet",
    ),
    Variant(
        name="no_concurrency_limit",
        mistake="ordered_map starts a lookup for every record it holds, ignoring the concurrency limit",
        patches=[
            (
                "enrich.py",
                "            while not exhausted and len(running) < concurrency and len(window) < limit:",
                "            while not exhausted and len(window) < limit:",
            )
        ],
        test="test_enrich.py::test_concurrency_is_bounded_and_used",
        message="ran at the same time",
    ),
    Variant(
        name="completion_order",
        mistake="ordered_map yields whichever lookup finishes first, so concurrency reorders the output",
        patches=[
            (
                "enrich.py",
                "            head = window[0]\n",
                "            head = next((t for t in window if t.done()), window[0])\n",
            ),
            ("enrich.py", "            window.popleft()\n", "            window.remove(head)\n"),
        ],
        test="test_enrich.py::test_order_is_kept",
        message="input order",
    ),
    Variant(
        name="crashes_on_invalid_json",
        mistake="parses each line without handling a decoding error, so one bad line ends the run",
        patches=[
            (
                "records.py",
                "    except ValueError as exc:\n        raise _why(line, exc) from None",
                "    except UnicodeError as exc:  # text problems only\n        raise _why(line, exc) from None",
            )
        ],
        test="test_cli.py::test_bad_records_are_counted_never_fatal",
        message="JSONDecodeError",
    ),
    Variant(
        name="crashes_on_invalid_utf8",
        mistake="decodes the bytes to text first without handling invalid UTF-8",
        patches=[
            (
                "records.py",
                "    try:\n        value = _loads(line)\n    except ValueError as exc:",
                '    text = line.decode("utf-8")\n'
                "    try:\n        value = _loads(text)\n    except ValueError as exc:",
            )
        ],
        test="test_records.py::test_decode_classifies_each_bad_kind",
        message="UnicodeDecodeError",
    ),
    Variant(
        name="naive_csv",
        mistake="writes CSV rows by joining the cells with commas, without quoting",
        patches=[
            (
                "sinks.py",
                "            self._writer.writerows(self._rows)",
                '            self._text.write("".join(",".join(row) + "\\r\\n" for row in self._rows))',
            )
        ],
        test="test_sinks.py::test_csv_quotes_every_hazard",
        message="the csv module reads back",
    ),
    Variant(
        name="counters_on_stdout",
        mistake="prints the final counters with print(), i.e. into the data on stdout",
        patches=[
            ("cli.py", '        _say(counters.line().removeprefix(f"{PROG}: "))', "        print(counters.line())")
        ],
        test="test_cli.py::test_stdout_is_data_only",
        message="is not JSON",
    ),
    Variant(
        name="eval_filter",
        mistake="evaluates the filter with Python's eval, the record's fields as variables",
        patches=[
            (
                "stages.py",
                "        self.test = compile_expr(parse(expression))  # ExprError for a bad expression, "
                "before any input",
                "        self.test = lambda record: eval(expression, {}, dict(record))",
            ),
        ],
        test="test_stages.py::test_hostile_filter_is_never_executed",
        message="was executed",
    ),
    Variant(
        name="gzip_by_extension",
        mistake="decides whether to decompress from the file name (.gz) instead of the magic bytes",
        patches=[("records.py", "    if head == GZIP_MAGIC:", '    if name.endswith(".gz"):')],
        test="test_cli.py::test_gzip_detected_by_content_not_name",
        message="signups",
    ),
    Variant(
        name="unbounded_group_by",
        mistake="summarize keeps a group for every distinct key, ignoring max_groups",
        patches=[
            (
                "stages.py",
                "        if group is None:\n            if len(self._groups) < self.max_groups:",
                "        if group is None:\n            if True:",
            )
        ],
        test="test_stages.py::test_summarize_caps_groups_with_an_other_bucket",
        message="at most 21 groups",
    ),
    Variant(
        name="pending_tasks_on_cancel",
        mistake="ordered_map leaves its lookups running when the consumer is cancelled (Ctrl-C)",
        patches=[
            (
                "enrich.py",
                "        for task in pending:\n            task.cancel()\n        if pending:\n"
                "            await asyncio.gather(*pending, return_exceptions=True)\n",
                "        pass  # the tasks will finish on their own, won't they?\n",
            )
        ],
        test="test_enrich.py::test_cancellation_leaves_no_pending_tasks",
        message="task(s) pending",
    ),
    Variant(
        name="writer_thread_unbounded_queue",
        mistake="hands output to a writer thread through an unbounded queue, so reading never waits for writing",
        patches=[
            (
                "sinks.py",
                "    def _send(self, data: bytes) -> None:\n        if data:\n"
                "            self._timed(lambda: self.out.write(data))",
                "    def _send(self, data: bytes) -> None:\n"
                "        if data:\n"
                '            if not hasattr(self, "_queue"):\n'
                "                import queue\n"
                "                import threading\n"
                "\n"
                "                self._queue = queue.Queue()\n"
                "\n"
                "                def drain():\n"
                "                    while (item := self._queue.get()) is not None:\n"
                "                        self.out.write(item)\n"
                "\n"
                "                self._thread = threading.Thread(target=drain, daemon=True)\n"
                "                self._thread.start()\n"
                "            self._queue.put(data)",
            ),
            (
                "sinks.py",
                "    def close(self) -> None:\n        self.flush()\n        if isinstance(self.out, gzip.GzipFile):",
                "    def close(self) -> None:\n        self.flush()\n"
                '        if hasattr(self, "_queue"):\n'
                "            self._queue.put(None)\n"
                "            self._thread.join()\n"
                "        if isinstance(self.out, gzip.GzipFile):",
            ),
        ],
        test="test_stress.py::test_slow_sink_does_not_grow_memory",
        message="memory grew past its fast-reader level",
    ),
]
