"""Datasets: seeded generators with exact ground truth, cached by (kind, size, seed)."""

from .cache import KINDS, Dataset, ensure, parse_size

__all__ = ["KINDS", "Dataset", "ensure", "parse_size"]
