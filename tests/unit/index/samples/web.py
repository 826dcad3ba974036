"""JavaScript, TypeScript and TSX samples and the chunks each must give."""

from __future__ import annotations

from textwrap import dedent

from tests.unit.index.samples.base import Expected, Sample

JAVASCRIPT = dedent("""\
    import { readFile } from "node:fs/promises";

    const RETRIES = 3;

    export class Cache {
      constructor(limit) {
        this.limit = limit;
        this.entries = new Map();
        this.hits = 0;
      }

      get(key) {
        return this.entries.get(key);
      }

      set(key, value) {
        if (this.entries.size >= this.limit) {
          this.entries.delete(this.entries.keys().next().value);
        }
        this.entries.set(key, value);
      }
    }

    export async function loadJson(path) {
      for (let attempt = 0; attempt < RETRIES; attempt++) {
        try {
          return JSON.parse(await readFile(path, "utf8"));
        } catch (error) {
          if (attempt === RETRIES - 1) throw error;
        }
      }
    }

    export const double = (value) => {
      const result = value * 2;
      console.log(result);
      return result;
    };
    """)
JAVASCRIPT_CHUNKS: Expected = [
    ("module", "", 1, 3),
    ("class", "Cache", 5, 22),
    ("method", "Cache.constructor", 6, 10),
    ("method", "Cache.set", 16, 21),
    ("function", "loadJson", 24, 32),
    ("function", "double", 34, 38),
]

TYPESCRIPT = dedent("""\
    import { EventEmitter } from "events";

    export interface Job {
      id: string;
      run(): Promise<void>;
    }

    export type JobId = string;

    export enum State {
      Idle,
      Running,
      Done,
    }

    export class Queue extends EventEmitter {
      private jobs: Job[] = [];

      push(job: Job): void {
        this.jobs.push(job);
        this.emit("push", job.id);
        this.emit("size", this.jobs.length);
      }

      async drain(): Promise<number> {
        let count = 0;
        for (const job of this.jobs) {
          await job.run();
          count++;
        }
        return count;
      }
    }

    namespace Limits {
      export const MAX = 10;
    }
    """)
TYPESCRIPT_CHUNKS: Expected = [
    ("module", "Job, JobId", 1, 8),
    ("enum", "State", 10, 14),
    ("class", "Queue", 16, 33),
    ("method", "Queue.push", 19, 23),
    ("method", "Queue.drain", 25, 32),
    ("module", "Limits", 35, 37),
]

TSX = dedent("""\
    import React, { useState } from "react";

    type Props = { label: string };

    export function Counter({ label }: Props) {
      const [count, setCount] = useState(0);
      return (
        <button onClick={() => setCount(count + 1)}>
          {label}: {count}
        </button>
      );
    }

    export const Title = ({ text }: { text: string }) => (
      <h1 className="title">
        {text}
      </h1>
    );
    """)
TSX_CHUNKS: Expected = [
    ("module", "Props", 1, 3),
    ("function", "Counter", 5, 12),
    ("function", "Title", 14, 18),
]

SAMPLES: list[Sample] = [
    ("src/cache.js", "javascript", JAVASCRIPT, JAVASCRIPT_CHUNKS),
    ("src/queue.ts", "typescript", TYPESCRIPT, TYPESCRIPT_CHUNKS),
    ("src/Counter.tsx", "tsx", TSX, TSX_CHUNKS),
]
