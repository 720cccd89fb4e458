"""The configuration documentation agrees with itself and with the settings.

`.env.example` lists every environment variable with its default; the README's configuration table lists
the same ones in the same order. The settings read variables through the helpers in config/env.py, whose
calls are found by parsing the source, so a new setting without documentation fails here.
"""

from __future__ import annotations

import ast
import operator
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_float", "env_list", "env_choice", "env_url"}
# Variables that only the scripts and the entry points read.
SCRIPT_SOURCES = ["scripts/lib.sh", "scripts/run", "scripts/test", "manage.py", "config/wsgi.py", "config/celery.py"]
SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", "tests"}

UNSET = None  # a variable documented as "# NAME=" in .env.example and "unset" in the README


def parse_env_example() -> dict[str, str | None]:
    """NAME -> default, in file order; a commented-out `# NAME=` means unset."""
    variables: dict[str, str | None] = {}
    for number, line in enumerate((ROOT / ".env.example").read_text().splitlines(), start=1):
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match is None:
            continue
        commented, name, value = match.groups()
        assert name not in variables, f".env.example line {number}: {name} is listed twice"
        if commented:
            assert value == "", f".env.example line {number}: an unset variable is written '# {name}=' alone"
            variables[name] = UNSET
        else:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            variables[name] = value
    return variables


def parse_readme_configuration() -> dict[str, str | None]:
    """NAME -> default from the table under "## Configuration", in table order."""
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert section is not None, "README.md has no '## Configuration' section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("|")]
    assert len(rows) > 2, "the configuration section has no table"
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header == ["Variable", "Default", "Meaning"]
    variables: dict[str, str | None] = {}
    for row in rows[2:]:
        name_cell, default_cell, _meaning = (cell.strip() for cell in row.strip("|").split("|", 2))
        name_match = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", name_cell)
        assert name_match, f"README configuration row without a `NAME`: {row}"
        name = name_match.group(1)
        assert name not in variables, f"README lists {name} twice"
        if default_cell == "unset":
            variables[name] = UNSET
        else:
            default_match = re.fullmatch(r"`([^`]*)`", default_cell)
            assert default_match, f"README default for {name} is neither `value` nor unset: {default_cell}"
            variables[name] = default_match.group(1)
    return variables


def python_sources() -> list[Path]:
    sources = []
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRS and not d.startswith("."))
        sources.extend(Path(directory) / name for name in sorted(files) if name.endswith(".py"))
    return [path for path in sources if path != ROOT / "config" / "env.py"]


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def literal(node: ast.expr):
    """The value of a constant expression such as `10 * 1024 * 1024` or `["a", "b"]`; ValueError otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -literal(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](literal(node.left), literal(node.right))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(element) for element in node.elts]
    raise ValueError(ast.dump(node))


def as_env_value(value) -> str | None:
    """How a Python default is written in the environment."""
    if value is None:
        return UNSET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def settings_reads() -> dict[str, list[tuple[str, str | None]]]:
    """NAME -> [(where, default as written in the environment)] for each env_* call with a literal name.

    A default that is not a constant expression (e.g. a path built at start-up) is left out of the list.
    """
    reads: dict[str, list[tuple[str, str | None]]] = {}
    for path in python_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENV_HELPERS):
                continue
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                continue
            name = node.args[0].value
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            entries = reads.setdefault(name, [])
            default_node = node.args[1] if len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "default":
                    default_node = keyword.value
            if default_node is None:
                entries.append((where, UNSET))
                continue
            try:
                entries.append((where, as_env_value(literal(default_node))))
            except ValueError:
                pass  # computed at start-up: documented in words, not comparable here
    return reads


def test_readme_configuration_table_matches_env_example():
    env_example = parse_env_example()
    readme = parse_readme_configuration()
    assert list(readme) == list(env_example), "README table and .env.example list different variables or orders"
    differing = {name: (readme[name], env_example[name]) for name in env_example if readme[name] != env_example[name]}
    assert differing == {}, "defaults differ as (README, .env.example)"


def test_source_scan_finds_the_settings_reads():
    reads = settings_reads()
    assert "DATABASE_URL" in reads and "SECRET_KEY" in reads, "the source scan found none of the settings' reads"


def test_env_example_lists_every_variable_the_settings_read():
    documented = parse_env_example()
    missing = {name: [where for where, _ in entries] for name, entries in settings_reads().items()}
    missing = {name: places for name, places in missing.items() if name not in documented}
    assert missing == {}, "read by the code but not in .env.example (nor in the README table)"


def test_env_example_defaults_are_the_ones_the_settings_use():
    documented = parse_env_example()
    wrong = {}
    for name, entries in settings_reads().items():
        defaults = {default for _, default in entries}
        if entries and name in documented and documented[name] not in defaults:
            wrong[name] = {"documented": documented[name], "in the code": sorted(map(str, defaults))}
    assert wrong == {}


def test_env_example_lists_only_variables_something_reads():
    reads = settings_reads()
    scripts = "\n".join((ROOT / source).read_text() for source in SCRIPT_SOURCES if (ROOT / source).exists())
    stale = [name for name in parse_env_example() if name not in reads and not re.search(rf"\b{name}\b", scripts)]
    assert stale == [], "documented in .env.example but read by neither the settings nor the scripts"


@pytest.mark.parametrize("line", ["# NAME=value", "# NAME="])
def test_env_example_parser_reads_a_commented_line_as_unset_only_when_empty(tmp_path, monkeypatch, line):
    (tmp_path / ".env.example").write_text(f"{line}\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    if line.endswith("="):
        assert parse_env_example() == {"NAME": UNSET}
    else:
        with pytest.raises(AssertionError):
            parse_env_example()
