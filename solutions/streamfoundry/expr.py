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
    # BEGIN SOLUTION: scan left to right: skip spaces, read numbers, strings, names, operators
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c.isdigit():
            j = i
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    j = k
                    while j < n and text[j].isdigit():
                        j += 1
            word = text[i:j]
            try:
                value: Any = float(word) if any(ch in word for ch in ".eE") else int(word)
            except ValueError:
                raise ExprError(f"not a number: {word}", text, i) from None
            if j < n and (text[j].isalpha() or text[j] == "_"):
                raise ExprError("a name cannot start with a digit", text, i)
            tokens.append(Token("number", value, i))
            i = j
        elif c in "\"'":
            value, end = _string(text, i)
            tokens.append(Token("string", value, i))
            i = end
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ExprError("this quoted name is never closed", text, i)
            if end == i + 1:
                raise ExprError("empty name", text, i)
            tokens.append(Token("name", text[i + 1 : end], i))
            i = end + 1
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word.startswith("__"):
                raise ExprError(f"names starting with '__' are not allowed: {word}", text, i)
            if keyword.iskeyword(word) and word not in KEYWORDS:
                raise ExprError(f"'{word}' is not part of the expression language", text, i)
            tokens.append(Token("name", word, i))
            i = j
        elif text.startswith(("==", "!=", "<=", ">="), i):
            tokens.append(Token("op", text[i : i + 2], i))
            i += 2
        elif c in "<>+-*/%()[],.":
            tokens.append(Token("op", c, i))
            i += 1
        elif c == "=":
            raise ExprError("'=' is not an operator here: compare with '=='", text, i)
        else:
            raise ExprError(f"unexpected character {c!r}", text, i)
    tokens.append(Token("end", None, n))
    return tokens


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _string(text: str, start: int) -> tuple[str, int]:
    """The string literal starting at ``start`` (a quote) -> (value, index after the closing quote)."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt == "u":
                digits = text[i + 2 : i + 6]
                if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                    raise ExprError("\\u needs four hex digits", text, i)
                out.append(chr(int(digits, 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise ExprError(f"unknown escape \\{nxt}", text, i)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(c)
        i += 1
    raise ExprError("this string is never closed", text, start)
    # END SOLUTION


# ---- parser --------------------------------------------------------------------------------------


def parse(text: str) -> Node:
    """Parse ``text`` into a tree (see the grammar above); raise ExprError with the position of
    the first token that does not fit. Rejected on purpose, each with its own message:
    attribute access on anything that is not a field path (``"x".upper``, ``(a).b``), calls
    (``f(x)``, ``x.y()``), indexing (``x[0]``), names starting with ``__``, Python keywords that
    are not part of the language (``import``, ``lambda``, ``for``, ...), and an empty expression.
    """
    # BEGIN SOLUTION: tokenize, then recursive descent with one function per grammar rule
    parser = _Parser(text, tokenize(text))
    tree = parser.expr()
    token = parser.peek()
    if token.kind != "end":
        raise parser.unexpected(token)
    return tree


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text, self.tokens, self.i = text, tokens, 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def error(self, message: str, token: Token) -> ExprError:
        return ExprError(message, self.text, token.position)

    def unexpected(self, token: Token) -> ExprError:
        if token.kind == "end":
            return self.error("the expression ends too early", token)
        if token.kind == "op" and token.value == "(":
            return self.error("calls are not allowed", token)
        if token.kind == "op" and token.value == "[":
            return self.error("indexing is not allowed (use a field path such as items.sku)", token)
        if token.kind == "op" and token.value == ".":
            return self.error("attribute access is not allowed (only field paths such as user.country)", token)
        if token.kind == "op":
            return self.error(f"unexpected {token.value!r}", token)
        shown = token.value if token.kind != "string" else repr(token.value)
        return self.error(f"unexpected {token.kind} {shown}", token)

    def is_word(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "name" and token.value == word

    def is_op(self, op: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.value == op

    def expr(self) -> Node:
        node = self.conjunction()
        while self.is_word("or"):
            self.take()
            node = Binary("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.is_word("and"):
            self.take()
            node = Binary("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.negation())
        return self.test()

    def test(self) -> Node:
        if self.is_word("exists"):
            self.take()
            token = self.peek()
            if token.kind != "name" or token.value in KEYWORDS:
                raise self.error("exists needs a field path, e.g. exists user.country", token)
            return Exists(self.path())
        left = self.sum()
        token = self.peek()
        if token.kind == "op" and token.value in COMPARISONS:
            self.take()
            return Binary(token.value, left, self.sum())
        if self.is_word("in"):
            self.take()
            return Binary("in", left, self.sum())
        if self.is_word("not") and self.is_word("in", 1):
            self.take()
            self.take()
            return Binary("not in", left, self.sum())
        return left

    def sum(self) -> Node:
        node = self.product()
        while self.is_op("+") or self.is_op("-"):
            node = Binary(self.take().value, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.is_op("*") or self.is_op("/") or self.is_op("%"):
            node = Binary(self.take().value, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.is_op("-"):
            self.take()
            return Negate(self.unary())
        node = self.atom()
        after = self.peek()
        if after.kind == "op" and after.value in ("(", "[", "."):
            raise self.unexpected(after)  # f(x), x[0], "s".upper, (a).b: nothing may follow an atom
        return node

    def atom(self) -> Node:
        token = self.peek()
        if token.kind in ("number", "string"):
            self.take()
            return Literal(token.value)
        if token.kind == "name":
            constants = {"true": True, "false": False, "null": None}
            if token.value in constants:
                self.take()
                return Literal(constants[token.value])
            if token.value in KEYWORDS:
                raise self.error(f"'{token.value}' cannot start a value here", token)
            return Field(self.path())
        if token.kind == "op" and token.value == "(":
            self.take()
            node = self.expr()
            if not self.is_op(")"):
                raise self.error("expected ')'", self.peek())
            self.take()
            return node
        if token.kind == "op" and token.value == "[":
            self.take()
            items: list[Node] = []
            if not self.is_op("]"):
                items.append(self.expr())
                while self.is_op(","):
                    self.take()
                    items.append(self.expr())
            if not self.is_op("]"):
                raise self.error("expected ',' or ']'", self.peek())
            self.take()
            return ListOf(tuple(items))
        raise self.unexpected(token)

    def path(self) -> tuple[str, ...]:
        parts = [self.name()]
        while self.is_op("."):
            self.take()
            if self.peek().kind != "name":
                raise self.error("a field name must follow '.'", self.peek())
            parts.append(self.name())
        return tuple(parts)

    def name(self) -> str:
        return str(self.take().value)

    # END SOLUTION


# ---- evaluation ----------------------------------------------------------------------------------

MISSING = object()  # what a path gives for a field that is not there (null to everything but exists)


def lookup(record: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``record``, or MISSING (a missing field, or a step into a non-object)."""
    # BEGIN SOLUTION: walk the path through nested dicts
    value = record
    for name in path:
        if type(value) is not dict:
            return MISSING
        value = value.get(name, MISSING)
        if value is MISSING:
            return MISSING
    return value
    # END SOLUTION


