"""Transform stages and the pipeline that chains them.

The stage contract (the whole of it):

- ``process(record)`` returns the stage's outputs for one input record as a list or tuple, in
  order: ``[record]`` (one out), ``[]`` (filtered out), several records (explode).
- To reject a record (it cannot be processed: a field that should be an array is not, an
  expression fails on it), raise ``StageError``. A stage rejects a record *before* returning
  anything for it, so a record is either fully processed or not at all; the pipeline's runner
  then quarantines the input record with its line number and the reason.
- ``finish()`` is called once after the last record and returns whatever the stage still holds
  (an aggregator emits its groups here; most stages return nothing).
- A stage keeps no state except what it exists for, and that state is bounded: ``Dedupe``
  remembers a window of keys, ``Summarize`` a capped number of groups.

Records are dicts (JSON objects). A stage may change the record it was given (it belongs to
the pipeline from then on) or build a new one.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from .expr import MISSING, EvalError, compile_expr, lookup, parse

Record = dict[str, Any]
Emit = Callable[[Record], None]
OTHER = "(other)"  # the group that collects every key beyond Summarize's cap
EXACT = 1074  # float sums are kept as integers in units of 2**-EXACT (every finite float is one)


class StageError(Exception):
    """This stage cannot process this record (the message says why, for a person)."""


class Stage:
    """Base class: passes every record through unchanged. Subclasses override what they need."""

    name = "stage"

    def process(self, record: Record) -> Sequence[Record]:
        return (record,)

    def finish(self) -> Sequence[Record]:
        return ()


def split_path(text: str) -> tuple[str, ...]:
    """``"user.country"`` -> ``("user", "country")``; raises ValueError for an empty part."""
    parts = tuple(text.strip().split("."))
    if not all(parts):
        raise ValueError(f"not a field path: {text!r}")
    return parts


class Filter(Stage):
    """Keep the records for which the expression is true (anything but false and null)."""

    name = "filter"

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.test = compile_expr(parse(expression))  # ExprError for a bad expression, before any input

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Filter.process): evaluate; keep the record when the value is neither false nor null; EvalError -> StageError')


class Select(Stage):
    """Projection: a new record with just these fields, in this order.

    A field is a path (``user.country``); in the output it is named by its text, so
    ``select id,user.country`` gives ``{"id": ..., "user.country": ...}``. A missing field comes
    out as null, so that every output record has the same fields (a CSV needs that).
    """

    name = "select"

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = list(fields)
        self.paths = [split_path(f) for f in self.fields]

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Select.process): build {field text: value at its path or None}')


class Rename(Stage):
    """Rename top-level fields (``{"old": "new"}``), keeping each field where it was in the
    record's order. A field that is missing is simply not renamed."""

    name = "rename"

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = dict(mapping)

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Rename.process): rebuild the dict in order with the new names')


class SetField(Stage):
    """A computed top-level field: ``SetField("total", "amount * qty")``. An existing field
    keeps its place; a new one is added at the end. EvalError on a record -> StageError."""

    name = "set"

    def __init__(self, field: str, expression: str) -> None:
        self.field = field
        self.expression = expression
        self.compute = compile_expr(parse(expression))

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.SetField.process): evaluate and store under the field name')


class Explode(Stage):
    """One record per element of an array field, in the array's order: the field's value
    becomes the element, every other field is copied. An empty array gives no record; a field
    that is missing or not an array -> StageError."""

    name = "explode"

    def __init__(self, field: str) -> None:
        self.field = field

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Explode.process): check it is a list, then one shallow copy per element')


class Dedupe(Stage):
    """Drop a record whose key (the values at ``keys``) is among the ``window`` keys seen most
    recently. Memory is bounded by ``window`` whatever the input: when a new key arrives and the
    window is full, the key seen longest ago is forgotten (a duplicate further back than that
    gets through). Whether a repeat refreshes its key's place is up to you."""

    name = "dedupe"

    def __init__(self, keys: Sequence[str], window: int = 100_000) -> None:
        if window < 1:
            raise ValueError("the dedupe window must hold at least one key")
        self.keys = list(keys)
        self.paths = [split_path(k) for k in self.keys]
        self.window = window
        raise NotImplementedError('TODO(streamfoundry.Dedupe.__init__): the state you need (e.g. an OrderedDict of recent keys)')

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Dedupe.process): hashable key; seen -> drop (mark it recent); new -> remember, evict the oldest')


class Sample(Stage):
    """Keep each record with probability ``rate`` (0 < rate <= 1), decided by a
    ``random.Random(seed)``: the same input and seed always give the same output."""

    name = "sample"

    def __init__(self, rate: float, seed: int = 1) -> None:
        if not 0 < rate <= 1:
            raise ValueError(f"the sample rate must be in (0, 1], got {rate}")
        self.rate = rate
        self.seed = seed
        raise NotImplementedError('TODO(streamfoundry.Sample.__init__): a seeded random number generator')

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Sample.process): one random draw per record, in input order')


