"""Go, Rust, Java, C and C++ samples and the chunks each must give."""

from __future__ import annotations

from textwrap import dedent

from tests.unit.index.samples.base import Expected, Sample

GO = dedent("""\
    package billing

    import (
    \t"errors"
    \t"fmt"
    )

    // ErrEmpty is returned for invoices without lines.
    var ErrEmpty = errors.New("empty invoice")

    // Invoice is a bill.
    type Invoice struct {
    \tLines []Line
    \tPaid  bool
    \tNotes []string
    }

    type Line struct{ Qty, Price int }

    // Total sums the lines.
    func (inv *Invoice) Total() (int, error) {
    \tif len(inv.Lines) == 0 {
    \t\treturn 0, ErrEmpty
    \t}
    \tsum := 0
    \tfor _, l := range inv.Lines {
    \t\tsum += l.Qty * l.Price
    \t}
    \treturn sum, nil
    }

    func Describe(inv *Invoice) string {
    \ttotal, err := inv.Total()
    \tif err != nil {
    \t\treturn err.Error()
    \t}
    \treturn fmt.Sprintf("%d", total)
    }
    """)
GO_CHUNKS: Expected = [
    ("module", "", 1, 9),
    ("struct", "Invoice", 11, 16),
    ("struct", "Line", 18, 18),
    ("method", "Invoice.Total", 20, 30),
    ("function", "Describe", 32, 38),
]

RUST = dedent("""\
    use std::collections::HashMap;

    /// A key-value store.
    #[derive(Debug, Default)]
    pub struct Store {
        items: HashMap<String, i64>,
        hits: u64,
    }

    impl Store {
        pub fn new() -> Self {
            Store {
                items: HashMap::new(),
                hits: 0,
            }
        }

        pub fn get(&mut self, key: &str) -> Option<i64> {
            self.hits += 1;
            let value = self.items.get(key)?;
            Some(*value)
        }
    }

    pub trait Backend {
        fn load(&self) -> Store;
    }

    pub enum Mode {
        Fast,
        Safe,
        Paranoid,
    }
    """)
RUST_CHUNKS: Expected = [
    ("module", "", 1, 1),
    ("struct", "Store", 3, 8),
    ("impl", "Store", 10, 23),
    ("method", "Store.new", 11, 16),
    ("method", "Store.get", 18, 22),
    ("trait", "Backend", 25, 27),
    ("enum", "Mode", 29, 33),
]

JAVA = dedent("""\
    package com.example.shop;

    import java.util.ArrayList;
    import java.util.List;

    /** A shopping cart. */
    public class Cart {
        private final List<Integer> prices = new ArrayList<>();

        public void add(int price) {
            if (price < 0) {
                throw new IllegalArgumentException("negative");
            }
            prices.add(price);
        }

        public int total() {
            int sum = 0;
            for (int p : prices) {
                sum += p;
            }
            return sum;
        }

        public boolean isEmpty() {
            return prices.isEmpty();
        }
    }
    """)
JAVA_CHUNKS: Expected = [
    ("module", "", 1, 4),
    ("class", "Cart", 6, 28),
    ("method", "Cart.add", 10, 15),
    ("method", "Cart.total", 17, 23),
]

C = dedent("""\
    #include <stdlib.h>
    #include <string.h>

    #define CAPACITY 16

    struct buffer {
        char *data;
        size_t len;
        size_t cap;
    };

    /* Create an empty buffer. */
    struct buffer *buffer_new(void) {
        struct buffer *b = malloc(sizeof *b);
        b->data = malloc(CAPACITY);
        b->len = 0;
        b->cap = CAPACITY;
        return b;
    }

    int buffer_append(struct buffer *b, const char *s) {
        size_t n = strlen(s);
        if (b->len + n > b->cap) {
            return -1;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return 0;
    }
    """)
C_CHUNKS: Expected = [
    ("module", "", 1, 4),
    ("struct", "buffer", 6, 10),
    ("function", "buffer_new", 12, 19),
    ("function", "buffer_append", 21, 29),
]

CPP = dedent("""\
    #include <vector>

    namespace geo {

    class Polygon {
    public:
        explicit Polygon(std::vector<double> xs) : xs_(xs) {}
        double perimeter() const;
        double area() const {
            double sum = 0;
            for (double x : xs_) {
                sum += x;
            }
            return sum;
        }
    private:
        std::vector<double> xs_;
    };

    double Polygon::perimeter() const {
        double total = 0;
        for (double x : xs_) {
            total += x * 2;
        }
        return total;
    }

    }  // namespace geo
    """)
CPP_CHUNKS: Expected = [
    ("module", "", 1, 1),
    ("module", "geo", 3, 28),
    ("class", "geo.Polygon", 5, 18),
    ("method", "geo.Polygon.area", 9, 15),
    ("function", "geo.Polygon.perimeter", 20, 26),
]

SAMPLES: list[Sample] = [
    ("billing/invoice.go", "go", GO, GO_CHUNKS),
    ("src/store.rs", "rust", RUST, RUST_CHUNKS),
    ("src/main/java/Cart.java", "java", JAVA, JAVA_CHUNKS),
    ("src/buffer.c", "c", C, C_CHUNKS),
    ("src/polygon.cpp", "cpp", CPP, CPP_CHUNKS),
]
