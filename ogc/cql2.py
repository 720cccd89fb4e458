"""A small CQL2-text reader for OGC API – Features Part 3: Basic CQL2, nothing more.

`parse(text)` gives a tree of tuples, never code: ("and", a, b), ("or", a, b), ("not", a),
("cmp", op, property, literal) and ("null", property, negated). Literals are `Literal(kind, value)` with kind
string, number, boolean, timestamp or date (the text inside TIMESTAMP('…') or DATE('…'), parsed later against
the property). A comparison with the literal first is turned round. Anything else CQL2 has (LIKE, BETWEEN,
IN, spatial, temporal and array operators, functions, arithmetic, property against property) is a
`CqlError` naming it, so a client learns at once that it asked for more than this server does.

Bounded: at most MAX_LENGTH characters, MAX_DEPTH levels of nesting and MAX_PREDICATES comparisons, so a
filter cannot make the parser or the SQL it becomes arbitrarily large.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 4000
MAX_DEPTH = 20
MAX_PREDICATES = 50

SUPPORTED = (
    "comparisons (=, <>, <, <=, >, >=) and IS [NOT] NULL between a queryable and a literal (a 'string', a "
    "number, TRUE or FALSE, TIMESTAMP('2026-12-01T10:00:00Z'), DATE('2026-12-01')), joined with AND, OR, NOT "
    "and parentheses"
)

# Keywords of full CQL2 this reader knows it does not implement: named in the error.
UNSUPPORTED_WORDS = {"LIKE", "BETWEEN", "IN", "CASEI", "ACCENTI", "INTERVAL", "BBOX", "POINT", "POLYGON"}
UNSUPPORTED_PREFIXES = ("S_", "T_", "A_")
COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op><>|<=|>=|=|<|>)
  | (?P<paren>[()])
  | (?P<comma>,)
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<word>[A-Za-z_][A-Za-z0-9_.:]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class CqlError(ValueError):
    """The filter is not CQL2 text this server reads; the message says what to change."""


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, timestamp, date
    value: Any


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "space":
            continue
        if kind == "other":
            if match.group() in "+-*/%":
                raise CqlError(f"filter: arithmetic is not supported. This server supports {SUPPORTED}.")
            raise CqlError(f"filter: unexpected {match.group()!r} at character {match.start() + 1}.")
        tokens.append(Token(kind, match.group(), match.start()))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.predicates = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def word(self, token: Token | None) -> str | None:
        return token.text.upper() if token is not None and token.kind == "word" else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise CqlError("filter ends too early: a comparison or a closing parenthesis is missing.")
        self.at += 1
        return token

    def expression(self, depth: int) -> tuple:
        if depth > MAX_DEPTH:
            raise CqlError(f"filter nests more than {MAX_DEPTH} levels deep.")
        left = self.conjunction(depth)
        while self.word(self.peek()) == "OR":
            self.take()
            left = ("or", left, self.conjunction(depth))
        return left

    def conjunction(self, depth: int) -> tuple:
        left = self.negation(depth)
        while self.word(self.peek()) == "AND":
            self.take()
            left = ("and", left, self.negation(depth))
        return left

    def negation(self, depth: int) -> tuple:
        if self.word(self.peek()) == "NOT":
            self.take()
            return ("not", self.negation(depth + 1))
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.expression(depth + 1)
            closing = self.take()
            if closing.text != ")":
                raise CqlError(f"filter: expected ) at character {closing.at + 1}, found {closing.text!r}.")
            return inner
        return self.predicate()

    def predicate(self) -> tuple:
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise CqlError(f"filter has more than {MAX_PREDICATES} comparisons.")
        left = self.operand()
        token = self.take()
        if self.word(token) == "IS":
            negated = self.word(self.peek()) == "NOT"
            if negated:
                self.take()
            if self.word(self.take()) != "NULL":
                raise CqlError("filter: IS must be followed by NULL or NOT NULL.")
            if not isinstance(left, Property):
                raise CqlError("filter: IS NULL applies to a queryable, not to a literal.")
            return ("null", left.name, negated)
        self.refuse(token)
        if token.kind != "op":
            raise CqlError(f"filter: expected a comparison (=, <>, <, <=, >, >=) at character {token.at + 1}.")
        right = self.operand()
        op = token.text
        if isinstance(left, Literal) and isinstance(right, Property):
            left, right, op = right, left, FLIPPED[op]
        if not isinstance(left, Property) or not isinstance(right, Literal):
            raise CqlError(f"filter: each comparison must be between one queryable and one literal. {self.help()}")
        return ("cmp", op, left.name, right)

    def operand(self) -> Property | Literal:
        token = self.take()
        self.refuse(token)
        if token.kind == "string":
            return Literal("string", token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            number = float(token.text)
            return Literal("number", int(number) if re.fullmatch(r"-?\d+", token.text) else number)
        if token.kind == "quoted":
            return Property(token.text[1:-1].replace('""', '"'))
        word = self.word(token)
        if word in ("TRUE", "FALSE"):
            return Literal("boolean", word == "TRUE")
        if word in ("TIMESTAMP", "DATE"):
            if self.take().text != "(":
                raise CqlError(f"filter: {word} must be followed by ('…').")
            value = self.take()
            if value.kind != "string" or self.take().text != ")":
                raise CqlError(f"filter: {word} takes one quoted string, e.g. {word}('2026-12-01').")
            return Literal(word.lower(), value.text[1:-1])
        if token.kind == "word":
            following = self.peek()
            if following is not None and following.text == "(":
                raise CqlError(f"filter: functions such as {token.text}() are not supported. {self.help()}")
            return Property(token.text)
        raise CqlError(f"filter: expected a queryable or a literal at character {token.at + 1}, found {token.text!r}.")

    def refuse(self, token: Token) -> None:
        word = self.word(token)
        if word is None:
            return
        if word in UNSUPPORTED_WORDS or word.startswith(UNSUPPORTED_PREFIXES):
            raise CqlError(f"filter: {word} is not supported. {self.help()}")

    def help(self) -> str:
        return f"This server supports {SUPPORTED}."


def parse(text: str) -> tuple:
    if len(text) > MAX_LENGTH:
        raise CqlError(f"filter is longer than {MAX_LENGTH} characters.")
    tokens = tokenize(text)
    if not tokens:
        raise CqlError("filter is empty.")
    parser = _Parser(tokens)
    tree = parser.expression(0)
    rest = parser.peek()
    if rest is not None:
        if rest.kind == "word" and rest.text.upper() not in ("AND", "OR", "NOT"):
            parser.refuse(rest)
        raise CqlError(f"filter: unexpected {rest.text!r} at character {rest.at + 1}.")
    return tree
