"""README's runnable sections: their Python blocks run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# Sections whose code is complete (the others show fragments of a loop).
RUNNABLE = ["### Cold start", "### One call: `query`"]


def blocks(heading):
    text = README.read_text(encoding="utf-8")
    start = text.index(heading + "\n") + len(heading)
    # Up to the next heading (## or deeper; a comment in a block has one #).
    following = re.search(r"\n#{2,6} ", text[start:])
    section = text[start : start + following.start() if following else len(text)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.parametrize("heading", RUNNABLE)
def test_section_runs(heading):
    code = blocks(heading)
    assert code, f"no Python block under {heading!r}"
    for block in code:
        exec(compile(block, f"README.md ({heading})", "exec"), {})
