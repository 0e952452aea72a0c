"""The runtime track with one realistic mistake each."""

from tests.variants import Variant

VARIANTS = [
    Variant(
        name="gather_without_limit",
        mistake="hands everything to asyncio.gather, so all the jobs start at once",
        patches=[
            (
                "flow.py",
                "    # BEGIN SOLUTION: a semaphore of `limit` slots",
                "    return await asyncio.gather(*aws, return_exceptions=return_exceptions)\n"
                "    # BEGIN SOLUTION: a semaphore of `limit` slots",
            )
        ],
        test="test_flow.py::test_bounded_gather_never_exceeds_limit",
        message="at most 64 jobs may run at the same time",
    ),
    Variant(
        name="permit_leak_on_error",
        mistake="gives the slot back only when a job succeeds",
        patches=[
            (
                "flow.py",
                "        slots.release()  # success, error or cancellation: the slot goes back\n",
                "        if not task.cancelled() and task.exception() is None:\n            slots.release()\n",
            )
        ],
        test="test_flow.py::test_failures_give_their_slot_back",
        message="a failed job keeps its slot",
    ),
    Variant(
        name="unbounded_pipeline_queue",
        mistake="joins reader and workers with an unbounded queue",
        patches=[("flow.py", "asyncio.Queue(maxsize)", "asyncio.Queue()")],
        test="test_flow.py::test_pipeline_applies_backpressure",
        message="must be bounded",
    ),
    Variant(
        name="cleanup_not_shielded",
        mistake="awaits the cleanup directly, so cancelling the caller interrupts it",
        patches=[("flow.py", "                await asyncio.shield(cleaning)\n", "                await cleaning\n")],
        test="test_flow.py::test_cleanup_survives_cancellation",
        message="cleanup was interrupted",
    ),
    Variant(
        name="retry_without_jitter",
        mistake="waits exactly the exponential backoff, so clients that failed together retry together",
        patches=[
            (
                "resilience.py",
                "            delay = rng.uniform(0.0, bound) if jitter else bound\n",
                "            delay = bound\n",
            )
        ],
        test="test_resilience.py::test_retry_delays_are_jittered",
        message="synchronized retries",
    ),
    Variant(
        name="retry_without_deadline",
        mistake="ignores the overall deadline and keeps retrying until the attempts run out",
        patches=[
            (
                "resilience.py",
                "        scope = asyncio.timeout_at(end)\n",
                "        scope = asyncio.timeout_at(None)\n",
            ),
            (
                "resilience.py",
                "            if end is not None and loop.time() + delay >= end:\n",
                "            if False:\n",
            ),
        ],
        test="test_resilience.py::test_retry_respects_the_deadline",
        message="must give up by t=5.0",
    ),
    Variant(
        name="breaker_never_half_opens",
        mistake="never moves an open breaker to half-open, so it refuses a recovered dependency forever",
        patches=[
            (
                "resilience.py",
                "        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_timeout:\n",
                "        if False:\n",
            )
        ],
        test="test_resilience.py::test_breaker_half_opens_after_the_timeout",
        message="never half-opens",
    ),
    Variant(
        name="bucket_burst_above_capacity",
        mistake="refills the token bucket without clamping it to its capacity",
        patches=[
            (
                "resilience.py",
                "            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)\n",
                "            self._tokens = self._tokens + elapsed * self.rate\n",
            )
        ],
        test="test_resilience.py::test_token_bucket_never_exceeds_rate_plus_burst",
        message="more than capacity + rate*t",
    ),
    Variant(
        name="bulkhead_never_rejects",
        mistake="lets the waiting line grow without limit instead of rejecting",
        patches=[("resilience.py", "        if len(self._waiters) >= self.max_waiting:\n", "        if False:\n")],
        test="test_resilience.py::test_bulkhead_rejects_at_once_when_full",
        message="must raise BulkheadFull at once",
    ),
    Variant(
        name="bulkhead_handoff_leak",
        mistake="forgets the slot handed to a waiter that is cancelled before it resumes",
        patches=[
            (
                "resilience.py",
                "                self.release()  # the slot was handed to us just as we were cancelled: pass it on\n",
                "                pass\n",
            )
        ],
        test="test_resilience.py::test_bulkhead_follows_its_rules",
        message="expected",
    ),
    Variant(
        name="shutdown_drops_in_flight",
        mistake="cancels everything as soon as the signal arrives, with no grace period",
        patches=[("shutdown.py", "        end = self._stop_at + self.deadline\n", "        end = self._stop_at\n")],
        test="test_shutdown.py::test_signal_lets_in_flight_work_finish[SIGTERM]",
        message="every job in flight at the signal must finish",
    ),
    Variant(
        name="second_signal_ignored",
        mistake="treats a second signal like the first, so an impatient operator cannot force an exit",
        patches=[("shutdown.py", "            self._forced = True\n", "            pass\n")],
        test="test_shutdown.py::test_second_signal_forces_exit",
        message="second signal should cancel job 7 at once",
    ),
    Variant(
        name="contextvar_set_in_helper_task",
        mistake="sets the request id inside a helper task, whose context the handler never sees",
        patches=[
            (
                "context.py",
                "    context.run(request_id.set, rid)\n",
                "    async def set_id() -> None:\n        request_id.set(rid)\n\n"
                "    await asyncio.create_task(set_id())\n",
            )
        ],
        test="test_context.py::test_handler_sees_its_request_id",
        message="should see request id 'req-42'",
    ),
    Variant(
        name="executor_loses_context",
        mistake="uses run_in_executor directly, which does not carry the context into the thread",
        patches=[("context.py", "functools.partial(context.run, fn, *args)", "functools.partial(fn, *args)")],
        test="test_context.py::test_id_follows_into_threads",
        message="sees request id 't-1'",
    ),
    Variant(
        name="miniloop_timers_before_ready",
        mistake="runs due timers before the callbacks that were already in the ready queue",
        patches=[
            (
                "miniloop.py",
                "        while timers and timers[0].when <= now:\n"
                "            timer = heapq.heappop(timers)\n"
                "            if not timer._cancelled:\n"
                "                self._ready.append(timer)\n",
                "        due = []\n"
                "        while timers and timers[0].when <= now:\n"
                "            timer = heapq.heappop(timers)\n"
                "            if not timer._cancelled:\n"
                "                due.append(timer)\n"
                "        self._ready.extendleft(reversed(due))\n",
            )
        ],
        test="test_miniloop.py::test_same_order_as_asyncio[soon_before_due_timer]",
        message="runs differently on your MiniLoop",
    ),
    Variant(
        name="miniloop_drains_ready_queue",
        mistake="keeps running callbacks until the ready queue is empty, so a callback chain starves I/O",
        patches=[("miniloop.py", "        for _ in range(len(self._ready)):\n", "        while self._ready:\n")],
        test="test_miniloop.py::test_same_order_as_asyncio[reader_until_drained]",
        message="runs differently on your MiniLoop",
    ),
    Variant(
        name="lag_keeps_every_sample",
        mistake="keeps every lag sample forever instead of a bounded window",
        patches=[("lag.py", "deque(maxlen=window)", "deque()")],
        test="test_lag.py::test_memory_stays_bounded_with_uptime",
        message="stores every sample",
    ),
    Variant(
        name="lag_catches_up_missed_beats",
        mistake="schedules the next heartbeat from the missed due time, so one block shows up as many late beats",
        patches=[
            ("lag.py", "        self._due = now + self.interval\n", "        self._due = self._due + self.interval\n")
        ],
        test="test_lag.py::test_lag_is_how_late_the_heartbeat_ran",
        message="exactly one heartbeat was late",
    ),
]
