"""Completion post-processing: what the user sees after the model answers."""

from __future__ import annotations

import pytest

from ai_lsp.prompting.postprocess import (
    clean_completion,
    drop_retyped_start,
    extract_fenced,
    is_repetitive,
    repeats_suffix,
    replacement_end,
    strip_chat_artifacts,
    trim_overlap,
    truncate_to_block,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Here is the completion:\n```python\nreturn a + b\n```\nThis returns the sum.",
            "return a + b",
        ),
        ("```\n    return a + b\n```", "    return a + b"),
        ("~~~js\nconsole.log('ok');\n~~~", "console.log('ok');"),
        ("```python\nreturn 1\n", "return 1\n"),
        (
            "Sure, here is the code:\n\nreturn a + b\n\nThis returns the sum of both.",
            "return a + b",
        ),
        ("    return a + b  # 返回和 🎉\n", "    return a + b  # 返回和 🎉"),
        (
            "this.total = a + b;\nConsole.WriteLine(total);",
            "this.total = a + b;\nConsole.WriteLine(total);",
        ),
        ("\n    return x", "\n    return x"),
    ],
)
def test_strip_chat_artifacts(text: str, expected: str) -> None:
    assert strip_chat_artifacts(text) == expected


def test_extract_fenced_needs_a_fence_of_at_least_the_opening_length() -> None:
    text = "````md\n```sh\nls\n```\n````\nafter"
    assert extract_fenced(text) == "```sh\nls\n```"
    assert extract_fenced("no fence here") is None


@pytest.mark.parametrize(
    ("completion", "prefix", "suffix", "expected"),
    [
        ("result = compute(x, 2)", "def f(x):\n    result = compute(", "\n", "x, 2)"),
        (
            "    def f(self):\n        return 42",
            "class A:\n    def f(self):\n        return ",
            "",
            "42",
        ),
        ("return x\n\nprint(f(1))", "def f(x):\n    ", "\n\nprint(f(1))\n", "return x"),
        ("x > 0 {", "if ", " {\n}\n", "x > 0"),
        ("foo()", "print(", ")\n", "foo()"),
        ("x_total = 1", "    x", "\n", "x_total = 1"),
        ("名前 = 取得(ユーザー)", "def f():\n    名前 = 取得(", ")\n", "ユーザー)"),
        ('print("🎉 done")', 'print("🎉 ', '")\n', 'done")'),
        ("a = 1\n    b = 2\n\n    c = 3", "def f():\n    ", "\n    c = 3\n", "a = 1\n    b = 2"),
        ("a = 1\nc = 3", "def f():\n    ", "\n    c = 3\n", "a = 1\nc = 3"),
    ],
)
def test_trim_overlap(completion: str, prefix: str, suffix: str, expected: str) -> None:
    assert trim_overlap(completion, prefix, suffix) == expected


def test_trim_overlap_keeps_a_completion_that_only_repeats_the_next_line() -> None:
    # Deciding that nothing is left is `repeats_suffix`'s job, not a silent cut.
    assert trim_overlap("\nprint(x)", "x = 1", "\nprint(x)\n") == "\nprint(x)"


@pytest.mark.parametrize(
    ("completion", "prefix", "expected"),
    [
        ("    return x", "def f(x):\n    ", "return x"),
        ("compute(1)", "y = compu", "te(1)"),
        ("return x", "def f(x):\n    ", "return x"),
        ("値を返す()", "    値を", "返す()"),
    ],
)
def test_drop_retyped_start(completion: str, prefix: str, expected: str) -> None:
    assert drop_retyped_start(completion, prefix) == expected


@pytest.mark.parametrize(
    "text",
    [
        "x = 0\nx = 0\nx = 0",
        "    self.items.append(item)\n    self.items.append(item)\n\n    self.items.append(item)",
        "foo(" * 10,
        "[0, " + "0, " * 20,
        "哈" * 40,
        "🚀" * 40,
        "return " + "a.b" * 20,
    ],
)
def test_degenerate_output_is_repetitive(text: str) -> None:
    assert is_repetitive(text)


@pytest.mark.parametrize(
    "text",
    [
        "x = 0\nx = 0",
        "            }\n        }\n    }\n}",
        "#\n#\n#",
        "# " + "=" * 70,
        "// " + "─" * 60,
        "ab" * 5,
        "values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
        'greeting = "你好，世界"  # 👋\nprint(greeting)\nprint(greeting.upper())',
        "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(0, 0) == 0",
    ],
)
def test_ordinary_code_is_not_repetitive(text: str) -> None:
    assert not is_repetitive(text)


@pytest.mark.parametrize(
    ("completion", "suffix", "expected"),
    [
        ("    return x", "\n    return x\n", True),
        (")", ")\n", True),
        ("x)", ")\n", False),
        ("a = 1\nb = 2", "\n\na = 1\n  b = 2\nc = 3\n", True),
        ("a = 1\nb = 3", "\na = 1\nb = 2\n", False),
        ("", "\nanything\n", False),
        ("print('こんにちは 👋')", "\nprint('こんにちは 👋')\n", True),
        ("print('こんにちは')", "\nprint('さようなら')\n", False),
    ],
)
def test_repeats_suffix(completion: str, suffix: str, expected: bool) -> None:
    assert repeats_suffix(completion, suffix) is expected


