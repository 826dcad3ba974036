"""Edit formats and the apply step: what ends up in the user's file after a model answers."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ai_lsp.prompting.edits import (
    ApplyResult,
    Failure,
    SearchReplace,
    TextChange,
    apply_search_replace,
    extract_code,
    line_changes,
    merge_draft,
    parse_search_replace,
)


def merged(text: str, draft: str, region: tuple[int, int] | None = None) -> str:
    result = merge_draft(text, draft, region)
    assert result.text is not None, result.reason
    assert result.reason is None
    return result.text


def unmerged(text: str, draft: str, region: tuple[int, int] | None = None) -> str:
    result = merge_draft(text, draft, region)
    assert result.text is None, result.text
    assert result.reason is not None
    return result.reason


def applied(old: str, changes: list[TextChange]) -> str:
    for change in reversed(changes):
        old = old[: change.start] + change.text + old[change.end :]
    return old


# --- extract_code -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "Here is the fixed function:\n\n```python\ndef add(a, b):\n    return a + b\n```\n"
            "It now returns the sum.",
            "def add(a, b):\n    return a + b\n",
        ),
        ("~~~ts title=api.ts\nexport const x = 1;\n~~~", "export const x = 1;\n"),
        ("```go\nfunc main() {\n\tfmt.Println(1)\n", "func main() {\n\tfmt.Println(1)\n"),
        ("```sh\npip install x\n```\nthen\n```py\nimport x\n```", "pip install x\n"),
        ("```\r\nfn main() {}\r\n```\r\n", "fn main() {}\n"),
        ("```python\n\n\n    return x   \n\n\n```", "    return x\n"),
        ("def f():\n    return 1\n```\n", "def f():\n    return 1\n"),
    ],
    ids=[
        "prose-around",
        "tilde",
        "unterminated",
        "first-block",
        "crlf",
        "blank-edges",
        "closing-only",
    ],
)
def test_extract_code_from_fenced_answers(answer: str, expected: str) -> None:
    assert extract_code(answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("return a + b", "return a + b\n"),
        ("for item in items:\n    total += item\n\n\n", "for item in items:\n    total += item\n"),
        ("from typing import Any", "from typing import Any\n"),
        ("Here is the updated code:\ndef f():\n    pass", "def f():\n    pass\n"),
        (
            "Sure! Here's the change.\n\nx = compute()\nprint(x)\n\nThis prints the value, as "
            "you asked.\nIt also keeps the old name.",
            "x = compute()\nprint(x)\n",
        ),
    ],
    ids=["expression", "block", "import-looks-like-words", "glued-lead-in", "prose-paragraphs"],
)
def test_extract_code_without_fence_keeps_the_code(answer: str, expected: str) -> None:
    assert extract_code(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [
        "The code is already correct; no changes are needed.",
        "I could not apply the change because the\nfunction you mentioned does not exist in\n"
        "this file.",
        "Sorry, I can't help with that!",
        "",
        "```python\n```",
    ],
)
def test_extract_code_finds_no_code_in_prose(answer: str) -> None:
    assert extract_code(answer) is None


# --- search/replace blocks ---------------------------------------------------------------


AIDER_ANSWER = """I'll rename the helper and use it.

app/util.py
```python
<<<<<<< SEARCH
def helper(x):
    return x * 2
=======
def double(x):
    return x * 2
>>>>>>> REPLACE
```

app/util.py
```python
<<<<<<<<< SEARCH
print(helper(3))
=========
print(double(3))
>>>>>>>>> REPLACE
```
"""


def test_parse_search_replace_reads_fenced_blocks_with_file_names() -> None:
    assert parse_search_replace(AIDER_ANSWER) == [
        SearchReplace("def helper(x):\n    return x * 2\n", "def double(x):\n    return x * 2\n"),
        SearchReplace("print(helper(3))\n", "print(double(3))\n"),
    ]


def test_parse_search_replace_reads_crlf_answers_and_empty_sections() -> None:
    answer = "<<<<<<< SEARCH\r\n=======\r\nimport os\r\n>>>>>>> REPLACE\r\n"
    assert parse_search_replace(answer) == [SearchReplace("", "import os\n")]


@pytest.mark.parametrize(
    "answer",
    [
        "<<<<<<< SEARCH\nold\n=======\nnew\n",  # cut off before its end marker
        "<<<< SEARCH\nold\n====\nnew\n>>>> REPLACE\n",  # four marker characters
        "<<<<<<< SEARCH\nold\n>>>>>>> REPLACE\n",  # no divider
    ],
)
def test_parse_search_replace_drops_incomplete_blocks(answer: str) -> None:
    assert parse_search_replace(answer) == []


CONFIG_PY = """import os


