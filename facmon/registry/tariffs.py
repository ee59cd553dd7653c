"""The site's prices (registry section ``tariffs``): what the energy report multiplies the energy that
faults wasted by, to state it in CNY. A local setting, usually the average price of the site's bills;
facmon takes no price from a standard, and without a price the report states the waste in kWh/m³ only."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from facmon.registry.common import Entry
from facmon.standards import ENERGY_CATEGORIES


class Tariffs(Entry):
    """Prices per register unit of an energy category (electricity CNY/kWh, water CNY/m³, gas CNY/m³, …)."""

    cny_per_unit: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="energy category code -> CNY per register unit, e.g. '01': 0.72 (CNY/kWh)"
    )
    source: str = Field("", description="where the prices come from, e.g. 'average of the 2026 bills'; printed beside every CNY figure")

    @model_validator(mode="after")
    def _known_categories(self) -> Tariffs:
        for code in self.cny_per_unit:
            if code not in ENERGY_CATEGORIES:
                raise ValueError(f"tariffs: {code!r} is not an energy category code 01..13")
        if self.cny_per_unit and not self.source.strip():
            raise ValueError("tariffs: say where the prices come from (source), the report prints it beside every CNY figure")
        return self
