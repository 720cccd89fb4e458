"""Where the bench scripts record their numbers: one `## ` section each in docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nNumbers printed by the scripts in bench/.\n"


def record_section(section: str) -> Path:
    """Put `section` (its first line is its `## ` heading) in the file, replacing the section of that heading."""
    heading = section.split("\n", 1)[0]
    section = section.rstrip("\n") + "\n"
    text = PATH.read_text() if PATH.exists() else HEADER
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end:] if end != -1 else "")
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(text)
    return PATH
