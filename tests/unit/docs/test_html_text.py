"""HTML pages become clean markdown-like text with their title and links."""

from __future__ import annotations

from ai_lsp.index.html_text import html_to_text

PAGE = """<!doctype html>
<html><head><title>Install &mdash; Widget 2.0</title>
<style>body { color: red }</style><script>window.secret = "tracking";</script></head>
<body>
<header><a href="/">Widget home</a> site banner</header>
<nav><a href="guide.html#top">Guide</a> <a href="https://other.example/x">Elsewhere</a></nav>
<div class="sidebar">Sidebar blurb</div>
<main>
  <h1>Install<a class="headerlink" href="#install">¶</a></h1>
  <p>Run the <b>installer</b>, then call <code>widget.setup()</code>.</p>
  <div class="highlight-python notranslate"><div class="highlight"><pre><span class="k">def</span> f(x):
    <span class="k">if</span> x &lt; 2:

        return x
</pre></div></div>
  <h2>Options</h2>
  <ul><li>fast</li><li>safe<ul><li>very safe</li></ul></li></ul>
  <ol><li><p>first</p></li><li>second</li></ol>
  <table><tr><th>Name</th><th>Default</th></tr><tr><td>level</td><td>a|b</td></tr></table>
  <svg><title>an icon</title></svg>
  <p># not a heading</p>
  <a href="api/">API reference</a> <a href="mailto:help@example.com">mail</a>
</main>
<footer>Copyright Widget Inc.</footer>
<script>trackEverything();</script>
</body></html>"""


def test_page_chrome_and_scripts_are_dropped() -> None:
    text = html_to_text(PAGE, "https://docs.example/widget/install.html").text

    for gone in ("secret", "tracking", "color: red", "site banner", "Sidebar", "Copyright", "¶"):
        assert gone not in text
    assert "Run the installer, then call `widget.setup()`." in text


def test_code_blocks_keep_their_layout_and_language() -> None:
    text = html_to_text(PAGE, "https://docs.example/widget/install.html").text

    assert "```python\ndef f(x):\n    if x < 2:\n\n        return x\n```" in text


def test_structure_becomes_markdown() -> None:
    text = html_to_text(PAGE, "https://docs.example/widget/install.html").text

    assert text.startswith("# Install\n\nRun the installer")
    assert "\n\n## Options\n\n- fast\n- safe\n  - very safe\n\n1. first\n2. second\n\n" in text
    assert "| Name | Default |\n| --- | --- |\n| level | a\\|b |" in text
    assert "\\# not a heading" in text
    assert "an icon" not in text


def test_title_and_links() -> None:
    page = html_to_text(PAGE, "https://docs.example/widget/install.html")

    assert page.title == "Install — Widget 2.0"
    assert page.links == [
        "https://docs.example/",
        "https://docs.example/widget/guide.html",
        "https://other.example/x",
        "https://docs.example/widget/install.html",
        "https://docs.example/widget/api/",
    ]


def test_without_main_the_body_is_kept_and_the_first_h1_is_the_title() -> None:
    page = html_to_text(
        '<base href="https://x.example/v2/"><div><h1>Guide</h1><p>Body <a href="p">text</a>'
        "</p></div><footer>foot</footer>",
        "https://x.example/other/",
    )

    assert page.title == "Guide"
    assert page.text == "# Guide\n\nBody text"
    assert page.links == ["https://x.example/v2/p"]


def test_unclosed_tags_do_not_swallow_the_rest_of_the_page() -> None:
    page = html_to_text("<p>one<p>two<ul><li>a<li>b</ul><p>three <b>bold", "https://x.example/")

    assert page.text == "one\n\ntwo\n\n- a\n- b\n\nthree bold"


def test_code_fence_is_longer_than_backticks_inside_the_code() -> None:
    text = html_to_text("<pre><code class='language-md'>```py\nx\n```</code></pre>", "https://x/")

    assert text.text == "````md\n```py\nx\n```\n````"
