"""Reusable stress and fault tools; every suite uses these instead of writing its own."""
