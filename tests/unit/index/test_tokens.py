"""Identifier-aware search tokens."""

from __future__ import annotations

import pytest

from ai_lsp.index.tokens import search_text, split_identifiers


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("parsePayload", "parsepayload parse payload"),
        ("parse_payload", "parsepayload parse payload"),
        ("ParsePayload", "parsepayload parse payload"),
        ("HTTPServerError", "httpservererror http server error"),
        ("XMLHttpRequest", "xmlhttprequest xml http request"),
        ("utf8Decode", "utf8decode utf 8 decode"),
        ("getHTTPResponse2XX", "gethttpresponse2xx get http response 2 xx"),
        ("MAX_RETRY_COUNT", "maxretrycount max retry count"),
        ("__init__", "init"),
        ("IOError", "ioerror io error"),
        ("naïveBayes", "naïvebayes naïve bayes"),
        ("self.client.send(request)", "self client send request"),
        ("x = 404", "x 404"),
        ("", ""),
    ],
)
def test_identifiers_are_split_and_kept_whole(text: str, tokens: str) -> None:
    assert search_text(text) == tokens


def test_code_and_query_in_different_naming_styles_share_tokens() -> None:
    code = set(split_identifiers("def parse_payload(raw_bytes): ..."))
    query = set(split_identifiers("where is parsePayload called with rawBytes"))

    assert {"parsepayload", "rawbytes", "parse", "payload", "raw", "bytes"} <= code & query


def test_punctuation_and_operators_never_become_tokens() -> None:
    tokens = split_identifiers('a->b; c::d <= "e" /* f */ #g @h $i')

    assert tokens == ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
