"""Conversion factors (registry section ``energy_factors``): which versioned kgce and CO₂ factors
(facmon/standards.py, docs/standards.md#conversion-factors) the energy statistics use.
analytics/daily.py records the chosen version on every energy_daily point."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from facmon.registry.common import Entry
from facmon.standards import DEFAULT_FACTOR_DATA_YEAR, DEFAULT_GRID_REGION, ENERGY_CATEGORIES, GRID_CO2_KG_PER_KWH, GRID_REGIONS


class EnergyFactors(Entry):
    """Grid region and data year of the CO₂ factor, plus per-category overrides (M/L factors are configurable)."""

    grid_region: str = Field(
        DEFAULT_GRID_REGION, description="national, or a regional grid: " + ", ".join(r for r in GRID_REGIONS if r != "national")
    )
    data_year: int = Field(DEFAULT_FACTOR_DATA_YEAR, description="data year of the published grid CO₂ factor")
    kgce_per_unit: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="energy category code -> kgce per register unit, overriding facmon.standards.KGCE_PER_UNIT"
    )
    co2_kg_per_unit: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="energy category code -> kgCO₂ per register unit (electricity: overrides the grid factor)"
    )

    @model_validator(mode="after")
    def _published_factor(self) -> EnergyFactors:
        if self.grid_region not in GRID_REGIONS:
            raise ValueError(f"grid_region {self.grid_region!r} is not one of {', '.join(GRID_REGIONS)}")
        if (self.data_year, self.grid_region) not in GRID_CO2_KG_PER_KWH and "01" not in self.co2_kg_per_unit:
            known = ", ".join(f"{year}/{region}" for year, region in sorted(GRID_CO2_KG_PER_KWH))
            raise ValueError(f"no grid CO₂ factor for data_year {self.data_year} and grid_region {self.grid_region!r}; known: {known}")
        for code in (*self.kgce_per_unit, *self.co2_kg_per_unit):
            if code not in ENERGY_CATEGORIES:
                raise ValueError(f"{code!r} is not an energy category code 01..13")
        return self

    @property
    def version(self) -> str:
        """Short label of the factor set, e.g. ``2023-national`` (``+site`` when the site overrides a factor)."""
        return f"{self.data_year}-{self.grid_region}" + ("+site" if self.kgce_per_unit or self.co2_kg_per_unit else "")
