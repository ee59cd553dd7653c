"""Loading the registry file: YAML that keeps line numbers, and errors that name file, line, entry and field.

Everything in facmon reads the site through :func:`load_site`. The YAML helpers here are public so that
other YAML files validated against the site (the simulator's fault scenarios) report problems the
same way: :class:`RegistryYamlLoader` to parse, :func:`yaml_node_at` for the line of a pydantic error
location, :func:`duplicate_key_problems` and :func:`validation_error_message` for the messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from facmon.errors import FacmonError
from facmon.registry.site import Site


class RegistryYamlLoader(yaml.SafeLoader):
    """The YAML loader of the registry and of files validated against it (the simulator's fault scenarios).

    A SafeLoader without YAML 1.1's base-60 numbers, so ``17:30`` stays a time and not 1050. Parse a
    file twice with it, ``yaml.compose`` for the node tree (line numbers, see :func:`yaml_node_at`) and
    ``yaml.load`` for the data to validate."""


RegistryYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    RegistryYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class SiteFileError(FacmonError):
    """The site file cannot be used. ``problems`` holds one line per problem, each naming file, line, entry and field."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s) in the site registry:\n" + "\n".join(f"  {p}" for p in problems))


def yaml_node_at(root: yaml.Node, loc: tuple[str | int, ...]) -> yaml.Node:
    """The deepest YAML node along ``loc`` (a pydantic error location) in the tree ``yaml.compose`` built;
    its ``start_mark.line + 1`` is the line to name in a message. Steps that are not in the file (a
    missing field, pydantic's ``function-...`` steps) stop the walk at the nearest node that is."""
    node = root
    for step in loc:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return node


def _describe(raw: Any, loc: tuple[str | int, ...]) -> str:
    """Human path such as ``buildings[2] (320125A003) > meters[4] (E05) > multiplier``."""
    parts: list[str] = []
    value = raw
    for step in loc:
        if isinstance(step, int):
            if not parts:
                parts.append(f"[{step}]")
            else:
                parts[-1] += f"[{step}]"
            value = value[step] if isinstance(value, list) and step < len(value) else None
            if isinstance(value, dict):
                label = value.get("id") or value.get("code") or value.get("vendor") or value.get("name") or value.get("topic")
                if label is not None:
                    parts[-1] += f" ({label})"
        else:
            parts.append(str(step))
            value = value.get(step) if isinstance(value, dict) else None
    return " > ".join(parts) or "(top level)"


def duplicate_key_problems(node: yaml.Node, path: Path) -> list[str]:
    """One message per key written twice in the same mapping anywhere under ``node`` (YAML would silently
    keep the last), each naming ``path`` and the line of the repeated key."""
    found: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                found.append(
                    f"{path}:{key.start_mark.line + 1}: key {key.value!r} appears twice in the same entry; the first would be ignored"
                )
            seen.add(key.value)
            found += duplicate_key_problems(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += duplicate_key_problems(item, path)
    return found


def validation_error_message(error: ErrorDetails) -> str:
    """The message for one pydantic error (an item of ``ValidationError.errors()``), worded for the person
    editing the file: ``is required but missing``, ``is not a known field (typo?)``, the allowed values
    with what was given, or the validator's own message."""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return "is required but missing"
    if error["type"] == "extra_forbidden":
        return "is not a known field (typo?)"
    if error["type"] in ("literal_error", "enum") or "Input should be" in message:
        return f"{message[0].lower()}{message[1:]} (got {error['input']!r})"
    return message


def parse_site(text: str, path: Path) -> Site:
    """Validate registry YAML text; ``path`` is used in messages only."""
    try:
        root = yaml.compose(text, Loader=RegistryYamlLoader)
        raw = yaml.load(text, Loader=RegistryYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise SiteFileError(path, [f"{path}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(raw, dict) or root is None:
        raise SiteFileError(path, [f"{path}:1: expected a mapping with site, vendors, coverage and buildings"])

    problems = duplicate_key_problems(root, path)
    try:
        site = Site.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(step for step in error["loc"] if not (isinstance(step, str) and step.startswith(("function-", "literal["))))
            line = yaml_node_at(root, loc).start_mark.line + 1
            problems.append(f"{path}:{line}: {_describe(raw, loc)}: {validation_error_message(error)}")
        raise SiteFileError(path, problems) from None
    for loc, message in site.reference_problems():
        line = yaml_node_at(root, loc).start_mark.line + 1
        problems.append(f"{path}:{line}: {_describe(raw, loc)}: {message}")
    if problems:
        raise SiteFileError(path, problems)
    return site


def load_site(path: str | Path) -> Site:
    """Read and validate a site registry file; raises :class:`SiteFileError` naming every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteFileError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(path, [f"{path}: cannot be read: {exc}"]) from None
    return parse_site(text, path)
