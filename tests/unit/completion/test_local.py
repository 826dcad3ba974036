"""The local model's life: background training with ignore rules, persistence, updates."""

from __future__ import annotations

import time
from pathlib import Path

from ai_lsp.completion.local import LocalModel, model_path

BILLING = (
    "def compute_invoice_total(items, discount):\n"
    "    return sum(items) * (1 - discount)\n\n\n"
    "def describe_invoice(items):\n"
    "    return f'{len(items)} items'\n"
)


def workspace(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n")
    (tmp_path / "billing.py").write_text(BILLING)
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "secret_names.py").write_text("def leaked_identifier_xyz(): pass\n")
    (tmp_path / "README.md").write_text("prose_only_identifier\n")
    return tmp_path


def wait_trained(model: LocalModel) -> None:
    assert model.trained.wait(30), "training did not finish"


def test_training_runs_in_the_background_and_honours_ignore_rules(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    model = LocalModel()
    started = time.perf_counter()
    model.start(root)
    assert time.perf_counter() - started < 0.05
    wait_trained(model)
    try:
        assert (model.complete("total = compute_inv", "main.py") or "").startswith("oice_total(")
        assert model.complete("x = leaked_ident", "main.py") is None
        assert model.complete("x = prose_only", "main.py") is None
    finally:
        model.close()


def test_the_model_is_persisted_and_only_changed_files_are_retrained(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    first = LocalModel()
    first.train_now(root)
    assert model_path(root).exists()
    (root / "extra.py").write_text("def freshly_added_helper():\n    pass\n" * 2)
    second = LocalModel()
    second.train_now(root)
    assert (second.complete("total = compute_inv", None) or "").startswith("oice_total(")
    assert (second.complete("y = freshly_add", None) or "").startswith("ed_helper(")
    saved = model_path(root).stat().st_mtime_ns
    LocalModel().train_now(root)
    assert model_path(root).stat().st_mtime_ns == saved  # nothing changed: nothing written


def test_saves_and_buffers_update_the_model(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    model = LocalModel()
    model.start(root)
    wait_trained(model)
    try:
        model.file_saved("new.py", "def brand_new_function(arg):\n    pass\n")
        deadline = time.monotonic() + 10
        while model.complete("z = brand_new_f", None) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (model.complete("z = brand_new_f", None) or "").startswith("unction(")
        model.buffer_changed("draft.py", "only_in_buffer_name = 1\nonly_in_buffer_name += 1\n")
        while model.complete("only_in_buf", "draft.py") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (model.complete("only_in_buf", "draft.py") or "").startswith("fer_name")
    finally:
        model.close()


def test_suggestions_take_well_under_five_milliseconds(tmp_path: Path) -> None:
    model = LocalModel()
    model.train_now(workspace(tmp_path))
    started = time.perf_counter()
    for _ in range(100):
        model.complete("def describe_inv", None)
    assert (time.perf_counter() - started) / 100 < 0.005
