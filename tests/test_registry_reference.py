"""docs/registry.md is the registry reference generated from the models' field descriptions: it must be
current (this is the CI check), and every field a user can write must have a description."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from facmon.registry import Site
from facmon.registry.reference import COMMAND, DOCS_PATH, main, render_reference

REGENERATE = f"regenerate it with `.venv/bin/{COMMAND}` (or `{COMMAND}` in the project's environment) and commit docs/registry.md"


def test_docs_registry_md_is_the_generated_reference() -> None:
    expected = render_reference()
    if not DOCS_PATH.exists():
        pytest.fail(f"{DOCS_PATH} is missing; {REGENERATE}")
    actual = DOCS_PATH.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            actual.splitlines(), expected.splitlines(), "docs/registry.md (committed)", "render_reference()", lineterm="", n=1
        )
        shown = list(diff)
        more = f"\n... {len(shown) - 60} more diff lines" if len(shown) > 60 else ""
        pytest.fail(f"docs/registry.md is out of date with the registry models; {REGENERATE}\n" + "\n".join(shown[:60]) + more)


def _models(model: type[BaseModel], seen: dict[type[BaseModel], None]) -> dict[type[BaseModel], None]:
    if model in seen:
        return seen
    seen[model] = None
    stack = [info.annotation for info in model.model_fields.values()]
    while stack:
        annotation = stack.pop()
        stack += typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _models(annotation, seen)
    return seen


def test_every_registry_model_and_field_is_described() -> None:
    models = _models(Site, {})
    assert len(models) > 20
    undocumented = [model.__name__ for model in models if not model.__doc__]
    undescribed = [f"{model.__name__}.{name}" for model in models for name, info in model.model_fields.items() if not info.description]
    assert not undocumented, f"registry models without a docstring: {undocumented}"
    assert not undescribed, f"registry fields without Field(description=...): {undescribed}"


def test_the_reference_has_a_section_per_model_and_enumeration_and_names_each_field() -> None:
    text = render_reference()
    for model in _models(Site, {}):
        assert f"\n## {model.__name__}\n" in text
        for name in model.model_fields:
            assert f"| `{name}` |" in text, f"{model.__name__}.{name}"
    for annotation in ("Severity", "System", "EquipmentType", "FaultKind"):
        assert f"\n### {annotation}\n" in text


def test_the_entry_point_writes_the_reference_where_told(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "docs" / "registry.md"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_reference()
    assert str(target) in capsys.readouterr().out
    assert main(["--check"]) == 2
