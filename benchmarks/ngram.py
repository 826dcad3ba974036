"""Benchmark the local n-gram model on held-out files of installed third-party packages.

Per package: train on 90 % of its files, then predict the tokens of the other 10 %, with the
global model alone and with the cache of the file being written; plus `complete()` latency,
training time, memory, and a scale run on ~3,000 files. Writes JSON and a PNG plot.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import re
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from ai_lsp.providers.ngram import NgramModel
from ai_lsp.providers.ngram_lexer import tokenize, uses_hash_comments

RESULTS = Path(__file__).parent / "results"
IDENTIFIER = re.compile(r"[^\W\d]\w*")
CONFIGS = ("global", "global+cache")
DEFAULT_PACKAGES = ("pydantic", "rich", "openai", "pygls+lsprotocol")
SCALE_PACKAGES = ("openai", "numpy", "matplotlib", "rich", "pydantic")


def package_files(site: Path, spec: str) -> list[Path]:
    """Python files of one package, or of several joined with `+`."""
    return sorted(p for name in spec.split("+") for p in (site / name).rglob("*.py"))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def memory_mb() -> dict[str, float]:
    """Current and peak resident memory of this process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def train(model: NgramModel, site: Path, files: list[Path]) -> dict[str, float]:
    texts = [(str(path.relative_to(site)), read(path)) for path in files]
    before = memory_mb()["rss_mb"]
    start, cpu = time.perf_counter(), time.process_time()
    for key, text in texts:
        model.train_file(key, text)
    model.flush()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tokens = model.token_count
    return {
        "files": len(files),
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "tokens_per_cpu_second": round(tokens / cpu),
        "model_grams": model.gram_count,
        "rss_before_mb": round(before, 1),
        **{k: round(v, 1) for k, v in memory_mb().items()},
    }