def evaluate(node: Node, record: dict[str, Any]) -> Any:
    """The value of the tree ``node`` for ``record`` (a missing field evaluates to None)."""
    # BEGIN SOLUTION: one case per node class, following the semantics in the module docstring
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Field):
        value = lookup(record, node.path)
        return None if value is MISSING else value
    if isinstance(node, Exists):
        return lookup(record, node.path) is not MISSING
    if isinstance(node, ListOf):
        return [evaluate(item, record) for item in node.items]
    if isinstance(node, Not):
        return not _truthy(evaluate(node.operand, record))
    if isinstance(node, Negate):
        return _arithmetic("-", 0, evaluate(node.operand, record))
    op = node.op
    if op == "and":
        return _truthy(evaluate(node.left, record)) and _truthy(evaluate(node.right, record))
    if op == "or":
        return _truthy(evaluate(node.left, record)) or _truthy(evaluate(node.right, record))
    return _OPERATORS[op](evaluate(node.left, record), evaluate(node.right, record))


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


def _equal(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return bool(a == b)


def _number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if (_number(a) and _number(b)) or (type(a) is str and type(b) is str):
            return test(a, b)
        return False

    return compare


def _contains(item: Any, container: Any) -> bool:
    if type(container) is list:
        return any(_equal(item, x) for x in container)
    if type(container) is str:
        return type(item) is str and item in container
    if type(container) is dict:
        return type(item) is str and item in container
    return False


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if op == "+" and type(a) is str and type(b) is str:
        return a + b
    if not (_number(a) and _number(b)):
        raise EvalError(f"cannot compute {_kind(a)} {op} {_kind(b)}")
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return a % b
    except ZeroDivisionError:
        raise EvalError(f"division by zero ({a} {op} {b})") from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    if type(value) is str:
        return "a string"
    if type(value) is list:
        return "an array"
    if type(value) is dict:
        return "an object"
    return "a number"


def _arith(op: str) -> Callable[[Any, Any], Any]:
    return lambda a, b: _arithmetic(op, a, b)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
    "+": _arith("+"),
    "-": _arith("-"),
    "*": _arith("*"),
    "/": _arith("/"),
    "%": _arith("%"),
}
# END SOLUTION


