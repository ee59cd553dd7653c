"""Loading the registry: one YAML file or a folder of them, fast, with errors that name file, line, entry and field.

Everything in facmon reads the site through :func:`load_site`. A site is either one file or a folder
(``site.yaml`` plus ``buildings/**/*.yaml``, one building or a list of buildings per file; see
docs/registry.md#a-site-in-a-folder).

Speed: a city's registry is tens of MB. It is parsed by yaml-rs (Rust; PyYAML's pure-Python parser
took 72 s for 1,000 buildings, its libyaml binding 5 s) and line numbers are found only for the entries
that fail: the failing top-level section or list item is cut out of the text by its indentation and
composed alone with PyYAML, which keeps marks (:func:`_Source.line_of`).

The PyYAML helpers here are public so that other YAML files validated against the site (the
simulator's fault scenarios) report problems the same way: :class:`RegistryYamlLoader` to parse,
:func:`yaml_node_at` for the line of a pydantic error location, :func:`duplicate_key_problems` and
:func:`validation_error_message` for the messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml_rs
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


# libyaml's composer when PyYAML was built with it (Debian's and the wheels are): 10× the pure-Python one.
_COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]|$)")
_ERROR_LINE = re.compile(r"at line (\d+)")


def _fast_parse(text: str, path: Path) -> tuple[Any, list[str]]:
    """(data, problems) of one YAML file. yaml-rs reads YAML 1.2 (``yes`` is text, ``17:30`` too); a key
    written twice is not an error of the parse but a problem listed with its line, as before."""
    try:
        return yaml_rs.loads(text), []
    except yaml_rs.YAMLDecodeError as exc:
        message = str(exc)
        if not message.startswith("duplicate mapping key"):
            found = _ERROR_LINE.search(message)
            where = f":{found.group(1)}" if found else ""
            problem = message.splitlines()[0] if message else "not valid YAML"
            detail = message.splitlines()[-1] if "\n" in message else ""
            return None, [f"{path}{where}: not valid YAML: {problem}{'; ' + detail if detail else ''}"]
    # rare: find every repeated key with its line, then read the data as YAML would (the last one wins)
    root = yaml.compose(text, Loader=_COMPOSER)
    problems = duplicate_key_problems(root, path) if root is not None else []
    return yaml_rs.loads(text, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins), problems


@dataclass
class _Source:
    """One registry file: its text and data. Line numbers are looked up only for a location that has a problem."""

    path: Path
    text: str
    value: Any
    _lines: list[str] | None = field(default=None, repr=False)
    _root: yaml.Node | None = field(default=None, repr=False)

    def line_of(self, loc: tuple[str | int, ...]) -> int:
        """1-based line of the deepest node along ``loc`` in this file."""
        found = self._line_in_block(loc)
        if found is not None:
            return found
        if self._root is None:  # the whole file, once: slow for a big file, and needed only when cutting failed
            self._root = yaml.compose(self.text, Loader=_COMPOSER)
        return 1 if self._root is None else yaml_node_at(self._root, loc).start_mark.line + 1

    def _line_in_block(self, loc: tuple[str | int, ...]) -> int | None:
        """The line found by composing only the block of text ``loc`` falls in: a top-level key's section,
        or one item of a block sequence (top-level, or under a top-level key). None when the text is not
        laid out so (flow style, anchors across blocks): the caller composes the whole file."""
        if self._lines is None:
            self._lines = self.text.splitlines(keepends=True)
        lines = self._lines
        if isinstance(self.value, list) and loc and isinstance(loc[0], int):
            block = _sequence_item(lines, 0, len(lines), loc[0])
            if block is None:
                return None
            return self._compose_block(lines, block, self.value[loc[0]], (0, *loc[1:]), wrap="list")
        if not isinstance(self.value, dict) or not loc or not isinstance(loc[0], str) or loc[0] not in self.value:
            return None
        section = _top_level_section(lines, loc[0])
        if section is None:
            return None
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(self.value[loc[0]], list):
            item = _sequence_item(lines, section[0] + 1, section[1], loc[1])
            if item is not None and loc[1] < len(self.value[loc[0]]):
                return self._compose_block(lines, item, self.value[loc[0]][loc[1]], (0, *loc[2:]), wrap="list")
        return self._compose_block(lines, section, self.value[loc[0]], loc, wrap=loc[0])

    @staticmethod
    def _compose_block(lines: list[str], block: tuple[int, int], expected: Any, loc: tuple[str | int, ...], wrap: str) -> int | None:
        start, end = block
        chunk = "".join(lines[start:end])
        try:
            check = yaml_rs.loads(chunk, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins)
            root = yaml.compose(chunk, Loader=_COMPOSER)
        except (yaml_rs.YAMLDecodeError, yaml.YAMLError):
            return None
        # the cut is right only if the block alone reads as the same data
        if root is None or check != ([expected] if wrap == "list" else {wrap: expected}):
            return None
        return start + yaml_node_at(root, loc).start_mark.line + 1


def _top_level_section(lines: list[str], key: str) -> tuple[int, int] | None:
    """(first, end) line indices of the top-level ``key:`` and everything indented under it."""
    start = None
    for i, text in enumerate(lines):
        if not text[:1].isspace() and text[:1] not in ("#", "-", "") or text.startswith("---"):
            if start is not None:
                return start, i
            found = _TOP_LEVEL_KEY.match(text)
            if found and found.group(1) == key:
                start = i
    return None if start is None else (start, len(lines))


def _sequence_item(lines: list[str], first: int, end: int, index: int) -> tuple[int, int] | None:
    """(first, end) line indices of item ``index`` of the block sequence in ``lines[first:end]``: items
    start with ``-`` at the indentation of the first one."""
    starts: list[int] = []
    indent: int | None = None
    for i in range(first, end):
        text = lines[i]
        stripped = text.lstrip(" ")
        if not stripped.strip() or stripped.startswith("#"):
            continue
        depth = len(text) - len(stripped)
        if indent is None:
            if not stripped.startswith("-"):
                return None  # not a block sequence
            indent = depth
        if depth == indent and (stripped.startswith("- ") or stripped.rstrip("\r\n") == "-"):
            starts.append(i)
        elif depth < indent:
            end = i
            break
    if index >= len(starts):
        return None
    return starts[index], starts[index + 1] if index + 1 < len(starts) else end


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteFileError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(path, [f"{path}: cannot be read: {exc}"]) from None


BuildingFilter = Callable[[str], bool]


def _left_out(raw: dict[str, Any], keep: BuildingFilter | None) -> list[int]:
    """Indices of the buildings ``keep`` refuses by code; none when it would leave no building (a shard
    holding none: the whole site is validated, and the caller finds nothing of its own in it)."""
    listed = raw.get("buildings")
    if keep is None or not isinstance(listed, list):
        return []
    out = [i for i, b in enumerate(listed) if isinstance(b, dict) and isinstance(b.get("code"), str) and not keep(b["code"])]
    return [] if len(out) == len(listed) else out


def _validate(
    site_source: _Source,
    building_sources: Sequence[tuple[_Source, tuple[str | int, ...]]],
    raw: dict[str, Any],
    problems: list[str],
    keep: BuildingFilter | None = None,
) -> Site:
    """Validate the assembled registry; every problem names the file and line of its entry.
    ``building_sources[i]``: the file building ``i`` of ``raw["buildings"]`` came from and its place there.
    ``keep``: validate only the buildings whose code it accepts (see :func:`load_site`)."""
    left_out = _left_out(raw, keep)
    elsewhere: frozenset[str] = frozenset()
    if left_out:
        dropped = set(left_out)
        elsewhere = frozenset(raw["buildings"][i]["code"] for i in left_out)
        building_sources = [source for i, source in enumerate(building_sources) if i not in dropped]
        raw = {**raw, "buildings": [b for i, b in enumerate(raw["buildings"]) if i not in dropped]}

    def where(loc: tuple[str | int, ...]) -> str:
        if len(loc) >= 2 and loc[0] == "buildings" and isinstance(loc[1], int) and loc[1] < len(building_sources):
            source, place = building_sources[loc[1]]
            return f"{source.path}:{source.line_of((*place, *loc[2:]))}"
        return f"{site_source.path}:{site_source.line_of(loc)}"

    try:
        site = Site.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(step for step in error["loc"] if not (isinstance(step, str) and step.startswith(("function-", "literal["))))
            problems.append(f"{where(loc)}: {_describe(raw, loc)}: {validation_error_message(error)}")
        raise SiteFileError(site_source.path, problems) from None
    site._elsewhere = elsewhere
    for loc, message in site.reference_problems():
        problems.append(f"{where(loc)}: {_describe(raw, loc)}: {message}")
    if problems:
        raise SiteFileError(site_source.path, problems)
    return site


def _site_source(text: str, path: Path, expected: str) -> tuple[_Source, list[str]]:
    """The site file parsed, and the problems found so far (keys written twice); refused unless it is a
    mapping (``expected`` names its sections in the message)."""
    value, problems = _fast_parse(text, path)
    if value is None and problems:
        raise SiteFileError(path, problems)
    if not isinstance(value, dict):
        raise SiteFileError(path, [*problems, f"{path}:1: expected a mapping with {expected}"])
    return _Source(path, text, value), problems


def parse_site(text: str, path: Path, *, buildings: BuildingFilter | None = None) -> Site:
    """Validate registry YAML text; ``path`` is used in messages only; ``buildings`` as in :func:`load_site`."""
    source, problems = _site_source(text, path, "site, vendors, coverage and buildings")
    value = source.value
    listed = value.get("buildings")
    places = [(source, ("buildings", i)) for i in range(len(listed))] if isinstance(listed, list) else []
    return _validate(source, places, value, problems, buildings)


SITE_FILE = "site.yaml"
BUILDINGS_FOLDER = "buildings"


def site_folder_files(folder: Path) -> tuple[Path, list[Path]]:
    """The files of a site kept in a folder: ``site.yaml`` and ``buildings/**/*.yaml`` (also ``*.yml``) in
    name order, so buildings keep a stable order (the order of dashboards and reports)."""
    found = [p for pattern in ("*.yaml", "*.yml") for p in (folder / BUILDINGS_FOLDER).rglob(pattern) if p.is_file()]
    return folder / SITE_FILE, sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _load_folder(folder: Path, keep: BuildingFilter | None) -> Site:
    site_path, building_paths = site_folder_files(folder)
    if not site_path.exists():
        raise SiteFileError(folder, [f"{site_path}: no such file (a site folder holds site.yaml and {BUILDINGS_FOLDER}/*.yaml)"])
    site_source, problems = _site_source(_read(site_path), site_path, "site, vendors and coverage")
    value = site_source.value
    listed = value.get("buildings") or []
    if not isinstance(listed, list):
        listed = []  # validation names it
    buildings: list[Any] = list(listed)
    places: list[tuple[_Source, tuple[str | int, ...]]] = [(site_source, ("buildings", i)) for i in range(len(listed))]
    for path in building_paths:
        file_text = _read(path)
        file_value, file_problems = _fast_parse(file_text, path)
        problems += file_problems
        source = _Source(path, file_text, file_value)
        if isinstance(file_value, dict):
            places.append((source, ()))
            buildings.append(file_value)
        elif isinstance(file_value, list):
            places += [(source, (i,)) for i in range(len(file_value))]
            buildings += file_value
        elif file_value is None and not file_problems:
            problems.append(f"{path}:1: empty: a building file holds one building (a mapping) or a list of them")
        elif file_value is not None:
            problems.append(f"{path}:1: expected one building (a mapping) or a list of buildings")
    if not buildings and not problems:
        problems.append(f"{folder}: no buildings: add {BUILDINGS_FOLDER}/<code>.yaml files or a buildings list to {SITE_FILE}")
    return _validate(site_source, places, {**value, "buildings": buildings}, problems, keep)


def load_site(path: str | Path, *, buildings: BuildingFilter | None = None) -> Site:
    """Read and validate a site registry: one YAML file, or a folder holding ``site.yaml`` and
    ``buildings/**/*.yaml``. Raises :class:`SiteFileError` naming every problem with file and line.

    ``buildings`` (a predicate on building codes, e.g. ``Shard.holds``): keep only those buildings. The
    others are parsed but not validated, which is most of the cost at city scale, and the registry's
    references to them (coverage, targets, decoders) stand: an analysis worker of one shard loads its
    share. ``Site.buildings_elsewhere`` names them; ``facmon site check`` validates every building."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path, buildings)
    return parse_site(_read(path), path, buildings=buildings)
