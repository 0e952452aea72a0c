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
        # BEGIN SOLUTION: evaluate; keep the record when the value is neither false nor null; EvalError -> StageError
        try:
            value = self.test(record)
        except EvalError as exc:
            raise StageError(f"filter {self.expression!r}: {exc}") from None
        return (record,) if value is not None and value is not False else ()
        # END SOLUTION


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
        # BEGIN SOLUTION: build {field text: value at its path or None}
        out = {}
        for name, path in zip(self.fields, self.paths, strict=True):
            if len(path) == 1:
                out[name] = record.get(path[0])
            else:
                value = lookup(record, path)
                out[name] = None if value is MISSING else value
        return (out,)
        # END SOLUTION


class Rename(Stage):
    """Rename top-level fields (``{"old": "new"}``), keeping each field where it was in the
    record's order. A field that is missing is simply not renamed."""

    name = "rename"

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = dict(mapping)

    def process(self, record: Record) -> Sequence[Record]:
        # BEGIN SOLUTION: rebuild the dict in order with the new names
        if not any(key in record for key in self.mapping):
            return (record,)
        get = self.mapping.get
        return ({get(key, key): value for key, value in record.items()},)
        # END SOLUTION


class SetField(Stage):
    """A computed top-level field: ``SetField("total", "amount * qty")``. An existing field
    keeps its place; a new one is added at the end. EvalError on a record -> StageError."""

    name = "set"

    def __init__(self, field: str, expression: str) -> None:
        self.field = field
        self.expression = expression
        self.compute = compile_expr(parse(expression))

    def process(self, record: Record) -> Sequence[Record]:
        # BEGIN SOLUTION: evaluate and store under the field name
        try:
            record[self.field] = self.compute(record)
        except EvalError as exc:
            raise StageError(f"set {self.field} = {self.expression}: {exc}") from None
        return (record,)
        # END SOLUTION


class Explode(Stage):
    """One record per element of an array field, in the array's order: the field's value
    becomes the element, every other field is copied. An empty array gives no record; a field
    that is missing or not an array -> StageError."""

    name = "explode"

    def __init__(self, field: str) -> None:
        self.field = field

    def process(self, record: Record) -> Sequence[Record]:
        # BEGIN SOLUTION: check it is a list, then one shallow copy per element
        items = record.get(self.field, MISSING)
        if type(items) is not list:
            got = "missing" if items is MISSING else f"{type(items).__name__} {_short(items)}"
            raise StageError(f"explode {self.field}: expected an array, got {got}")
        field = self.field
        out = []
        for item in items:
            copy = dict(record)
            copy[field] = item
            out.append(copy)
        return out
        # END SOLUTION


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
        # BEGIN SOLUTION: the state you need (e.g. an OrderedDict of recent keys)
        self._seen: OrderedDict[Any, None] = OrderedDict()
        # END SOLUTION

    def process(self, record: Record) -> Sequence[Record]:
        # BEGIN SOLUTION: hashable key; seen -> drop (mark it recent); new -> remember, evict the oldest
        key = tuple(_hashable(lookup(record, path)) for path in self.paths)
        seen = self._seen
        if key in seen:
            seen.move_to_end(key)
            return ()
        seen[key] = None
        if len(seen) > self.window:
            seen.popitem(last=False)
        return (record,)
        # END SOLUTION


