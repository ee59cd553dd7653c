"""`facmon baseline fit`: weather-normalised baselines and savings from a CSV of readings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from facmon.errors import FacmonError

if TYPE_CHECKING:  # analytics (numpy, scikit-learn) loads only when a command runs, to keep `facmon --help` fast
    from facmon.analytics.baseline import SavingsReport

from rich.console import RenderableType

from facmon.cli.output import FormatOption, OutputFormat, emit

baseline_app = typer.Typer(help="Weather-normalised baselines and savings (IPMVP Option C, ASHRAE G14, CalTRACK).", no_args_is_help=True)


class BaselineFrequency(StrEnum):
    DAILY = "daily"
    HOURLY = "hourly"


class TemperatureUnit(StrEnum):
    C = "C"
    F = "F"


class WorkingCalendar(StrEnum):  # the values of analytics.baseline.WorkCalendar
    CHINA = "china"
    WEEKEND = "weekend"
    NONE = "none"


@baseline_app.command("fit")
def baseline_fit(
    csv_file: Annotated[
        Path, typer.Option("--csv", help="CSV with a header row: time, consumption per interval, outdoor temperature.", show_default=False)
    ],
    time_col: Annotated[
        str,
        typer.Option(
            "--time-col", help="Column of interval start times, ISO-8601 with or without offset, taken as local time.", show_default=False
        ),
    ],
    load_col: Annotated[
        str, typer.Option("--load-col", help="Column of consumption per interval (kWh, m³, ...; not a register).", show_default=False)
    ],
    temp_col: Annotated[
        str,
        typer.Option("--temp-col", help="Column of outdoor temperature (may be at another interval; blanks allowed).", show_default=False),
    ],
    freq: Annotated[
        BaselineFrequency, typer.Option("--freq", help="daily: change-point model on days; hourly: time-of-week-and-temperature model.")
    ] = BaselineFrequency.DAILY,
    baseline_end: Annotated[
        str | None,
        typer.Option(
            "--baseline-end",
            help="Last day of the baseline (YYYY-MM-DD); later data is the reporting period (default: all baseline).",
            show_default=False,
        ),
    ] = None,
    temp_unit: Annotated[TemperatureUnit, typer.Option("--temp-unit", help="Unit of the temperature column.")] = TemperatureUnit.C,
    calendar: Annotated[
        WorkingCalendar,
        typer.Option("--calendar", help="Working days: china (holidays and 调休), weekend (Mon-Fri work) or none (no day-kind split)."),
    ] = WorkingCalendar.CHINA,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Fit a baseline on exported interval data; with data past --baseline-end, measure the savings and their uncertainty."""
    from facmon.analytics.baseline import WorkCalendar, measure_savings
    from facmon.analytics.interval_csv import read_interval_csv, to_regular

    work_calendar = WorkCalendar(calendar.value)
    end = None
    if baseline_end is not None:
        try:
            end = datetime.strptime(baseline_end, "%Y-%m-%d").date()
        except ValueError:
            raise FacmonError(f"--baseline-end {baseline_end!r} is not a date such as 2025-06-30") from None
    readings = read_interval_csv(csv_file, time_col, load_col, temp_col, temp_unit.value)
    report = measure_savings(to_regular(readings, freq.value), end, work_calendar)

    def show() -> Iterator[RenderableType]:
        yield from baseline_renderables(report, csv_file)

    emit(output, _finite({"file": str(csv_file), **report.as_dict()}), show)


def _finite(value: object) -> object:
    """The report with NaN and infinities as null: JSON has no NaN."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):  # NaN is the value unequal to itself
        return None
    return value


def baseline_renderables(report: SavingsReport, source: Path) -> Iterator[RenderableType]:
    """The baseline report of `facmon baseline fit` as tables and lines."""
    from facmon.analytics.changepoint import DailyBaseline

    baseline, acceptance, sufficiency, statistics = report.baseline, report.acceptance, report.sufficiency, report.statistics
    fit = Table(title=f"{report.interval} baseline {baseline.start} .. {baseline.end} — {source}")
    for column in ("n", "parameters", "CV(RMSE)", "NMBE", "R²", "G14 acceptance", "data sufficiency"):
        fit.add_column(column, justify="right" if column not in ("G14 acceptance", "data sufficiency") else "left")
    verdict = (
        "[green]accepted[/green]"
        if acceptance.accepted
        else f"[red]not accepted[/red] (CV(RMSE) ≤ {acceptance.cvrmse_max:.0%}, |NMBE| ≤ {acceptance.nmbe_max:.1%})"
    )
    enough = "[green]sufficient[/green]" if sufficiency.sufficient else "[yellow]insufficient[/yellow]: " + "; ".join(sufficiency.issues)
    fit.add_row(
        str(statistics.n),
        str(statistics.n_parameters),
        f"{statistics.cvrmse:.1%}",
        f"{statistics.nmbe:.2%}",
        f"{statistics.r2:.3f}",
        verdict,
        enough,
    )
    yield fit
    model = report.model
    if isinstance(model, DailyBaseline):
        segments = Table(title=f"change-point model, days split by {model.split.value} ({report.calendar} calendar)")
        for column in (
            "days",
            "model",
            "intercept/day",
            "heating slope /K·day",
            "heating balance °C",
            "cooling slope /K·day",
            "cooling balance °C",
        ):
            segments.add_column(column, justify="left" if column in ("days", "model") else "right")

        def number(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        for kind, segment in model.models.items():
            segments.add_row(
                f"{kind} ({segment.n_days})",
                segment.model_type.value,
                f"{segment.intercept_kwh:.2f}",
                number(segment.heating_slope_kwh_per_k if segment.heating_balance_c is not None else None, ".3f"),
                number(segment.heating_balance_c, ".1f"),
                number(segment.cooling_slope_kwh_per_k if segment.cooling_balance_c is not None else None, ".3f"),
                number(segment.cooling_balance_c, ".1f"),
            )
        yield segments
    else:
        errors = ", ".join(f"{name} {error:.1%}" for name, error in model.out_of_sample_cvrmse.items() if error is not None)
        yield (
            f"time-of-week-and-temperature model {model.method}, chosen by CV(RMSE) on held-out weeks ({errors}); "
            f"{report.calendar} calendar"
        )
    savings = report.savings
    if report.reporting is None:
        yield "no reporting period: the file ends at the baseline (give --baseline-end to measure savings)"
        return
    if savings is None:
        yield f"[yellow]no savings[/yellow]: {report.reporting_issue or ''}"
        return
    result = Table(title=f"savings {report.reporting.start} .. {report.reporting.end} ({savings.m} points)")
    for column in ("baseline predicted", "observed", "avoided", "fraction", f"± at {savings.confidence:.0%}", "FSU", "verdict"):
        result.add_column(column, justify="right" if column != "verdict" else "left")
    fsu = "-" if savings.fsu is None else f"{savings.fsu:.1%}"
    result.add_row(
        f"{savings.predicted_kwh:,.1f}",
        f"{savings.observed_kwh:,.1f}",
        f"{savings.avoided_kwh:,.1f}",
        f"{savings.fraction:.1%}",
        f"{savings.uncertainty_kwh:,.1f}",
        fsu,
        "[yellow]inconclusive[/yellow] (FSU > 50 %)" if savings.inconclusive else "[green]conclusive[/green]",
    )
    yield result