def load(path):
    with open(path) as handle:
        return handle.read()


def save(path, text):
    with open(path, "w") as handle:
        handle.write(text)
"""


def test_apply_exact_block() -> None:
    result = apply_search_replace(
        CONFIG_PY,
        [SearchReplace("        return handle.read()\n", "        return handle.read().strip()\n")],
    )
    assert result == ApplyResult(
        CONFIG_PY.replace("handle.read()", "handle.read().strip()"), applied=1, failed=[]
    )


def test_apply_prefers_the_only_occurrence_on_whole_lines() -> None:
    text = "total = 0\nsubtotal = 0\n"
    result = apply_search_replace(text, [SearchReplace("total = 0\n", "total = 1\n")])
    assert result.text == "total = 1\nsubtotal = 0\n"


def test_apply_ignores_trailing_whitespace_before_indentation() -> None:
    # Ignoring indentation as well would also find the copy inside `main`.
    text = "x = load()  \ny = x * 2\n\n\ndef main():\n    x = load()\n    y = x * 2\n"
    result = apply_search_replace(text, [SearchReplace("x = load()\ny = x * 2\n", "y = 4\n")])
    assert result == ApplyResult(text.replace("x = load()  \ny = x * 2\n", "y = 4\n"), 1, [])


def test_apply_reindents_a_block_quoted_without_its_class_indentation() -> None:
    text = "class Store:\n    def get(self, key):\n        return self.data[key]\n"
    block = SearchReplace(
        "def get(self, key):\n    return self.data[key]\n",
        "def get(self, key, default=None):\n    return self.data.get(key, default)\n",
    )
    result = apply_search_replace(text, [block])
    assert result.text == (
        "class Store:\n"
        "    def get(self, key, default=None):\n"
        "        return self.data.get(key, default)\n"
    )


def test_apply_fuzzy_block_with_a_typo() -> None:
    # The model misspelled "handle" once; the other strategies cannot find the lines.
    block = SearchReplace(
        'def save(path, text):\n    with open(path, "w") as handel:\n        handle.write(text)\n',
        'def save(path, text):\n    with open(path, "w") as handle:\n        handle.write(text + "\\n")\n',
    )
    result = apply_search_replace(CONFIG_PY, [block])
    assert result.failed == []
    assert result.text.endswith('        handle.write(text + "\\n")\n')
    assert "def load(path):\n    with open(path) as handle:\n" in result.text


@pytest.mark.parametrize(
    ("text", "search", "reason"),
    [
        (CONFIG_PY, "def missing():\n", "the searched text was not found"),
        ("x = 1\ny = 2\nx = 1\n", "x = 1\n", "the searched text occurs 2 times"),
        (
            "if a:\n    x = 1\n    y = 2\nif b:\n        x = 1\n        y = 2\n",
            "x = 1\ny = 2\n",  # found only by ignoring indentation, then twice
            "the searched text occurs 2 times",
        ),
        (
            "def area(w, h):\n    return w * h\n\ndef area2(w, h):\n    return w * h\n",
            "def area3(w, h):\n    return w * h\n",  # as close to both functions
            "the searched text matches 2 places about equally well",
        ),
        (CONFIG_PY, "", "the search text is empty but the file is not"),
    ],
    ids=["not-found", "exact-twice", "indentation-twice", "fuzzy-tie", "empty-search"],
)
def test_apply_failures_say_why_and_leave_the_text(text: str, search: str, reason: str) -> None:
    result = apply_search_replace(text, [SearchReplace(search, "changed()\n")])
    assert result == ApplyResult(text, applied=0, failed=[Failure(0, reason)])


def test_apply_blocks_in_sequence_and_reports_failures_by_index() -> None:
    blocks = [
        SearchReplace("import os\n", "import os\nimport sys\n"),
        SearchReplace("def nowhere():\n", "def somewhere():\n"),
        SearchReplace("import os\nimport sys\n", "import sys\n"),  # sees the first block's result
    ]
    result = apply_search_replace(CONFIG_PY, blocks)
    assert result.applied == 2
    assert result.failed == [Failure(1, "the searched text was not found")]
    assert result.text == CONFIG_PY.replace("import os\n", "import sys\n")


def test_apply_empty_search_on_an_empty_file_inserts() -> None:
    result = apply_search_replace("", [SearchReplace("", "print('hi')\n")])
    assert result == ApplyResult("print('hi')\n", applied=1, failed=[])


def test_apply_keeps_crlf_files_crlf() -> None:
    text = CONFIG_PY.replace("\n", "\r\n").replace("def load(path):", "def load(path):  ")
    blocks = [
        SearchReplace("import os\n", "import os\nimport json\n"),  # exact once converted
        SearchReplace("def load(path):\n", "def load(path, mode='r'):\n"),  # trailing spaces
    ]
    result = apply_search_replace(text, blocks)
    assert result.failed == []
    assert result.text == CONFIG_PY.replace("import os\n", "import os\nimport json\n").replace(
        "def load(path):", "def load(path, mode='r'):"
    ).replace("\n", "\r\n")


@given(
    text=st.text(alphabet="ab \t\n(){}=x", max_size=60),
    bounds=st.tuples(st.integers(0, 60), st.integers(0, 60)),
    replacement=st.text(alphabet="ab \n;y", max_size=20),
)
def test_apply_replaces_a_unique_slice_exactly(
    text: str, bounds: tuple[int, int], replacement: str
) -> None:
    start, end = sorted(bound % (len(text) + 1) for bound in bounds)
    search = text[start:end]
    assume(text.find(search) == text.rfind(search) == start)
    result = apply_search_replace(text, [SearchReplace(search, replacement)])
    assert result == ApplyResult(text[:start] + replacement + text[end:], applied=1, failed=[])


# --- merge_draft: Python -------------------------------------------------------------------

CART_PY = """import os


