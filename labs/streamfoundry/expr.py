"""A small, safe expression language for filters and computed fields.

    type == "signup" and amount > 50
    user.country in ["DE", "FR"] and not exists deleted_at
    amount * 1.19

The text is tokenized, parsed into a tree of the node classes below, and the tree is evaluated
against a record. Nothing is ever handed to Python's ``eval``/``exec``/``compile``: the language
can read a record's fields and compute with literals, and that is all it can do. Anything that
looks like an attempt to reach further (attribute access on a value, calls, indexing, names
starting with "__", Python keywords such as ``import`` or ``lambda``) is a syntax error that
points at the offending token with a caret.

Grammar (lowest precedence first)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | test
    test    := "exists" path | sum [("=="|"!="|"<"|"<="|">"|">="|"in"|"not" "in") sum]
    sum     := product (("+"|"-") product)*
    product := unary (("*"|"/"|"%") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | "null" | path | "(" expr ")" | "[" [expr ("," expr)*] "]"
    path    := NAME ("." NAME)*          NAME: letters, digits, "_" (or any text in `backticks`)

Semantics (the same for every implementation; the tests hold you to them):

- A path reads nested objects: ``user.country`` is ``record["user"]["country"]``. A missing
  field (or a step through something that is not an object) gives null; ``exists path`` is
  true when the field is present, even if its value is null.
- Only ``false`` and ``null`` are false (as in jq): 0, "" and [] are true. ``and``/``or``/``not``
  return booleans.
- ``==``/``!=`` compare JSON values: numbers by value (1 == 1.0), and a boolean never equals a
  number (true != 1). ``<``, ``<=``, ``>``, ``>=`` compare two numbers or two strings; any other
  pair (a missing field, a string against a number) is simply false, never an error.
- ``x in [..]`` is list membership (with ``==``), ``"sub" in text`` is a substring test,
  ``"key" in object`` tests for a key; anything else is false.
- Arithmetic works on numbers (``/`` always gives a float); ``+`` also joins two strings. Any
  other operand, and division by zero, raises ``EvalError`` (the stage rejects that record).
"""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KEYWORDS = ("and", "or", "not", "in", "exists", "true", "false", "null")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class ExprError(ValueError):
    """A syntax error in an expression: ``message`` about the token at ``position`` in ``text``.

    ``str()`` shows the expression with a caret under the bad token, ready to print.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position

    def __str__(self) -> str:
        return f"{self.message}\n  {self.text}\n  {' ' * self.position}^"


class EvalError(ValueError):
    """Evaluating a well-formed expression failed on one record (e.g. "abc" * 2, 1 / 0)."""


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "op", "end"
    value: Any
    position: int  # offset of the token's first character in the text


# ---- the tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class ListOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Exists:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Negate:
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str  # "and", "or", a comparison, "in", "not in", "+", "-", "*", "/", "%"
    left: Any
    right: Any


Node = Literal | ListOf | Field | Exists | Not | Negate | Binary


# ---- tokenizer -----------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    """Cut ``text`` into tokens, ending with a Token("end", None, len(text)).

    Numbers (``42``, ``-`` is an operator, ``3.5``, ``1e3``), strings in double or single quotes
    with JSON-style escapes (``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\uXXXX``), names (letters,
    digits and ``_``; or anything between backticks), and the operators ``== != < <= > >= + - * /
    % ( ) [ ] , .``. Anything else raises ExprError at that character.
    """
    raise NotImplementedError('TODO(streamfoundry.tokenize): scan left to right: skip spaces, read numbers, strings, names, operators')


# ---- parser --------------------------------------------------------------------------------------


def parse(text: str) -> Node:
    """Parse ``text`` into a tree (see the grammar above); raise ExprError with the position of
    the first token that does not fit. Rejected on purpose, each with its own message:
    attribute access on anything that is not a field path (``"x".upper``, ``(a).b``), calls
    (``f(x)``, ``x.y()``), indexing (``x[0]``), names starting with ``__``, Python keywords that
    are not part of the language (``import``, ``lambda``, ``for``, ...), and an empty expression.
    """
    raise NotImplementedError('TODO(streamfoundry.parse): tokenize, then recursive descent with one function per grammar rule')


# ---- evaluation ----------------------------------------------------------------------------------

MISSING = object()  # what a path gives for a field that is not there (null to everything but exists)


def lookup(record: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``record``, or MISSING (a missing field, or a step into a non-object)."""
    raise NotImplementedError('TODO(streamfoundry.lookup): walk the path through nested dicts')


def evaluate(node: Node, record: dict[str, Any]) -> Any:
    """The value of the tree ``node`` for ``record`` (a missing field evaluates to None)."""
    raise NotImplementedError('TODO(streamfoundry.evaluate): one case per node class, following the semantics in the module docstring')


def compile_expr(node: Node) -> Callable[[dict[str, Any]], Any]:
    """A function ``record -> value`` equivalent to ``evaluate(node, record)``.

    ``lambda record: evaluate(node, record)`` is a correct answer. A faster one turns the tree
    into nested closures once, so that no per-record work is spent on deciding what each node
    is (still without eval: the closures are ordinary Python functions written in advance).
    """
    raise NotImplementedError("TODO(streamfoundry.compile_expr): turn each node into a closure that calls its children's closures")


def compile_text(text: str) -> Callable[[dict[str, Any]], Any]:
    """Parse and compile in one step (raises ExprError for a bad expression)."""
    return compile_expr(parse(text))
