"""A scripted upstream language server for tests: it answers a few methods, or misbehaves.

Run as `python fake_upstream.py MODE... [--log FILE]`. Modes (combinable):
  hang          answer `initialize`/`shutdown` only; every other request stays unanswered
  mute          answer nothing at all, not even `initialize`
  garbage       on the first `textDocument/hover`, write non-protocol bytes to stdout
  crash         on the first `textDocument/hover`, exit with code 3 without answering
  flood         write 4 MiB to stderr before answering each request
  grandchild    start a `sleep` child in the same process group (its pid goes to the log)
  ask           after `initialized`, send server-to-client requests and log the answers
  slow-exit     ignore `exit` and SIGTERM (only SIGKILL ends it)
  linger        keep running after stdin closes (like a server stuck in a loop)
The log gets one JSON line per message received (and `{"grandchild": pid}`).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any, BinaryIO

HOVER = {"contents": {"kind": "markdown", "value": "```python\ndef fake(x: int) -> str\n```"}}
CAPABILITIES = {
    "hoverProvider": True,
    "definitionProvider": True,
    "textDocumentSync": 1,
}


class Fake:
    def __init__(self, modes: set[str], log_path: str | None) -> None:
        self.modes = modes
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
        self.out: BinaryIO = sys.stdout.buffer
        self.next_id = 1000

    def record(self, entry: Any) -> None:
        if self.log is not None:
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.out.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.out.flush()

    def answer(self, request_id: Any, result: Any) -> None:
        if "flood" in self.modes:
            for _ in range(64):
                sys.stderr.write("x" * 65535 + "\n")
            sys.stderr.flush()
        self.send({"jsonrpc": "2.0", "id": request_id, "result": result})

    def handle(self, message: dict[str, Any]) -> None:
        self.record(message)
        if "mute" in self.modes:
            return
        method, request_id = message.get("method"), message.get("id")
        if method == "initialize":
            self.answer(request_id, {"capabilities": CAPABILITIES, "serverInfo": {"name": "fake"}})
        elif method == "initialized":
            if "grandchild" in self.modes:
                child = subprocess.Popen(["sleep", "300"])
                self.record({"grandchild": child.pid})
            if "ask" in self.modes:
                for ask, params in (
                    ("workspace/configuration", {"items": [{"section": "fake.option"}, {}]}),
                    ("workspace/applyEdit", {"edit": {"changes": {}}}),
                    ("window/workDoneProgress/create", {"token": "t"}),
                    ("custom/unknown", {}),
                ):
                    self.next_id += 1
                    self.send(
                        {"jsonrpc": "2.0", "id": self.next_id, "method": ask, "params": params}
                    )
        elif method == "shutdown":
            self.answer(request_id, None)
        elif method == "exit":
            if "slow-exit" not in self.modes:
                sys.exit(0)
        elif method == "textDocument/didOpen":
            uri = message["params"]["textDocument"]["uri"]
            diagnostic = {
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
                "message": "fake problem",
            }
            published: dict[str, Any] = {"uri": uri, "diagnostics": [diagnostic]}
            if "versioned" in self.modes:  # for the version opened; nothing after changes
                published["version"] = message["params"]["textDocument"]["version"]
            self.send(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/publishDiagnostics",
                    "params": published,
                }
            )
        elif request_id is not None and method is not None:
            self.request(request_id, method, message.get("params"))

    def request(self, request_id: Any, method: str, params: Any) -> None:
        if method == "textDocument/hover":
            if "garbage" in self.modes:
                self.out.write(b"Traceback (most recent call last): oops\n")
                self.out.flush()
                return
            if "crash" in self.modes:
                sys.exit(3)
        if "hang" in self.modes:
            return
        if method == "textDocument/hover":
            self.answer(request_id, HOVER)
        elif method == "textDocument/definition":
            uri = params["textDocument"]["uri"]
            span = {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 8}}
            self.answer(request_id, [{"uri": uri, "range": span}])
        else:
            error = {"code": -32601, "message": f"no {method}"}
            self.send({"jsonrpc": "2.0", "id": request_id, "error": error})


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            return None
        if line == b"\r\n":
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def main() -> None:
    args = sys.argv[1:]
    log_path = args[args.index("--log") + 1] if "--log" in args else None
    fake = Fake(set(args), log_path)
    if "slow-exit" in fake.modes:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while (message := read_message(sys.stdin.buffer)) is not None:
        fake.handle(message)
    if "linger" in fake.modes:
        time.sleep(300)


if __name__ == "__main__":
    main()