class Cart:
    def __init__(self):
        self.items = []

    def total(self):
        return sum(i.price for i in self.items)

    def clear(self):
        self.items = []
"""


def test_draft_of_a_method_without_its_class_indentation() -> None:
    draft = "def total(self):\n    return sum(i.price * i.qty for i in self.items)\n"
    assert merged(CART_PY, draft) == CART_PY.replace(
        "sum(i.price for i in self.items)", "sum(i.price * i.qty for i in self.items)"
    )


def test_draft_with_elisions_at_start_middle_and_end() -> None:
    draft = """class Cart:
    # ... existing code ...
    def total(self):
        subtotal = sum(i.price * i.qty for i in self.items)
        return round(subtotal, 2)
    # ... existing code ...
"""
    assert merged(CART_PY, draft) == CART_PY.replace(
        "        return sum(i.price for i in self.items)\n",
        "        subtotal = sum(i.price * i.qty for i in self.items)\n"
        "        return round(subtotal, 2)\n",
    )


def test_draft_adding_an_import_and_rewriting_the_last_method() -> None:
    draft = """import os
import json

# ... existing code ...

    def clear(self):
        self.items.clear()

    def to_json(self):
        return json.dumps([i.__dict__ for i in self.items])
"""
    assert merged(CART_PY, draft) == (
        CART_PY.replace("import os\n", "import os\nimport json\n").replace(
            "    def clear(self):\n        self.items = []\n",
            "    def clear(self):\n        self.items.clear()\n\n"
            "    def to_json(self):\n        return json.dumps([i.__dict__ for i in self.items])\n",
        )
    )


def test_draft_appending_a_function_after_a_leading_elision() -> None:
    draft = "# ... existing code ...\n\n\ndef checkout(cart):\n    return cart.total()\n"
    assert merged(CART_PY, draft) == CART_PY + "\n\ndef checkout(cart):\n    return cart.total()\n"


ORDERS_PY = """class Order:
    def save(self):
        db.write(self)


class Invoice:
    def save(self):
        db.write(self)
"""


def test_duplicate_looking_methods_are_anchored_in_order() -> None:
    draft = """class Invoice:
    # ... existing methods ...
    def save(self):
        db.write(self, audit=True)
"""
    assert merged(ORDERS_PY, draft) == ORDERS_PY[: ORDERS_PY.rindex("db.write")] + (
        "db.write(self, audit=True)\n"
    )


def test_duplicate_looking_methods_without_context_are_refused() -> None:
    draft = "# ... existing code ...\n    def save(self):\n        db.write(self, audit=True)\n# ... existing code ...\n"
    reason = unmerged(ORDERS_PY, draft)
    assert "'def save(self):'" in reason
    assert "2 places" in reason


def test_edited_edge_lines_replace_their_old_version() -> None:
    text = (
        CART_PY
        + """