class Sample(Stage):
    """Keep each record with probability ``rate`` (0 < rate <= 1), decided by a
    ``random.Random(seed)``: the same input and seed always give the same output."""

    name = "sample"

    def __init__(self, rate: float, seed: int = 1) -> None:
        if not 0 < rate <= 1:
            raise ValueError(f"the sample rate must be in (0, 1], got {rate}")
        self.rate = rate
        self.seed = seed
        # BEGIN SOLUTION: a seeded random number generator
        self._random = random.Random(seed).random
        # END SOLUTION

    def process(self, record: Record) -> Sequence[Record]:
        # BEGIN SOLUTION: one random draw per record, in input order
        return (record,) if self._random() < self.rate else ()
        # END SOLUTION


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
        # BEGIN SOLUTION: the state you need (a dict of groups, and the other-group)
        self._groups: dict[Any, list[Any]] = {}
        self._other: list[Any] | None = None
        # one field to group by, one level deep: its value is the key itself (no tuple to build)
        self._single = self.by_paths[0][0] if len(self.by_paths) == 1 and len(self.by_paths[0]) == 1 else None
        self._slots = [(1 + 4 * i, path[0] if len(path) == 1 else None, path) for i, path in enumerate(self.sum_paths)]
        # END SOLUTION

    def process(self, record: Record) -> Sequence[Record]:
        # BEGIN SOLUTION: find or make the group (or the other-group past the cap), then update count, sum, min, max
        if self._single is not None:
            value = record.get(self._single)
            key = value if type(value) is str else _hashable(value)
        else:
            key = tuple(_hashable(lookup(record, path)) for path in self.by_paths)
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) < self.max_groups:
                group = self._groups[key] = _new_group(len(self.sums))
            else:
                if self._other is None:
                    self._other = _new_group(len(self.sums))
                group = self._other
        group[0] += 1
        for at, name, path in self._slots:
            value = record.get(name) if name is not None else lookup(record, path)
            kind = type(value)
            if kind is int:
                group[at] += value
            elif kind is float and math.isfinite(value):  # type: ignore[arg-type]
                # floats are added exactly, as integers in units of 2**-1074 (the smallest float):
                # the sum is then independent of the order, and correctly rounded at the end
                numerator, denominator = value.as_integer_ratio()  # type: ignore[union-attr]
                group[at + 1] = (group[at + 1] or 0) + (numerator << (EXACT - denominator.bit_length() + 1))
            else:
                continue
            low = group[at + 2]
            if low is None or value < low:
                group[at + 2] = value
            high = group[at + 3]
            if high is None or value > high:
                group[at + 3] = value
        return ()
        # END SOLUTION

    @property
    def overflowed(self) -> bool:
        # BEGIN SOLUTION: has any record gone to the other-group?
        return self._other is not None
        # END SOLUTION

    def merge(self, other: Summarize) -> None:
        # BEGIN SOLUTION: add other's groups into ours in other's first-seen order (dicts keep insertion order)
        width = 1 + 4 * len(self.sums)
        for key, theirs in other._groups.items():
            ours = self._groups.get(key)
            if ours is None:
                if len(self._groups) < self.max_groups:
                    self._groups[key] = list(theirs)
                    continue
                if self._other is None:
                    self._other = _new_group(len(self.sums))
                ours = self._other
            _fold(ours, theirs, width)
        if other._other is not None:
            if self._other is None:
                self._other = _new_group(len(self.sums))
            _fold(self._other, other._other, width)
        # END SOLUTION

    def finish(self) -> Sequence[Record]:
        # BEGIN SOLUTION: one record per group in the documented order
        ordered = sorted(self._groups.items(), key=lambda kv: (-kv[1][0], orjson.dumps(kv[0]).decode()))
        out = [self._record(key, group) for key, group in ordered]
        if self._other is not None:
            other = OTHER if self._single is not None else tuple(OTHER for _ in self.by)
            out.append(self._record(other, self._other))
        return out

    def _record(self, key: Any, group: list[Any]) -> Record:
        keys = (key,) if self._single is not None else key
        record: Record = {name: _unhashable(value) for name, value in zip(self.by, keys, strict=True)}
        record["count"] = group[0]
        for i, name in enumerate(self.sums):
            at = 1 + 4 * i
            whole, scaled = group[at], group[at + 1]
            if group[at + 2] is None:
                total = None  # no numeric value in this group
            elif scaled is None:
                total = whole
            else:
                total = ((whole << EXACT) + scaled) / (1 << EXACT)  # int / int: correctly rounded
            record[f"{name}_sum"] = total
            record[f"{name}_min"] = group[at + 2]
            record[f"{name}_max"] = group[at + 3]
        return record


def _new_group(sums: int) -> list[Any]:
    group: list[Any] = [0]
    for _ in range(sums):
        group += [0, None, None, None]  # integer sum, exact float sum (scaled), min, max
    return group


def _fold(ours: list[Any], theirs: list[Any], width: int) -> None:
    """Add one group's figures into another's: [count, (int sum, float sum, min, max) per field]."""
    ours[0] += theirs[0]
    for at in range(1, width, 4):
        ours[at] += theirs[at]
        if theirs[at + 1] is not None:
            ours[at + 1] = (ours[at + 1] or 0) + theirs[at + 1]
        for pick, slot in ((min, at + 2), (max, at + 3)):
            if theirs[slot] is not None:
                ours[slot] = theirs[slot] if ours[slot] is None else pick(ours[slot], theirs[slot])
    # END SOLUTION


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
        # BEGIN SOLUTION: depth-first through the stages, so the order of outputs is the order of inputs
        if emit is not self._emit:
            self._heads = self._chain(emit)
            self._emit = emit
        self._heads[0](record)

    _emit: Emit | None = None
    _heads: list[Emit]

    def _chain(self, emit: Emit) -> list[Emit]:
        """heads[i] pushes a record into stage i and everything after it; heads[-1] is emit."""
        heads = [emit]
        for stage in reversed(self.stages):
            heads.append(_link(stage.process, heads[-1]))
        heads.reverse()
        return heads
        # END SOLUTION

    def finish(self, emit: Emit) -> None:
        # BEGIN SOLUTION: finish stage i, push its outputs through the stages after it, then stage i+1
        heads = self._chain(emit)
        for index, stage in enumerate(self.stages):
            for out in stage.finish():
                heads[index + 1](out)


def _link(process: Callable[[Record], Sequence[Record]], nxt: Emit) -> Emit:
    def push(record: Record) -> None:
        for out in process(record):
            nxt(out)

    return push
    # END SOLUTION


def run_stages(stages: Iterable[Stage], records: Iterable[Record]) -> list[Record]:
    """Convenience for tests and notebooks: every output of ``records`` through ``stages``."""
    out: list[Record] = []
    pipeline = Pipeline(stages)
    for record in records:
        pipeline.push(record, out.append)
    pipeline.finish(out.append)
    return out
