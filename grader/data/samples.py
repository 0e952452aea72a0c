"""The small logs checked in under datasets/samples/, regenerated from seeds (a test keeps them in sync).

python -m grader.data.samples   # rewrite them
"""

from __future__ import annotations

import json
from pathlib import Path

from ..course import DATASETS
from .accesslog import LogSpec, generate

SAMPLES = {
    "access-sample.log": LogSpec(400, seed=101, malformed=0.01),
    "access-plain-sample.log": LogSpec(200, seed=102, latency=False),
    "access-hostile-sample.log": LogSpec(
        300, seed=103, crlf=True, final_newline=False, malformed=0.03, giant_line=100_000
    ),
}


def render(spec: LogSpec) -> tuple[bytes, dict]:
    chunks, truth = generate(spec)
    data = b"".join(chunks)
    return data, truth.to_json()


def write(folder: Path = DATASETS / "samples") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in SAMPLES.items():
        data, truth = render(spec)
        (folder / name).write_bytes(data)
        (folder / name.replace(".log", ".truth.json")).write_text(json.dumps(truth, indent=1) + "\n")
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