def connect(host):
    timeout = 10
    sock = socket.create_connection((host, 80), timeout)
    return sock
"""
    )
    draft = """# ... existing code ...
def connect(host, port=80):
    timeout = 30
    retries = 3
    # ... existing code ...
"""
    assert merged(text, draft) == text.replace(
        "def connect(host):\n    timeout = 10\n",
        "def connect(host, port=80):\n    timeout = 30\n    retries = 3\n",
    )


def test_new_line_like_the_next_one_is_inserted_not_swapped() -> None:
    text = "class Point:\n    def __init__(self, name, c):\n        self.name = name\n        self.c = c\n"
    draft = """    def __init__(self, name, b, c):
        self.name = name
        self.b = b
        # ... existing code ...
"""
    assert merged(text, draft) == (
        "class Point:\n"
        "    def __init__(self, name, b, c):\n"
        "        self.name = name\n"
        "        self.b = b\n"
        "        self.c = c\n"
    )


def test_last_line_found_far_away_does_not_swallow_the_code_between() -> None:
    helpers = "".join(f"\n\ndef helper_{n}():\n    return {n}\n" for n in range(12))
    text = f"def load(path):\n    data = read(path)\n    return parse(data)\n{helpers}"
    text += "\n\ndef reset():\n    cache.clear()\n"
    draft = (
        "def load(path):\n    data = read(path)\n    cache.clear()\n    # ... existing code ...\n"
    )
    assert merged(text, draft) == text.replace(
        "    data = read(path)\n", "    data = read(path)\n    cache.clear()\n"
    )


def test_class_quoted_with_one_method_keeps_the_others_despite_a_column_0_elision() -> None:
    draft = """class Cart:
    def __init__(self):
        self.items = list()

# ... rest of the file unchanged ...
"""
    assert merged(CART_PY, draft) == CART_PY.replace("self.items = []", "self.items = list()", 1)


def test_python_ellipsis_bodies_are_code_not_elisions() -> None:
    text = "from typing import Protocol\n\n\nclass Store(Protocol):\n    def get(self, key: str) -> bytes: ...\n"
    draft = """class Store(Protocol):
    def get(self, key: str) -> bytes: ...

    def put(self, key: str, value: bytes) -> None:
        ...
"""
    assert merged(text, draft) == "from typing import Protocol\n\n\n" + draft


@pytest.mark.parametrize(
    "marker",
    [
        "# ... existing code ...",
        "# ...",
        "# … rest of the class unchanged …",
        "#  existing methods ...",
        "# ... other helpers of Cart stay as they are ...",
        "# [... existing code ...]",
    ],
)
def test_python_elision_markers(marker: str) -> None:
    draft = f"{marker}\n    def total(self):\n        return 0\n{marker}\n"
    assert merged(CART_PY, draft) == CART_PY.replace("sum(i.price for i in self.items)", "0")


@pytest.mark.parametrize("comment", ["# ... and then retry", "# TODO: handle errors...", "x = ..."])
def test_comments_with_dots_that_are_not_elisions_stay_code(comment: str) -> None:
    draft = f"    def total(self):\n        {comment}\n        return 0\n"
    assert merged(CART_PY, draft) == CART_PY.replace(
        "        return sum(i.price for i in self.items)\n",
        f"        {comment}\n        return 0\n",
    )


def test_draft_that_cannot_be_anchored_explains_why() -> None:
    draft = "# ... existing code ...\ndef brand_new():\n    return 42\n# ... existing code ...\n"
    reason = unmerged(CART_PY, draft)
    assert "'def brand_new():'" in reason
    assert "unchanged line" in reason


def test_new_code_without_elisions_or_region_is_refused() -> None:
    reason = unmerged(CART_PY, "def discount(cart):\n    return cart.total() * 0.9\n")
    assert "'def discount(cart):'" in reason
    assert "select the code" in reason


def test_draft_of_the_whole_file_replaces_it() -> None:
    draft = CART_PY.replace("import os\n", "import os\nimport sys\n").replace("[]", "list()")
    assert merged(CART_PY, draft) == draft


@pytest.mark.parametrize("draft", ["", "\n\n", "# ... existing code ...\n\n// ...\n"])
def test_empty_drafts_are_refused(draft: str) -> None:
    assert "no code" in unmerged(CART_PY, draft)


def test_region_without_elisions_is_replaced_and_reindented() -> None:
    start = CART_PY.index("        return sum")
    end = CART_PY.index("\n", start) + 1
    draft = "prices = [i.price for i in self.items]\nreturn sum(prices)\n"
    assert merged(CART_PY, draft, (start, end)) == CART_PY.replace(
        "        return sum(i.price for i in self.items)\n",
        "        prices = [i.price for i in self.items]\n        return sum(prices)\n",
    )


def test_region_limits_where_elided_drafts_anchor() -> None:
    start = ORDERS_PY.index("class Invoice")
    draft = "# ... existing code ...\n    def save(self):\n        db.write(self, audit=True)\n# ... existing code ...\n"
    result = merged(ORDERS_PY, draft, (start, len(ORDERS_PY)))
    assert result == ORDERS_PY[: ORDERS_PY.rindex("db.write")] + "db.write(self, audit=True)\n"


def test_empty_region_counts_as_none() -> None:
    draft = "def total(self):\n    return 0\n"
    at = CART_PY.index("self.items = []")
    assert merged(CART_PY, draft, (at, at)) == CART_PY.replace(
        "sum(i.price for i in self.items)", "0"
    )


def test_region_outside_the_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside the text"):
        merge_draft("x = 1\n", "x = 2\n", (0, 99))


def test_file_without_final_newline_keeps_it_that_way() -> None:
    text = "def f():\n    return 1"
    assert merged(text, "def f():\n    return 2\n") == "def f():\n    return 2"


# --- merge_draft: TypeScript ----------------------------------------------------------------

API_TS = """export class Api {
  constructor(private base: string) {}

  async get(path: string): Promise<Response> {
    return fetch(this.base + path);
  }

  async post(path: string, body: unknown): Promise<Response> {
    return fetch(this.base + path, { method: "POST", body: JSON.stringify(body) });
  }
}
"""


def test_typescript_method_quoted_dedented_between_elisions() -> None:
    draft = """// ... existing code ...
