"""Small realistic source files, one per language with a query, and the chunks each must give."""

from __future__ import annotations

from tests.unit.index.samples import scripting, systems, web
from tests.unit.index.samples.base import Expected, Sample

PYTHON = scripting.PYTHON
SAMPLES: list[Sample] = [*scripting.SAMPLES, *web.SAMPLES, *systems.SAMPLES]

__all__ = ["PYTHON", "SAMPLES", "Expected", "Sample"]
