"""Gradescope's results.json, as a JSON schema written from its published specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"): the keys it
names, their types, and the values it lists for visibility, status and string formats. Unknown
keys are refused, so a misspelled key cannot pass unnoticed."""

from __future__ import annotations

from typing import Any

import jsonschema

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
NUMBER = {"type": "number"}
STRING = {"type": "string"}

TEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": NUMBER,
        "max_score": NUMBER,
        "status": {"enum": ["passed", "failed"]},
        "name": STRING,
        "name_format": FORMAT,
        "number": STRING,
        "output": STRING,
        "output_format": FORMAT,
        "tags": {"type": "array", "items": STRING},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
}

RESULTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": NUMBER,
        "execution_time": NUMBER,
        "output": STRING,
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST},
        "leaderboard": {"type": "array"},
    },
    # "score ... optional, but required if not on each test case"; "tests ... required if no top-level score"
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
}


def validate(doc: Any) -> None:
    """Raise jsonschema.ValidationError when ``doc`` is not a results.json Gradescope accepts."""
    jsonschema.validate(doc, RESULTS)
    if "score" not in doc:
        assert all("score" in t for t in doc["tests"]), "without a top-level score, every test needs one"