async get(path: string): Promise<Response> {
  const res = await fetch(this.base + path);
  if (!res.ok) throw new Error(res.statusText);
  return res;
}
// ... existing code ...
"""
    assert merged(API_TS, draft) == API_TS.replace(
        "    return fetch(this.base + path);\n",
        "    const res = await fetch(this.base + path);\n"
        "    if (!res.ok) throw new Error(res.statusText);\n"
        "    return res;\n",
    )


def test_typescript_method_added_before_the_closing_brace() -> None:
    draft = """// ... existing code ...

  async delete(path: string): Promise<Response> {
    return fetch(this.base + path, { method: "DELETE" });
  }
}
"""
    assert merged(API_TS, draft) == API_TS.removesuffix("}\n") + (
        "\n"
        "  async delete(path: string): Promise<Response> {\n"
        '    return fetch(this.base + path, { method: "DELETE" });\n'
        "  }\n"
        "}\n"
    )


def test_typescript_two_functions_changed_with_an_elision_between() -> None:
    text = """import { lex, Token } from "./lex";

export function parse(input: string): Token[] {
  return lex(input);
}

export function count(tokens: Token[]): number {
  return tokens.length;
}

export function format(tokens: Token[]): string {
  return tokens.join("");
}
"""
    draft = """export function parse(input: string): Token[] {
  const tokens = lex(input.trim());
  return tokens;
}

/* ... */

export function format(tokens: Token[]): string {
  return tokens.map(String).join(" ");
}
"""
    assert merged(text, draft) == text.replace(
        "  return lex(input);\n", "  const tokens = lex(input.trim());\n  return tokens;\n"
    ).replace('  return tokens.join("");\n', '  return tokens.map(String).join(" ");\n')


# --- merge_draft: Rust and Go ------------------------------------------------------------------

CACHE_RS = """use std::collections::HashMap;

pub struct Cache {
    map: HashMap<String, String>,
}

impl Cache {
    pub fn new() -> Self {
        Self { map: HashMap::new() }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.map.get(key)
    }
}
"""


def test_rust_draft_with_elisions_at_several_depths() -> None:
    draft = """use std::collections::HashMap;
use std::time::Instant;

// ... existing code ...

impl Cache {
    // ... existing code ...