class Summarize(Stage):
    """Group-by: count records per group and, for each ``sums`` field, sum/min/max of its
    numeric values (other values are ignored).

    - The group key is the tuple of values at the ``by`` paths.
    - Sums are exact: integers as integers, floats added without rounding and rounded once at the
      end (like ``math.fsum``), so the order of the records does not change the result. NaN and
      infinities are not numbers here.
    - At most ``max_groups`` groups are kept. Once that many exist, a record with a new key is
      counted in one extra group whose ``by`` fields all read ``"(other)"``: memory stays
      bounded however many distinct keys arrive, and no record goes uncounted.
    - ``finish()`` emits one record per group: the ``by`` fields (named by their text), then
      ``count``, then ``<field>_sum``, ``<field>_min``, ``<field>_max`` for each sums field
      (null when the group had no numeric value). Order: largest count first, ties by key
      text; the other-group last.
    - ``process`` emits nothing.
    - ``merge(other)`` folds in a Summarize with the same settings that saw a *later* part of the
      input, so that this one reads as if it had seen both parts in order (counts, sums, min, max
      added up; new keys take free places in the order ``other`` first saw them, the rest join the
      other-group). That is exact when ``other.overflowed`` is false; with several processes, each
      summarizes its part of a file and the parts are merged in file order.
    - ``overflowed``: True once a key had to go to the other-group.
    """

    name = "summarize"

    def __init__(self, by: Sequence[str], sums: Sequence[str] = (), max_groups: int = 1000) -> None:
        if max_groups < 1:
            raise ValueError("max_groups must be at least 1")
        self.by = list(by)
        self.by_paths = [split_path(b) for b in self.by]
        self.sums = list(sums)
        self.sum_paths = [split_path(s) for s in self.sums]
        self.max_groups = max_groups
        raise NotImplementedError('TODO(streamfoundry.Summarize.__init__): the state you need (a dict of groups, and the other-group)')

    def process(self, record: Record) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Summarize.process): find or make the group (or the other-group past the cap), then update count, sum, min, max')

    @property
    def overflowed(self) -> bool:
        raise NotImplementedError('TODO(streamfoundry.Summarize.overflowed): has any record gone to the other-group?')

    def merge(self, other: Summarize) -> None:
        raise NotImplementedError("TODO(streamfoundry.Summarize.merge): add other's groups into ours in other's first-seen order (dicts keep insertion order)")

    def finish(self) -> Sequence[Record]:
        raise NotImplementedError('TODO(streamfoundry.Summarize.finish): one record per group in the documented order')


class _Frozen(tuple):  # type: ignore[type-arg]
    """A list or object turned into something hashable (for keys), remembering its JSON text."""

    __slots__ = ()


def _hashable(value: Any) -> Any:
    """A dict key for any JSON value: lists and objects by their JSON text; missing -> None."""
    if value is MISSING:
        return None
    if type(value) is list or type(value) is dict:
        return _Frozen((orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode(),))
    if type(value) is float and value.is_integer():
        return int(value)  # 1.0 and 1 are the same JSON number, so the same key
    return value


def _unhashable(value: Any) -> Any:
    if type(value) is _Frozen:
        return orjson.loads(value[0])
    return value


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Pipeline:
    """Stages in a row: each output of stage i is the input of stage i+1, in order.

    ``push(record, emit)`` runs one input record through every stage and calls ``emit`` for
    each record that comes out of the last stage, in order. A StageError from any stage
    propagates to the caller (who quarantines the input record); outputs of that input record
    that reached ``emit`` before the error stay emitted.
    ``finish(emit)`` flushes the stages in order: stage i's ``finish()`` outputs go through
    stages i+1.. like any other record, then stage i+1 is finished, and so on.
    With no stages, ``push`` emits the record itself.
    """

    def __init__(self, stages: Iterable[Stage]) -> None:
        self.stages = list(stages)

    def push(self, record: Record, emit: Emit) -> None:
        raise NotImplementedError('TODO(streamfoundry.Pipeline.push): depth-first through the stages, so the order of outputs is the order of inputs')

    def finish(self, emit: Emit) -> None:
        raise NotImplementedError('TODO(streamfoundry.Pipeline.finish): finish stage i, push its outputs through the stages after it, then stage i+1')


def run_stages(stages: Iterable[Stage], records: Iterable[Record]) -> list[Record]:
    """Convenience for tests and notebooks: every output of ``records`` through ``stages``."""
    out: list[Record] = []
    pipeline = Pipeline(stages)
    for record in records:
        pipeline.push(record, out.append)
    pipeline.finish(out.append)
    return out
