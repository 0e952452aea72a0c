"""LogLens: a streaming access-log analyzer (project 01)."""

from .lines import Overlong, iter_lines
from .parse import Record, parse_line
from .sketch import LatencySketch
from .summary import Summarizer
from .topk import Heavy, TopK

__all__ = [
    "Heavy",
    "LatencySketch",
    "Overlong",
    "Record",
    "Summarizer",
    "TopK",
    "iter_lines",
    "parse_line",
]
