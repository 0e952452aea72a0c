"""expr: a small expression language, parsed into a tree and evaluated without eval."""

from __future__ import annotations

import builtins

import pytest

M2 = pytest.mark.milestone(2, "Add a new stage without rewriting the pipeline (composability)")
pytestmark = M2

RECORD = {
    "type": "purchase",
    "amount": 62.5,
    "qty": 3,
    "flag": True,
    "zero": 0,
    "empty": "",
    "nothing": None,
    "tags": ["mobile", "beta"],
    "user": {"country": "DE", "id": 7, "plan": None},
    "note": 'say "hi", then leave',
    "user-agent": "curl/8",
}

# (expression, expected value for RECORD)
CASES = [
    ('type == "purchase"', True),
    ("type == 'purchase'", True),
    ('type != "purchase"', False),
    ("amount > 50", True),
    ("amount >= 62.5 and amount <= 62.5", True),
    ("qty < 3", False),
    ("qty == 3.0", True),
    ("flag == true", True),
    ("flag == 1", False),
    ("zero == false", False),
    ("nothing == null", True),
    ("missing == null", True),
    ('missing > 1 or missing < 1 or missing == "x"', False),
    ('amount > "50"', False),
    ('type > "p"', True),
    ('user.country == "DE"', True),
    ('user.country in ["DE", "FR"]', True),
    ('user.country not in ["DE", "FR"]', False),
    ('"beta" in tags', True),
    ('"gamma" in tags', False),
    ('"hi" in note', True),
    ('"country" in user', True),
    ("exists user.plan", True),
    ("exists user.nope", False),
    ("exists type.inner", False),
    ("not exists missing", True),
    ("user.nope.deeper == null", True),
    ("not flag", False),
    ("not zero", False),
    ("not empty", False),
    ("not nothing", True),
    ("not missing", True),
    ("zero and empty", True),
    ("nothing or missing", False),
    ("amount * qty", 187.5),
    ("qty + 1", 4),
    ("qty - 5", -2),
    ("-qty", -3),
    ("qty / 2", 1.5),
    ("qty % 2", 1),
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 - 2 - 3", 5),
    ('"ab" + "cd"', "abcd"),
    ("1e3", 1000.0),
    ('"tab\\tand \\"quote\\" \\u00e9"', 'tab\tand "quote" é'),
    ("[1, 2, qty]", [1, 2, 3]),
    ('`user-agent` == "curl/8"', True),
    ("true or 1 / 0 == 1", True),
    ("false and 1 / 0 == 1", False),
    ('not type == "click" and amount > 50 or false', True),
    ('type == "click" or type == "purchase" and qty == 3', True),
    ("not (amount > 50 and qty > 5)", True),
]


def value_of(sf, text, record):
    tree = sf.parse(text)
    return sf.evaluate(tree, record)


@pytest.mark.points(0.1)
@pytest.mark.hint(2)
@pytest.mark.parametrize(("text", "want"), CASES, ids=[c[0] for c in CASES])
def test_evaluates_like_the_spec(sf, text, want):
    """parse + evaluate follow the documented semantics (precedence, null, bool vs number, in, exists)"""
    got = value_of(sf, text, RECORD)
    assert got == want and type(got) is type(want), (
        f"{text}  should evaluate to {want!r} ({type(want).__name__}) for the record {RECORD}, "
        f"got {got!r} ({type(got).__name__})"
    )


@pytest.mark.hint(2)
def test_compiled_expression_agrees_with_evaluate(sf):
    """compile_expr(tree)(record) gives the same value as evaluate(tree, record)"""
    records = [RECORD, {}, {"type": "click", "amount": None, "qty": "3", "user": "DE", "tags": "beta"}]
    for text, _ in CASES:
        tree = sf.parse(text)
        run = sf.compile_expr(tree)
        for record in records:
            try:
                want = sf.evaluate(tree, record)
            except sf.EvalError:
                continue
            got = run(record)
            assert got == want and type(got) is type(want), (
                f"{text}  on {record}: evaluate gives {want!r}, the compiled function {got!r}"
            )