def compile_expr(node: Node) -> Callable[[dict[str, Any]], Any]:
    """A function ``record -> value`` equivalent to ``evaluate(node, record)``.

    ``lambda record: evaluate(node, record)`` is a correct answer. A faster one turns the tree
    into nested closures once, so that no per-record work is spent on deciding what each node
    is (still without eval: the closures are ordinary Python functions written in advance).
    """
    # BEGIN SOLUTION: turn each node into a closure that calls its children's closures
    if isinstance(node, Literal):
        value = node.value
        return lambda record: value
    if isinstance(node, Field):
        path = node.path
        if len(path) == 1:
            name = path[0]
            return lambda record: record.get(name)
        return lambda record: _or_none(lookup(record, path))
    if isinstance(node, Exists):
        path = node.path
        return lambda record: lookup(record, path) is not MISSING
    if isinstance(node, ListOf):
        items = [compile_expr(item) for item in node.items]
        return lambda record: [item(record) for item in items]
    if isinstance(node, Not):
        operand = compile_expr(node.operand)
        return lambda record: not _truthy(operand(record))
    if isinstance(node, Negate):
        operand = compile_expr(node.operand)
        return lambda record: _arithmetic("-", 0, operand(record))
    fast = _compare_field_with_constant(node)
    if fast is not None:
        return fast
    left, right = compile_expr(node.left), compile_expr(node.right)
    if node.op in ("and", "or") and _boolean(node.left) and _boolean(node.right):
        # both sides are already True/False: Python's own and/or give the right answer
        if node.op == "and":
            return lambda record: left(record) and right(record)
        return lambda record: left(record) or right(record)
    if node.op == "and":
        return lambda record: _truthy(left(record)) and _truthy(right(record))
    if node.op == "or":
        return lambda record: _truthy(left(record)) or _truthy(right(record))
    apply = _OPERATORS[node.op]
    return lambda record: apply(left(record), right(record))


def _boolean(node: Node) -> bool:
    """True when the node always evaluates to True or False."""
    if isinstance(node, Exists | Not):
        return True
    if isinstance(node, Literal):
        return type(node.value) is bool
    return isinstance(node, Binary) and node.op not in ("+", "-", "*", "/", "%")


def _compare_field_with_constant(node: Node) -> Callable[[dict[str, Any]], Any] | None:
    """``name == "text"`` and ``name > 50``, the most common tests, as one closure each."""
    if not (isinstance(node, Binary) and isinstance(node.left, Field) and isinstance(node.right, Literal)):
        return None
    constant = node.right.value
    path = node.left.path
    get: Callable[[dict[str, Any]], Any]
    if len(path) == 1:
        name = path[0]
        get = lambda record: record.get(name)  # noqa: E731
    else:
        get = lambda record: lookup(record, path)  # noqa: E731
    if node.op in ("==", "!=") and type(constant) is str:
        # a string equals only an equal string: no bool or number rules apply
        if node.op == "==" and len(path) == 1:
            return lambda record: record.get(name) == constant
        if node.op == "==":
            return lambda record: get(record) == constant
        return lambda record: get(record) != constant
    if node.op in (">", ">=", "<", "<=") and _number(constant):
        test: Callable[[Any, Any], bool] = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}[
            node.op
        ]

        def against_number(record: dict[str, Any]) -> bool:
            value = get(record)
            kind = type(value)
            return (kind is int or kind is float) and test(value, constant)

        return against_number
    return None


def _or_none(value: Any) -> Any:
    return None if value is MISSING else value
    # END SOLUTION


def compile_text(text: str) -> Callable[[dict[str, Any]], Any]:
    """Parse and compile in one step (raises ExprError for a bad expression)."""
    return compile_expr(parse(text))