@pytest.mark.parametrize(
    ("completion", "line_suffix", "expected"),
    [
        ("x)", ")", 1),
        ('hello")', '")', 2),
        ("hello", '")', 0),
        ("foo()", ")", 0),
        ("(x)", ")", 0),
        ("1, 2, 3]", "]", 1),
        ("x) + 1", ")", 1),
        ("x))", ")", 1),
        ("a, b)", ") + 1", 1),
        ("key'])", "'])", 3),
        ("\n    a: 1,\n}", "}", 1),
        ('hi", end="")', '")', 2),
        ("it's\")", '")', 2),
        ('say \\"hi\\""', '")', 1),
        ('"🎉")', ")", 1),
        ('你好")', '")', 2),
        ("x", "", 0),
        ("x)", " )", 0),
    ],
)
def test_replacement_end(completion: str, line_suffix: str, expected: int) -> None:
    assert replacement_end(completion, line_suffix) == expected


def test_single_line_mode_stops_at_the_first_newline() -> None:
    result = truncate_to_block("a + b\nprint(1)", "x = ", multiline=False, indent_unit=None)
    assert result == "a + b"


@pytest.mark.parametrize(
    ("prefix", "completion", "expected"),
    [
        (
            "def f(x):",
            "\n    y = x * 2\n\n    return y\n\nprint(f(2))",
            "\n    y = x * 2\n\n    return y",
        ),
        ("def f(x):\n    if x:\n        ", "return 1\n    return 2", "return 1"),
        ("def f(x):\n    ", "a = 1\n    b = 2\n\nf(1)", "a = 1\n    b = 2"),
        ("function f() {", "\n  return 1;\n}\n\nf();", "\n  return 1;\n}"),
        ("x = {\n    'a': 1,", "\n    'b': 2,\n}\nprint(x)", "\n    'b': 2,\n}"),
        ("items = [", "\n    1,\n    2,\n]\ntotal = sum(items)", "\n    1,\n    2,\n]"),
        ("foo(", "a, b)\nbar()", "a, b)"),
        ('print("hello ', 'world")\nprint("again")', 'world")'),
        ("if (ok) {\n    ", 'run("{");\n    done();\n}', 'run("{");\n    done();\n}'),
        ("def 挨拶():", '\n    return "こんにちは 👋"\n\n挨拶()', '\n    return "こんにちは 👋"'),
        ("x = 1\n", "y = 2\n\n\n", "y = 2"),
    ],
)
def test_multiline_mode_keeps_the_enclosing_block(
    prefix: str, completion: str, expected: str
) -> None:
    assert truncate_to_block(completion, prefix, multiline=True, indent_unit="    ") == expected


def test_indent_unit_sets_the_width_of_a_tab() -> None:
    prefix, completion = "def f():\n\t", "a = 1\n  b = 2\nc = 3"
    assert (
        truncate_to_block(completion, prefix, multiline=True, indent_unit="  ") == "a = 1\n  b = 2"
    )
    assert truncate_to_block(completion, prefix, multiline=True, indent_unit=None) == "a = 1"


def test_tab_indented_block_ends_at_its_closing_brace() -> None:
    prefix = "func f() {\n\tif x {\n\t\t"
    result = truncate_to_block(
        "return 1\n\t}\n\treturn 2", prefix, multiline=True, indent_unit="\t"
    )
    assert result == "return 1\n\t}"


@pytest.mark.parametrize(
    ("completion", "prefix", "suffix", "multiline"),
    [
        ("", "x = ", "\n", False),
        ("   \n\t", "x = ", "\n", True),
        ("x = 0\nx = 0\nx = 0", "", "\n", True),
        ("    return x", "def f(x):\n", "\n    return x\n", False),
        ("\nreturn 1", "def f():", "\n", False),
    ],
)
def test_nothing_worth_showing(completion: str, prefix: str, suffix: str, multiline: bool) -> None:
    assert clean_completion(completion, prefix, suffix, multiline=multiline) is None


def test_clean_completion_for_a_fim_model() -> None:
    prefix = "def total(items):\n    "
    suffix = "\n\n\nprint(total([1, 2]))\n"
    completion = "result = 0\n    for item in items:\n        result += item\n    return result\n\nprint(total([1, 2]))\n<junk"
    assert clean_completion(completion, prefix, suffix, multiline=True, indent_unit="    ") == (
        "result = 0\n    for item in items:\n        result += item\n    return result"
    )


def test_clean_completion_for_a_chat_model() -> None:
    prefix = "def greet(name):\n    "
    suffix = "\n"
    completion = 'Here is the completion:\n```python\n    return f"こんにちは, {name} 👋"\n```'
    result = clean_completion(completion, prefix, suffix, multiline=True, from_chat=True)
    assert result == 'return f"こんにちは, {name} 👋"'


def test_clean_completion_leaves_auto_closed_brackets_to_the_range() -> None:
    prefix, suffix = "print(", ")\n"
    completion = clean_completion("len(items))", prefix, suffix, multiline=False)
    assert completion == "len(items))"
    assert replacement_end(completion, ")") == 1


def test_clean_completion_drops_the_echoed_closing_brace() -> None:
    prefix = "function f() {\n  if (x) {\n    "
    suffix = "\n  }\n}\n"
    completion = "return 1;\n  }\n}"
    assert clean_completion(completion, prefix, suffix, multiline=True) == "return 1;"
