"""Can LanceDB run here? Its wheels assume AVX2-class x86 CPUs and die with SIGILL on older
ones, so when the CPU flags are missing a throw-away subprocess tries it, once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import platform
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["cpu_flags", "lancedb_usable"]

log = logging.getLogger(__name__)

# x86-64-v3 ("haswell"), the level LanceDB's x86 wheels are compiled for.
REQUIRED_X86_FLAGS = frozenset({"avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe"})
_PROBE = """
import sys, tempfile
import lancedb, pyarrow as pa
from lancedb.index import FTS
with tempfile.TemporaryDirectory() as folder:
    table = lancedb.connect(folder).create_table("t", pa.table({"s": ["probe words", "other"]}))
    table.create_index("s", config=FTS(stem=False))
    sys.exit(0 if table.search("probe", query_type="fts").limit(1).to_list() else 3)
"""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU feature flags from ``/proc/cpuinfo``, or None when it cannot be read."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        return None
    return None


@functools.cache
def lancedb_usable(cache_root: Path) -> str | None:
    """None when LanceDB can be used, else a message saying why not (for the log and doctor).

    On x86 CPUs without the flags the probe runs in a subprocess; its verdict is cached
    under ``cache_root`` per LanceDB version, interpreter and CPU flags.
    """
    if importlib.util.find_spec("lancedb") is None:
        return "LanceDB is not installed"
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return None
    flags = cpu_flags()
    missing = sorted(REQUIRED_X86_FLAGS - flags) if flags is not None else ["unknown"]
    if not missing:
        return None
    key = "|".join((importlib.metadata.version("lancedb"), sys.executable, *sorted(flags or ())))
    cache_file = cache_root / "lancedb-probe.json"
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    try:
        cached: dict[str, str | None] = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    if digest in cached:
        return cached[digest]
    verdict = _probe(missing)
    cached[digest] = verdict
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cached), encoding="utf-8")
    except OSError as error:
        log.debug("cannot cache the LanceDB probe: %s", error)
    return verdict


def _probe(missing: list[str]) -> str | None:
    log.info("CPU lacks %s: checking LanceDB in a subprocess", ", ".join(missing))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"LanceDB could not be checked ({error})"
    if done.returncode == 0:
        return None
    if done.returncode == -signal.SIGILL:
        return "LanceDB crashed with an illegal instruction: this CPU lacks " + ", ".join(missing)
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"LanceDB does not work here (exit {done.returncode}: {last})"
