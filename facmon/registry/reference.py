"""The registry reference: docs/registry.md, generated from the models and their field descriptions.

One section per model of the registry file, in the order the file nests them (each naming where in the
file it appears), with every field's name, type, default and ``Field(description=...)``; then the
enumerations the fields take their values from. Regenerate after changing a model::

    python -m facmon.registry.reference          # writes docs/registry.md of this checkout
    python -m facmon.registry.reference OUT.md   # writes elsewhere

tests/test_registry_reference.py fails when docs/registry.md differs from :func:`render_reference`.
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
import types
import typing
from datetime import date, time
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from facmon.fault_kinds import FaultKind
from facmon.registry.common import Identifier
from facmon.registry.site import Site

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "registry.md"
COMMAND = "python -m facmon.registry.reference"

_IDENTIFIER_PATTERN = typing.get_args(Identifier)[1].metadata[0].pattern


def render_reference() -> str:
    """The Markdown reference of the registry file (the content of docs/registry.md)."""
    paths: dict[type[BaseModel], list[str]] = {}
    enums: list[type[enum.Enum]] = []
    _collect(Site, "", paths, enums)
    enums.append(FaultKind)  # the keys of detection.severity
    out = [
        "# Site registry reference",
        "",
        f"<!-- Generated from the models in facmon/registry/ by `{COMMAND}`; do not edit by hand. -->",
        "",
        "The site registry is one YAML file (e.g. `examples/county-offices.yaml`), or a folder (below), that everything in",
        "facmon reads through `facmon.registry.load_site`. Each section below is one entry of the file: where it appears, what",
        "it is, and its fields.",
        "Unknown keys are refused, so a typo never passes silently; every problem is reported with file, line, entry and field.",
        "",
        "- Paths: `a.b` is key `b` inside `a`, `a[]` an item of the list `a`, `a.*` a value of the map `a`.",
        "- **id**: 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit (ids become MQTT topic levels and",
        "  InfluxDB tags).",
        "- Codes (energy category, sub-item, building and division codes) are quoted strings: YAML reads `01` as the number 1.",
        "- Times of day are local times of the site, `HH:MM`; days are `YYYY-MM-DD`.",
        "- A default of *none* means the field may be left out and is then unset.",
        "- The file is read as YAML 1.2: `yes`, `no` and `17:30` are text, as written; a key written twice is refused.",
        "",
        "## A site in a folder",
        "",
        "A city or province site is easier to keep as a folder, passed the same way (`--site DIR`, `FACMON_SITE=DIR`):",
        "",
        "```",
        "site.yaml                      # everything but the buildings (it may list some buildings too)",
        "buildings/341122/341122A001.yaml   # one building: a mapping, the fields of a `buildings[]` entry",
        "buildings/341102.yaml          # or a list of buildings, e.g. one file per county or district",
        "```",
        "",
        "Every `*.yaml` and `*.yml` under `buildings/` is read, in path order, after the buildings `site.yaml` lists;",
        "together they are `buildings`, and each problem names the building's own file and line. A site's",
        "`division_code` may be a county's, a city's (ending `00`) or a province's (ending `0000`): every building code must",
        "start with the code of a county inside it. `simulators/registry.py` writes generated sites in all three layouts.",
        "",
        "## Contents",
        "",
    ]
    for model, where in paths.items():
        out.append(f"- [{model.__name__}](#{model.__name__.lower()}): {_code(where[0] or '(top level)')}")
    out.append("- [Enumerations](#enumerations)")
    for model, where in paths.items():
        out += _model_section(model, where)
    out += ["", "## Enumerations"]
    for kind in enums:
        out += _enum_section(kind)
    return "\n".join(out).rstrip("\n") + "\n"


# -- walking the models ------------------------------------------------------------------------------


def _collect(model: type[BaseModel], path: str, paths: dict[type[BaseModel], list[str]], enums: list[type[enum.Enum]]) -> None:
    """Models in the order the file nests them (depth first, fields in order), each with its paths."""
    first = model not in paths
    paths.setdefault(model, []).append(path)
    if not first:
        return
    for name, info in model.model_fields.items():
        for suffix, inner in _nested(info.annotation, ""):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                _collect(inner, f"{path}.{name}{suffix}" if path else f"{name}{suffix}", paths, enums)
            elif isinstance(inner, type) and issubclass(inner, enum.Enum) and inner not in enums:
                enums.append(inner)


def _nested(annotation: Any, suffix: str) -> list[tuple[str, Any]]:
    """The types inside ``annotation`` with the path suffix that reaches them (``[]`` list item, ``.*`` map value)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _nested(args[0], suffix)
    if origin in (list, tuple):
        return [found for arg in args if arg is not Ellipsis for found in _nested(arg, suffix + "[]")]
    if origin is dict:
        return _nested(args[0], suffix) + _nested(args[1], suffix + ".*")
    if origin in (typing.Union, types.UnionType):
        return [found for arg in args for found in _nested(arg, suffix)]
    return [(suffix, annotation)]


# -- rendering -------------------------------------------------------------------------------------


