"""Python, Ruby, Lua and Bash samples and the chunks each must give."""

from __future__ import annotations

from textwrap import dedent

from tests.unit.index.samples.base import Expected, Sample

PYTHON = dedent('''\
    """Invoice helpers."""

    import json
    from decimal import Decimal

    TAX = Decimal("0.2")


    class Invoice:
        """An invoice with lines."""

        currency = "EUR"

        def __init__(self, lines: list[dict]) -> None:
            self.lines = lines
            self.paid = False
            self.notes = []
            self.total = Decimal(0)

        @property
        def count(self) -> int:
            return len(self.lines)

        def compute_total(self, discount: Decimal = Decimal(0)) -> Decimal:
            total = Decimal(0)
            for line in self.lines:
                total += Decimal(line["price"]) * line["qty"]
            total -= discount
            return total * (1 + TAX)


    def load(path: str) -> Invoice:
        with open(path) as handle:
            data = json.load(handle)
        lines = data["lines"]
        return Invoice(lines)
    ''')
PYTHON_CHUNKS: Expected = [
    ("module", "", 1, 6),
    ("class", "Invoice", 9, 29),
    ("method", "Invoice.__init__", 14, 18),
    ("method", "Invoice.compute_total", 24, 29),
    ("function", "load", 32, 36),
]

RUBY = dedent("""\
    require "json"

    module Shop
      class Order
        attr_reader :items

        def initialize(items)
          @items = items
          @paid = false
          @notes = []
        end

        def total
          items.sum { |item| item[:price] }
        end

        def self.from_json(text)
          data = JSON.parse(text)
          items = data.fetch("items")
          new(items)
        end
      end
    end
    """)
RUBY_CHUNKS: Expected = [
    ("module", "", 1, 1),
    ("module", "Shop", 3, 23),
    ("class", "Shop.Order", 4, 22),
    ("method", "Shop.Order.initialize", 7, 11),
    ("method", "Shop.Order.from_json", 17, 21),
]

LUA = dedent("""\
    local json = require("json")

    local M = {}

    local function read_all(path)
      local file = assert(io.open(path))
      local data = file:read("a")
      file:close()
      return data
    end

    function M.load(path)
      local text = read_all(path)
      local ok, value = pcall(json.decode, text)
      if ok then return value end
      return nil
    end

    function M:size()
      return #self.items
    end

    return M
    """)
LUA_CHUNKS: Expected = [
    ("module", "", 1, 3),
    ("function", "read_all", 5, 10),
    ("function", "M.load", 12, 17),
    ("module", "M.size", 19, 23),
]

BASH = dedent("""\
    #!/usr/bin/env bash
    set -euo pipefail

    log() {
      echo "[$(date +%T)] $*" >&2
    }

    deploy() {
      local target=$1
      log "deploying to $target"
      rsync -a build/ "$target"
      log "done"
    }

    deploy "${1:-staging}"
    """)
BASH_CHUNKS: Expected = [
    ("module", "log", 1, 6),
    ("function", "deploy", 8, 13),
    ("module", "", 15, 15),
]

SAMPLES: list[Sample] = [
    ("billing/invoice.py", "python", PYTHON, PYTHON_CHUNKS),
    ("lib/shop.rb", "ruby", RUBY, RUBY_CHUNKS),
    ("lua/store.lua", "lua", LUA, LUA_CHUNKS),
    ("bin/deploy", "bash", BASH, BASH_CHUNKS),
]
