"""References into docs/architecture.md point at sections that exist, and nothing points at an outside brief.

Code and docs cite the architecture document as `architecture §6.4` (or `docs/architecture.md §6.4`; a list
such as `architecture §4, §6` cites each). Its sections are the numbered headings (`## 6. Rules ...`,
`### 6.4 Public points ...`). Renumbering a section, or citing one that was never written, fails here with
the file and line of every stale reference.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
THIS = "tests/test_architecture.py"  # its examples are not references

TEXT_SUFFIXES = {".py", ".js", ".html", ".md", ".sh", ".txt", ".toml", ".cfg", ".conf", ".yml"}
SKIPPED_PREFIXES = ("locale/", "static/map/vendor/")
MIN_REFERENCES = 20

SECTION = r"§\d+(?:\.\d+)*"
# `architecture §6.4`, `architecture.md §6.4`, and the sections listed after one: `§4, §6`, `§6.1 and §6.2`.
REFERENCE = re.compile(rf"\barchitecture(?:\.md)? ({SECTION}(?:(?:, | and | or |, and ){SECTION})*)")
HEADING = re.compile(r"^#{2,6} (\d+(?:\.\d+)*)\.? ")

# Spelt in pieces so that this file does not match itself.
FORBIDDEN = ("DESIGN" + " §", ".." + "/shared", "shared/" + "DESIGN")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def is_text_source(name: str) -> bool:
    if name.startswith(SKIPPED_PREFIXES):
        return False
    path = Path(name)
    if path.suffix in TEXT_SUFFIXES:
        return True
    return name.startswith("scripts/") and path.suffix == ""


def read_text(name: str) -> str | None:
    try:
        return (ROOT / name).read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        return None


def sections() -> set[str]:
    found = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = HEADING.match(line)
        if match:
            found.add(match.group(1))
    return found


def references() -> list[tuple[str, int, str]]:
    """(file, line, section) for every reference into the architecture document."""
    found = []
    for name in tracked_files():
        if not is_text_source(name) or name == THIS:
            continue
        text = read_text(name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in REFERENCE.finditer(line):
                for section in re.findall(SECTION, match.group(1)):
                    found.append((name, number, section[1:]))
    return found


def test_document_has_the_numbered_sections_the_code_relies_on():
    have = sections()
    expected = {str(n) for n in range(1, 11)} | {f"6.{n}" for n in range(1, 9)} | {"10.1"}
    assert expected <= have, f"docs/architecture.md lacks sections {sorted(expected - have)}"


def test_every_reference_names_a_section_that_exists():
    have = sections()
    bad = [f"{name}:{line}: architecture §{section}" for name, line, section in references() if section not in have]
    assert not bad, "references to sections docs/architecture.md does not have:\n" + "\n".join(bad)


def test_references_are_found_at_all():
    found = references()
    assert len(found) >= MIN_REFERENCES, (
        f"only {len(found)} references into docs/architecture.md were found; the search is probably broken"
    )


def test_nothing_points_at_a_document_outside_the_repository():
    bad = []
    for name in tracked_files():
        if name.startswith("static/map/vendor/"):
            continue
        text = read_text(name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for needle in FORBIDDEN:
                if needle in line:
                    bad.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not bad, (
        "these lines cite a design brief that is not in the repository; cite docs/architecture.md "
        "(`architecture §N`) instead:\n" + "\n".join(bad)
    )