def _model_section(model: type[BaseModel], where: list[str]) -> list[str]:
    module = model.__module__.replace(".", "/") + ".py"
    places = ", ".join(_code(w or "(top level)") for w in where)
    out = ["", f"## {model.__name__}", "", f"In the file: {places}. Model `{model.__name__}` in {module}.", ""]
    if model.__doc__:
        out += [_text(line) for line in inspect.cleandoc(model.__doc__).splitlines()]
        out.append("")
    out += ["| field | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        cells = [_code(name), _type(info.annotation, info.metadata), _default(info), _text(info.description or "", table=True)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _enum_section(kind: type[enum.Enum]) -> list[str]:
    out = ["", f"### {kind.__name__}", ""]
    if kind.__doc__ and kind.__doc__ is not enum.Enum.__doc__:
        out += [_text(inspect.cleandoc(kind.__doc__).replace("\n", " ")), ""]
    comments = _member_comments(kind)
    if not any(member.name in comments for member in kind):
        return [*out, "Values: " + ", ".join(_code(str(member.value)) for member in kind) + "."]
    out += ["| value | meaning |", "|---|---|"]
    for member in kind:
        out.append(f"| {_code(str(member.value))} | {_text(comments.get(member.name, ''), table=True)} |")
    return out


def _member_comments(kind: type[enum.Enum]) -> dict[str, str]:
    """The comment after each member in the enum's source (units, Chinese terms), by member name."""
    try:
        source = inspect.getsource(kind)
    except (OSError, TypeError):
        return {}
    return {m["name"]: m["comment"] for m in re.finditer(r"^\s+(?P<name>\w+) = [^#\n]+#\s*(?P<comment>.+?)\s*$", source, re.MULTILINE)}


def _type(annotation: Any, metadata: list[Any]) -> str:
    """A field's type in words, with its constraints: ``list of [Meter](#meter)``, ``number > 0``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner = next((a for a in args[1:] if isinstance(a, FieldInfo)), None)
        return _type(args[0], [*(inner.metadata if inner else []), *metadata])
    if origin in (typing.Union, types.UnionType):
        others = [arg for arg in args if arg is not type(None)]
        if len(others) == 1:  # Optional: the constraints are the value's
            return _type(others[0], metadata) + " or none"
        return _constrained(" or ".join(_type(arg, []) for arg in others) + (" or none" if type(None) in args else ""), metadata)
    if origin is typing.Literal:
        values = ", ".join(_code(str(a)) for a in args)
        return _constrained(values if len(args) == 1 else f"one of {values}", metadata)
    if origin is list:
        return _constrained(f"list of {_part(args[0])}", metadata)
    if origin is tuple:
        return _constrained("[" + ", ".join(_part(a) for a in args) + "]", metadata)
    if origin is dict:
        return _constrained(f"map of {_part(args[0])} to {_part(args[1])}", metadata)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | enum.Enum):
        return _constrained(f"[{annotation.__name__}](#{annotation.__name__.lower()})", metadata)
    if annotation is str and any(getattr(m, "pattern", None) == _IDENTIFIER_PATTERN for m in metadata):
        return _constrained("id", [m for m in metadata if getattr(m, "pattern", None) != _IDENTIFIER_PATTERN])
    words = {str: "string", int: "integer", float: "number", bool: "boolean", time: "time HH:MM", date: "date YYYY-MM-DD"}
    return _constrained(words.get(annotation, getattr(annotation, "__name__", str(annotation))), metadata)


def _part(annotation: Any) -> str:
    """The type of a list item or map key or value, in parentheses when it is a choice."""
    text = _type(annotation, [])
    return f"({text})" if " or " in text or text.startswith("one of ") else text


def _constrained(text: str, metadata: list[Any]) -> str:
    bounds = []
    for item in metadata:
        if isinstance(item, annotated_types.Gt):
            bounds.append(f"> {item.gt:g}")
        elif isinstance(item, annotated_types.Ge):
            bounds.append(f"≥ {item.ge:g}")
        elif isinstance(item, annotated_types.Lt):
            bounds.append(f"< {item.lt:g}")
        elif isinstance(item, annotated_types.Le):
            bounds.append(f"≤ {item.le:g}")
        elif isinstance(item, annotated_types.MinLen):
            bounds.append("not empty" if item.min_length == 1 else f"at least {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            bounds.append(f"at most {item.max_length}")
        elif getattr(item, "pattern", None):
            bounds.append(f"matching {_code(item.pattern)}")
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "*none*"
    if isinstance(value, BaseModel):
        return f"the defaults of [{type(value).__name__}](#{type(value).__name__.lower()})"
    return _code(_yaml(value))


def _yaml(value: Any) -> str:
    """A default as it would be written in the file (flow style)."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(k)}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)


def _code(text: str) -> str:
    return f"`{text}`"


def _text(text: str, table: bool = False) -> str:
    """Docstring or description text as Markdown: rST roles and double backticks become code spans;
    ``<`` outside code spans is escaped (it would start an HTML tag), and in a table cell ``|`` too."""
    text = re.sub(r":(?:class|func|meth|data|mod|attr):`~?([^`]+)`", r"`\1`", text).replace("``", "`")
    parts = re.split(r"(`[^`]*`)", text)
    for i, part in enumerate(parts):
        if not part.startswith("`"):
            part = part.replace("<", "\\<")
        if table:
            part = part.replace("|", "\\|")
        parts[i] = part
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write the reference to docs/registry.md, or to the path given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print(f"usage: {COMMAND} [OUTPUT.md]   (default {DOCS_PATH})", file=sys.stderr)
        return 2
    target = Path(args[0]) if args else DOCS_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_reference(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
