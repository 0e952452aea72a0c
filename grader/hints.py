"""Hints in layers, per project (``grader/suites/<project>/hints.toml``).

Format::

    [[hint]]
    title = "Start with the interface"
    text = \"\"\"...\"\"\"

Layer 1 is the gentlest nudge; later layers say more. A test names the layer that helps with
``@pytest.mark.hint(n)``; a learner reveals layers one at a time up to that one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from .course import SUITES


@dataclass(frozen=True)
class Hint:
    layer: int
    title: str
    text: str


@cache
def hints(project: str) -> tuple[Hint, ...]:
    path = SUITES / project / "hints.toml"
    if not path.exists():
        return ()
    with path.open("rb") as f:
        doc = tomllib.load(f)
    return tuple(Hint(i, h["title"], _unwrap(h["text"])) for i, h in enumerate(doc.get("hint", []), 1))


def _unwrap(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph (the display wraps to its own width)."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def hint(project: str, layer: int) -> Hint | None:
    layers = hints(project)
    return layers[layer - 1] if 1 <= layer <= len(layers) else None