@pytest.mark.points(0.2)
@pytest.mark.hint(2)
@pytest.mark.parametrize("text", ['"a" * 2', "amount + type", "qty / zero", "tags - 1", "-type"], ids=lambda t: t)
def test_evaluation_errors_are_eval_errors(sf, text):
    """arithmetic on the wrong types or division by zero raises EvalError (the record gets rejected)"""
    tree = sf.parse(text)
    with pytest.raises(sf.EvalError):
        sf.evaluate(tree, RECORD)


SYNTAX = [
    ("type ==", 7, "ends too early"),
    ('type = "x"', 5, ""),
    ("amount > > 3", 9, ""),
    ('type == "unclosed', 8, ""),
    ("(amount > 3", 11, ""),
    ("amount 3", 7, ""),
    ("user.", 5, ""),
    ("a and or b", 6, ""),
    ("1abc == 2", 0, ""),
    ("amount > 3 ;", 11, ""),
    ("", 0, ""),
]


@pytest.mark.points(0.2)
@pytest.mark.hint(2)
@pytest.mark.parametrize(("text", "position", "words"), SYNTAX, ids=[s[0] or "(empty)" for s in SYNTAX])
def test_syntax_errors_point_at_the_bad_token(sf, text, position, words):
    """a syntax error is an ExprError whose position (and caret) is under the offending token"""
    with pytest.raises(sf.ExprError) as found:
        sf.parse(text)
    error = found.value
    assert error.position == position, (
        f"parse({text!r}) should fail at offset {position} (under {text[position : position + 3]!r}), "
        f"got offset {error.position}: {error.message}"
    )
    shown = str(error).splitlines()
    assert len(shown) >= 3 and shown[-2].endswith(text), f"str(ExprError) should show the expression; got:\n{error}"
    assert shown[-1].index("^") == len(shown[-2]) - len(text) + position, (
        f"str(ExprError) should put the caret under offset {position}; got:\n{error}"
    )
    assert words in error.message, f"the message for {text!r} should say {words!r}; got {error.message!r}"


ATTACKS = [
    ('__import__("os").system("touch PWNED")', 0, "__"),
    ('type.__class__ == "x"', 5, "__"),
    ('"".__class__.__mro__', 3, "__"),
    ('"abc".upper', 5, "attribute"),
    ("(amount).real > 1", 8, "attribute"),
    ('type.upper() == "X"', 10, "call"),
    ("len(tags) > 1", 3, "call"),
    ("open('/etc/passwd')", 4, "call"),
    ("tags[0] == 1", 4, "index"),
    ("import os", 0, "not part of"),
    ("lambda: 1", 0, "not part of"),
    ("[x for x in tags]", 3, "not part of"),
    ("amount if flag else 0", 7, "not part of"),
]


@pytest.mark.points(0.25)
@pytest.mark.hint(2)
@pytest.mark.parametrize(("text", "position", "words"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attribute_access_calls_and_imports_are_syntax_errors(sf, text, position, words):
    """attribute access, calls, indexing, dunder names and Python keywords are rejected as syntax errors"""
    with pytest.raises(sf.ExprError) as found:
        sf.parse(text)
    error = found.value
    assert error.position == position, (
        f"parse({text!r}) should be rejected at offset {position} ({text[position:][:12]!r}), "
        f"got offset {error.position}: {error.message}"
    )
    assert words in error.message.lower(), f"the message for {text!r} should mention {words!r}; got {error.message!r}"


@pytest.mark.points(2)
@pytest.mark.hint(2)
def test_never_uses_eval_exec_or_compile(sf, monkeypatch):
    """parsing, evaluating and compiling expressions never call eval, exec or compile"""
    calls = []

    def spy(name, real):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return wrapper

    sf.parse('type == "x"')  # make sure the module is importable before spying
    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, spy(name, getattr(builtins, name)))
    try:
        for text, _ in CASES:
            tree = sf.parse(text)
            sf.evaluate(tree, RECORD)
            sf.compile_expr(tree)(RECORD)
    finally:
        monkeypatch.undo()
    assert not calls, (
        f"evaluating expressions called {sorted(set(calls))}: an expression must become a tree that is walked "
        "by your own code, never Python source handed to eval/exec/compile"
    )
