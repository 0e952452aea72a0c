"""Tiny, obviously-correct models the tests compare against (not fast, not streaming)."""

from __future__ import annotations

import math


def split_lines(data: bytes, max_line: int) -> list[tuple[bytes, bool]]:
    """(line, overlong) pairs exactly as iter_lines must produce them for ``data`` in one piece."""
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()  # a trailing newline ends the last line; it does not start a new one
    out = []
    for piece in pieces:
        line = piece[:-1] if piece.endswith(b"\r") else piece
        out.append((line[:max_line], len(line) > max_line))
    return out


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
