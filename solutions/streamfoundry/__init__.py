"""StreamFoundry: a streaming NDJSON ETL tool with bounded memory and ordered concurrency (project 03)."""

from .enrich import TableLookup, ordered_map
from .expr import EvalError, ExprError, compile_expr, evaluate, parse, tokenize
from .records import BadRecord, decode, iter_lines, open_input, read_chunks, read_records
from .runner import Counters, Policy, StopOnBadRecord, run
from .sinks import CsvSink, NdjsonSink, Quarantine, SummarySink, csv_cell
from .stages import (
    Dedupe,
    Explode,
    Filter,
    Pipeline,
    Rename,
    Sample,
    Select,
    SetField,
    Stage,
    StageError,
    Summarize,
    run_stages,
)

__all__ = [
    "BadRecord",
    "Counters",
    "CsvSink",
    "Dedupe",
    "EvalError",
    "Explode",
    "ExprError",
    "Filter",
    "NdjsonSink",
    "Pipeline",
    "Policy",
    "Quarantine",
    "Rename",
    "Sample",
    "Select",
    "SetField",
    "Stage",
    "StageError",
    "StopOnBadRecord",
    "Summarize",
    "SummarySink",
    "TableLookup",
    "compile_expr",
    "csv_cell",
    "decode",
    "evaluate",
    "iter_lines",
    "open_input",
    "ordered_map",
    "parse",
    "read_chunks",
    "read_records",
    "run",
    "run_stages",
    "tokenize",
]
