"""What every section of the site registry shares: the id type, the entry base class, and the check
that codes are written as quoted strings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# Ids become MQTT topic levels and InfluxDB tag values: no '/', '+', '#', spaces or quotes.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Entry(BaseModel):
    """Base of every registry entry: unknown keys are refused (a typo never passes silently) and a
    validated entry is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_weights_sum_to_one(entry: BaseModel, names: tuple[str, ...], what: str) -> None:
    """Raise ValueError naming every weight when the fields ``names`` of ``entry`` do not sum to 1 (to 1e-6)."""
    total = sum(getattr(entry, name) for name in names)
    if abs(total - 1.0) > 1e-6:
        terms = " + ".join(f"{name} {getattr(entry, name):g}" for name in names)
        raise ValueError(f"{what} weights must sum to 1; {terms} = {total:g}")


def require_quoted_code(value: Any) -> Any:
    """Before-validator for code fields (energy category, sub-item, building and division codes).

    YAML reads ``01`` as the integer 1 and ``320125`` as an integer, losing leading zeros, so a code
    written as a number is refused with a message asking for a quoted string; anything else passes
    through unchanged. Use it as ``field_validator("code", mode="before")(require_quoted_code)``."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"write codes as quoted strings, e.g. '{value:02d}' (YAML read {value} as a number)")
    return value