    pub fn get(&self, key: &str) -> Option<&String> {
        let started = Instant::now();
        let value = self.map.get(key);
        log::debug!("lookup took {:?}", started.elapsed());
        value
    }
}
"""
    assert merged(CACHE_RS, draft) == CACHE_RS.replace(
        "use std::collections::HashMap;\n",
        "use std::collections::HashMap;\nuse std::time::Instant;\n",
    ).replace(
        "        self.map.get(key)\n",
        "        let started = Instant::now();\n"
        "        let value = self.map.get(key);\n"
        '        log::debug!("lookup took {:?}", started.elapsed());\n'
        "        value\n",
    )


SERVER_GO = """package server

func (s *Server) Start() error {
\tl, err := net.Listen("tcp", s.addr)
\tif err != nil {
\t\treturn nil
\t}
\ts.listener = l
\treturn nil
}

func (s *Server) Stop() error {
\treturn s.listener.Close()
}
"""


def test_go_draft_inserting_before_the_last_lines_of_a_function() -> None:
    # "return nil" also ends the inner if; the indentation tells which one the draft means.
    draft = """func (s *Server) Start() error {
\t// ... existing code ...
\ts.running = true
\treturn nil
}
// ... existing code ...
"""
    assert merged(SERVER_GO, draft) == SERVER_GO.replace(
        "\ts.listener = l\n", "\ts.listener = l\n\ts.running = true\n"
    )


def test_go_draft_in_spaces_is_written_with_the_files_tabs() -> None:
    draft = """// ... existing code ...
func (s *Server) Stop() error {
    if s.listener == nil {
        return nil
    }
    return s.listener.Close()
}
"""
    assert merged(SERVER_GO, draft) == SERVER_GO.replace(
        "\treturn s.listener.Close()\n",
        "\tif s.listener == nil {\n\t\treturn nil\n\t}\n\treturn s.listener.Close()\n",
    )


@given(
    source=st.sampled_from(
        [
            (CART_PY + ORDERS_PY + CONFIG_PY, "#"),
            (API_TS, "//"),
            (CACHE_RS, "//"),
            (SERVER_GO, "//"),
        ]
    ),
    cuts=st.lists(st.integers(0, 200), max_size=8),
)
def test_quoting_unchanged_code_around_elisions_never_changes_the_file(
    source: tuple[str, str], cuts: list[int]
) -> None:
    text, comment = source
    lines = text.splitlines()
    bounds = [0, *sorted({cut % (len(lines) + 1) for cut in cuts}), len(lines)]
    draft = []
    for number, (start, stop) in enumerate(pairwise(bounds)):
        if number % 2 == 0:
            draft += lines[start:stop]
        else:  # an elision indented like the code it stands for, as models write them
            following = next((line for line in lines[start:] if line.strip()), "")
            indent = following[: len(following) - len(following.lstrip())]
            draft.append(f"{indent}{comment} ... existing code ...")
    result = merge_draft(text, "\n".join(draft) + "\n")
    assert result.text in {text, None}  # refusing (e.g. a lone "}" fits many places) is safe


# --- line endings and line_changes ----------------------------------------------------------


def test_crlf_file_stays_crlf_and_only_changed_lines_change() -> None:
    text = CART_PY.replace("\n", "\r\n")
    draft = "# ... existing code ...\n    def clear(self):\n        self.items.clear()\n"
    start = text.rindex("        self.items = []")
    result = merged(text, draft)
    assert result == text[:start] + "        self.items.clear()\r\n"
    assert line_changes(text, result) == [
        TextChange(start, len(text), "        self.items.clear()\r\n")
    ]


def test_mixed_line_endings_of_untouched_lines_are_kept() -> None:
    text = "a = 1\r\nb = 2\nc = 3\r\nd = 4\r\n"
    draft = "# ... existing code ...\nc = 30\n# ... existing code ...\n"
    assert merged(text, draft) == "a = 1\r\nb = 2\nc = 30\r\nd = 4\r\n"


def test_line_changes_touch_only_changed_lines() -> None:
    old = "a\nb\nc\nd\n"
    new = "a\nB\nc\nd\ne"
    assert line_changes(old, new) == [TextChange(2, 4, "B\n"), TextChange(8, 8, "e")]
    assert line_changes(old, old) == []


@given(
    old=st.text(alphabet="ab\n\r é😀", max_size=40),
    new=st.text(alphabet="ab\n\r é😀", max_size=40),
)
def test_line_changes_round_trip(old: str, new: str) -> None:
    changes = line_changes(old, new)
    assert applied(old, changes) == new
    assert all(a.end <= b.start for a, b in pairwise(changes))
    assert all(change.start <= change.end for change in changes)