def evaluate(
    model: NgramModel, site: Path, files: list[Path], config: str, limit: int
) -> dict[str, float]:
    """Top-1/top-5 accuracy and MRR (over the top 10) of next-token prediction."""
    hits = {"all": [0, 0, 0.0, 0], "identifiers": [0, 0, 0.0, 0]}
    seconds = 0.0
    done = 0
    per_file = max(limit // len(files), 100)  # spread the budget over all held-out files
    for path in files:
        text = read(path)
        key = str(path.relative_to(site))
        lexed = tokenize(text, hash_comments=uses_hash_comments(text))
        for i in range(1, min(len(lexed.tokens), per_file + 1)):
            if config == "global+cache":
                model.set_buffer(key, text[: lexed.starts[i]])
            start = time.perf_counter()
            ranked = [
                t
                for t, _ in model.predict_next(
                    lexed.tokens[max(i - model.order, 0) : i],
                    10,
                    path_key=None if config == "global" else key,
                )
            ]
            seconds += time.perf_counter() - start
            truth = lexed.tokens[i]
            rank = ranked.index(truth) + 1 if truth in ranked else 0
            groups = ["all"] + (["identifiers"] if IDENTIFIER.fullmatch(truth) else [])
            for group in groups:
                tally = hits[group]
                tally[0] += rank == 1
                tally[1] += 0 < rank <= 5
                tally[2] += 1 / rank if rank else 0.0
                tally[3] += 1
            done += 1
        model.close_buffer(key)
    out: dict[str, float] = {"tokens": done, "predict_ms_mean": round(1000 * seconds / done, 3)}
    for group, (top1, top5, rr, n) in hits.items():
        out[f"{group}_top1"] = round(top1 / n, 4)
        out[f"{group}_top5"] = round(top5 / n, 4)
        out[f"{group}_mrr"] = round(rr / n, 4)
        out[f"{group}_count"] = n
    return out


def completions(
    model: NgramModel, site: Path, files: list[Path], calls: int, threshold: float, seed: int
) -> dict[str, float]:
    """Latency of `complete()` at random cursors, typing each file from the top (cache on)."""
    rng = random.Random(seed)
    cursors = []
    for path in files:
        text = read(path)
        for _ in range(-(-calls // len(files)) if len(text) > 1 else 0):
            cursors.append((path, text, rng.randrange(1, len(text))))
    rng.shuffle(cursors)
    latencies, cpu_latencies, buffer_latencies = [], [], []
    offered = exact = 0
    for path, text, cursor in cursors[:calls]:
        key = str(path.relative_to(site))
        start = time.perf_counter()
        model.set_buffer(key, text[:cursor])
        buffer_latencies.append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.thread_time()
        result = model.complete(text[:cursor], path_key=key, threshold=threshold)
        latencies.append(time.perf_counter() - start)
        cpu_latencies.append(time.thread_time() - cpu)
        if result is not None:
            offered += 1
            exact += text[cursor:].startswith(result.text)
        model.close_buffer(key)
    return {
        "calls": len(latencies),
        "threshold": threshold,
        "complete_p50_ms": round(1000 * percentile(latencies, 0.5), 3),
        "complete_p99_ms": round(1000 * percentile(latencies, 0.99), 3),
        "complete_max_ms": round(1000 * max(latencies), 3),
        "complete_cpu_p50_ms": round(1000 * percentile(cpu_latencies, 0.5), 3),
        "complete_cpu_p99_ms": round(1000 * percentile(cpu_latencies, 0.99), 3),
        "set_buffer_p50_ms": round(1000 * percentile(buffer_latencies, 0.5), 3),
        "set_buffer_p99_ms": round(1000 * percentile(buffer_latencies, 0.99), 3),
        "offered_rate": round(offered / len(latencies), 4),
        "offered_exact_match": round(exact / offered, 4) if offered else 0.0,
    }


def package_experiment(args: argparse.Namespace, spec: str) -> dict[str, Any]:
    site = Path(args.site_packages)
    files = package_files(site, spec)
    rng = random.Random(args.seed)
    rng.shuffle(files)
    held_out = max(1, round(len(files) * args.holdout))
    test, training = sorted(files[:held_out]), files[held_out:]
    model = NgramModel(args.order)
    result: dict[str, Any] = {"package": spec, "training": train(model, site, training)}
    result["held_out_files"] = len(test)
    result["prediction"] = {
        config: evaluate(model, site, test, config, args.max_eval_tokens) for config in CONFIGS
    }
    result["completion"] = completions(
        model, site, test, args.latency_calls, args.threshold, args.seed
    )
    return result


def scale_experiment(args: argparse.Namespace) -> dict[str, Any]:
    site = Path(args.site_packages)
    files = [p for spec in SCALE_PACKAGES for p in package_files(site, spec)][: args.scale_files]
    random.Random(args.seed).shuffle(files)
    model = NgramModel(args.order)
    result: dict[str, Any] = {"packages": SCALE_PACKAGES, "training": train(model, site, files)}
    # Cursors fall in training files here: only the timings mean something.
    timings = completions(model, site, files[:200], args.latency_calls, args.threshold, args.seed)
    result["completion"] = {k: v for k, v in timings.items() if not k.startswith("offered")}
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.bin"
        start = time.perf_counter()
        model.save(target)
        saved = time.perf_counter() - start
        size = target.stat().st_size
        del model
        gc.collect()
        before = memory_mb()["rss_mb"]
        start = time.perf_counter()
        loaded = NgramModel.load(target)
        result["persistence"] = {
            "save_seconds": round(saved, 2),
            "load_seconds": round(time.perf_counter() - start, 2),
            "file_mb": round(size / 2**20, 1),
            "loaded_files": loaded.file_count if loaded is not None else 0,
            "rss_before_load_mb": round(before, 1),
            "rss_after_load_mb": round(memory_mb()["rss_mb"], 1),
        }
    return result


def run(task: tuple[argparse.Namespace, str]) -> dict[str, Any]:
    args, spec = task
    return scale_experiment(args) if spec == "scale" else package_experiment(args, spec)


def plot(results: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    packages = [r["package"] for r in results["packages"]]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    panels = (
        ("all_top1", "top-1, all tokens"),
        ("all_mrr", "MRR, all tokens"),
        ("identifiers_top1", "top-1, identifiers"),
    )
    width = 0.8 / len(CONFIGS)
    for ax, (metric, title) in zip(axes, panels, strict=True):
        for c, config in enumerate(CONFIGS):
            values = [r["prediction"][config][metric] for r in results["packages"]]
            xs = [i + (c - (len(CONFIGS) - 1) / 2) * width for i in range(len(packages))]
            ax.bar(xs, values, width, label=config)
        ax.set_xticks(range(len(packages)), packages, rotation=15)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    scale = results["scale"]
    latency = scale["completion"]
    fig.suptitle(
        f"ai-lsp n-gram model (order {results['order']}), next-token prediction on held-out files."
        f" Scale run, {scale['training']['files']} files: complete() p50/p99"
        f" {latency['complete_p50_ms']}/{latency['complete_p99_ms']} ms wall,"
        f" {latency['complete_cpu_p50_ms']}/{latency['complete_cpu_p99_ms']} ms CPU;"
        f" peak RSS {scale['training']['peak_rss_mb']} MB"
    )
    fig.tight_layout()
    fig.savefig(target, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site-packages", default=sysconfig.get_paths()["purelib"])
    parser.add_argument(
        "--packages",
        nargs="+",
        default=list(DEFAULT_PACKAGES),
        help="package folder names; join several into one codebase with '+'",
    )
    parser.add_argument("--order", type=int, default=6)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-eval-tokens",
        type=int,
        default=20_000,
        help="held-out tokens predicted per package and configuration",
    )
    parser.add_argument("--latency-calls", type=int, default=400)
    parser.add_argument("--threshold", type=float, default=0.3)
    parser.add_argument("--scale-files", type=int, default=3000)
    parser.add_argument("--no-scale", action="store_true", help="skip the ~3,000-file run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    tasks = [(args, spec) for spec in args.packages] + ([] if args.no_scale else [(args, "scale")])
    started = time.perf_counter()
    # One fresh process per experiment so peak memory is measured per model.
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        outcomes = []
        for outcome in pool.imap(run, tasks):
            name = outcome.get("package", "scale")
            print(json.dumps({name: outcome}, indent=1), flush=True)
            outcomes.append(outcome)
    results: dict[str, Any] = {
        "order": args.order,
        "holdout": args.holdout,
        "seed": args.seed,
        "python": sys.version.split()[0],
        "packages": [o for o in outcomes if "package" in o],
        "scale": next((o for o in outcomes if "package" not in o), None),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "ngram.json").write_text(json.dumps(results, indent=2) + "\n")
    if results["scale"] is not None:
        plot(results, args.output / "ngram.png")
    print(f"wrote {args.output / 'ngram.json'} in {results['wall_seconds']} s")


if __name__ == "__main__":
    main()
