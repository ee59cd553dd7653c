"""The weekly anomaly review: hours whose electricity departs from the building's own hourly baseline,
and night base load creeping up over the weeks. For people to read once a week; never paged.

Hourly anomalies. The building's main electricity (``energy_interval``, sub-item 01000, summed to
hours) and its outdoor temperature (hourly mean of ``weather``) over the ``baseline_weeks`` before the
review week fit the time-of-week-and-temperature baseline of analytics/towt.py, with the Chinese
calendar (a holiday counts as a Sunday, a 调休 working weekend day as a Wednesday). Each review-week
hour's residual (measured − predicted, kWh) is scored against the baseline residuals of the same hour
of the week: z = (residual − median) / (1.4826 · MAD), the scale floored at ``scale_floor_share`` of
the mean hourly load. Runs of at least ``min_hours`` consecutive hours with |z| ≥ ``z_threshold`` of one
sign become one anomaly: start, end, peak z and excess kWh (Σ residual − median).

Night base-load creep. The minimum hourly load (kWh per hour = mean kW) of each night's window
(01:00–05:00 local) over the ``creep_weeks`` ending with the review week; a Theil–Sen slope (robust to a
few odd nights) relative to the fitted base at the window's start, per week. At or above
``creep_min_share_per_week`` the building gets one review entry. Night heating or cooling that follows
the season can rise the same way: the entry is a prompt to look, not a verdict.

Nothing here writes the ``fault`` measurement. :func:`anomaly_lines` turns a review into ``anomaly``
points for `facmon faults review --write`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from scipy.stats import theilslopes
from sklearn.ensemble import IsolationForest

from facmon.analytics.towt import HOURS_PER_WEEK, HourlyBaseline, fit_hourly_baseline, hour_of_week
from facmon.errors import FacmonError
from facmon.registry import AnomalyReview, Site
from facmon.schema.anomalies import AnomalyPoint, anomaly_line, delete_anomalies
from facmon.schema.energy import hourly_consumption
from facmon.schema.readings import mean_outdoor_temperature
from facmon.store import InfluxStore
from facmon.workdays import is_working_day

MAIN_ELECTRICITY = ("01", "01000")
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution × this = its standard deviation
MIN_HOUR_OF_WEEK_SAMPLES = 3  # fewer baseline residuals at an hour of week: score it against all baseline residuals
ABOVE, BELOW, CREEP = "load_above_baseline", "load_below_baseline", "night_base_load_creep"


@dataclass(frozen=True)
class HourlySeries:
    """A building's local hours: main electricity in kWh per hour (NaN when incomplete), outdoor temperature in °C (NaN when unknown)."""

    hours: np.ndarray  # datetime64[h], local start of each hour
    starts_s: np.ndarray  # the same hours as UTC epoch seconds
    consumption_kwh: np.ndarray
    temperature_c: np.ndarray
    working_day: np.ndarray  # bool per hour (Chinese calendar)


@dataclass(frozen=True)
class Anomaly:
    """One entry of the review list.

    ``score``: peak z of an hourly anomaly (signed), or the creep's share of the base load per week.
    ``excess_kwh``: energy above (negative: below) the baseline over the anomaly; for creep, the rise of
    the night base load over the window times the 168 hours of a week (what the creep costs a week).
    ``isolation_rank``: share of baseline hours the IsolationForest finds more normal than the anomaly's
    most unusual hour (None without the forest or for creep).
    """

    building: str
    kind: str
    start_s: int
    end_s: int  # exclusive
    score: float
    excess_kwh: float
    detail: str
    isolation_rank: float | None = None

    def as_dict(self, tz=None) -> dict:
        body = {
            "building": self.building,
            "kind": self.kind,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "score": round(self.score, 3),
            "excess_kwh": round(self.excess_kwh, 1),
            "detail": self.detail,
            "isolation_rank": None if self.isolation_rank is None else round(self.isolation_rank, 4),
        }
        if tz is not None:
            body["start"] = datetime.fromtimestamp(self.start_s, tz).isoformat()
            body["end"] = datetime.fromtimestamp(self.end_s, tz).isoformat()
        return body


@dataclass(frozen=True)
class NightCreep:
    """Trend of the nightly minimum load: slope (kWh/h per week = kW per week), base at the window's start (kW), share per week."""

    nights: int
    slope_kw_per_week: float
    base_kw: float
    share_per_week: float
    rise_kw: float  # fitted rise over the window
    flagged: bool

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class BuildingReview:
    """The review of one building: its anomalies, the baseline's fit and how many hours were scored; or why it was skipped."""

    building: str
    anomalies: list[Anomaly] = field(default_factory=list)
    scored_hours: int = 0
    baseline: dict | None = None  # fit statistics of the hourly baseline
    creep: NightCreep | None = None
    skipped: str | None = None  # why no hourly review (too little data), when so

    def as_dict(self, tz=None) -> dict:
        return {
            "building": self.building,
            "scored_hours": self.scored_hours,
            "baseline": self.baseline,
            "night_creep": None if self.creep is None else self.creep.as_dict(),
            "skipped": self.skipped,
            "anomalies": [a.as_dict(tz) for a in self.anomalies],
        }


# -- scoring (plain functions on arrays) ----------------------------------------------------------


def hour_of_week_scale(residual_kwh: np.ndarray, how: np.ndarray, *, floor_kwh: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per hour of week (168) the median residual (kWh) and robust scale (1.4826 · MAD, kWh, at least ``floor_kwh``).

    Hours of the week with fewer than MIN_HOUR_OF_WEEK_SAMPLES residuals take the values of all residuals.
    NaN residuals are ignored.
    """
    residual_kwh = np.asarray(residual_kwh, dtype=float)
    how = np.asarray(how, dtype=np.int64)
    ok = np.isfinite(residual_kwh)
    if ok.sum() < MIN_HOUR_OF_WEEK_SAMPLES:
        raise FacmonError(f"only {int(ok.sum())} baseline residuals: too few to score hours against")
    overall_median = float(np.median(residual_kwh[ok]))
    overall_scale = MAD_TO_SIGMA * float(np.median(np.abs(residual_kwh[ok] - overall_median)))
    median = np.full(HOURS_PER_WEEK, overall_median)
    scale = np.full(HOURS_PER_WEEK, overall_scale)
    for h in range(HOURS_PER_WEEK):
        values = residual_kwh[ok & (how == h)]
        if values.size >= MIN_HOUR_OF_WEEK_SAMPLES:
            median[h] = np.median(values)
            scale[h] = MAD_TO_SIGMA * np.median(np.abs(values - median[h]))
    return median, np.maximum(scale, floor_kwh)


def anomalous_runs(z: np.ndarray, *, z_threshold: float, min_hours: int) -> list[tuple[int, int, int]]:
    """Runs of consecutive hours with |z| ≥ threshold and one sign: (first index, last index + 1, sign ±1); NaN breaks a run."""
    z = np.asarray(z, dtype=float)
    sign = np.where(np.isfinite(z) & (z >= z_threshold), 1, np.where(np.isfinite(z) & (z <= -z_threshold), -1, 0))
    runs = []
    i = 0
    while i < sign.size:
        if sign[i] == 0:
            i += 1
            continue
        j = i
        while j + 1 < sign.size and sign[j + 1] == sign[i]:
            j += 1
        if j + 1 - i >= min_hours:
            runs.append((i, j + 1, int(sign[i])))
        i = j + 1
    return runs


def isolation_ranks(baseline_features: np.ndarray, review_features: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """For each review row, the share of baseline rows an IsolationForest (fitted on the baseline rows) finds more normal.

    Rows with a NaN get NaN. 1.0 = more isolated than every baseline hour.
    """
    base_ok = np.all(np.isfinite(baseline_features), axis=1)
    review_ok = np.all(np.isfinite(review_features), axis=1)
    ranks = np.full(review_features.shape[0], np.nan)
    if base_ok.sum() < 2 * HOURS_PER_WEEK or not review_ok.any():
        return ranks
    forest = IsolationForest(n_estimators=100, random_state=seed).fit(baseline_features[base_ok])
    normality_base = np.sort(forest.score_samples(baseline_features[base_ok]))  # higher = more normal
    normality = forest.score_samples(review_features[review_ok])
    ranks[review_ok] = np.searchsorted(normality_base, normality, side="right") / normality_base.size
    ranks[review_ok] = 1.0 - ranks[review_ok]  # share of baseline hours more normal than this one
    return ranks


def hourly_anomalies(
    building: str,
    baseline: HourlySeries,
    review: HourlySeries,
    settings: AnomalyReview,
) -> tuple[list[Anomaly], HourlyBaseline, int]:
    """Fit the TOWT baseline on ``baseline`` hours and list the anomalies of ``review`` hours (kWh per hour, °C).

    Returns the anomalies, the fitted model and the number of review hours scored. Raises FacmonError
    when the baseline has too little data (analytics/towt.py needs two weeks of hours).

    The optional IsolationForest (``settings.isolation_forest``) does not decide what is listed: it
    ranks. Fitted on the baseline hours' (residual z, temperature, load), it says how unusual an
    anomaly's worst hour is as a combination — an hour that is high for its hour of week but in weather
    that has made it high before ranks lower than the same excess on a mild night — which helps the
    reviewer take the list from the top.
    """
    model = fit_hourly_baseline(baseline.hours, baseline.temperature_c, baseline.consumption_kwh, baseline.working_day)
    usable_base = np.isfinite(baseline.consumption_kwh) & np.isfinite(baseline.temperature_c)
    base_how = hour_of_week(baseline.hours, baseline.working_day)
    base_pred = np.where(usable_base, model.predict(baseline.hours, np.nan_to_num(baseline.temperature_c), baseline.working_day), np.nan)
    base_residual = baseline.consumption_kwh - base_pred
    floor_kwh = settings.scale_floor_share * float(np.nanmean(baseline.consumption_kwh[usable_base]))
    median, scale = hour_of_week_scale(base_residual, base_how, floor_kwh=floor_kwh)

    review_how = hour_of_week(review.hours, review.working_day)
    usable = np.isfinite(review.consumption_kwh) & np.isfinite(review.temperature_c) & np.isfinite(model.hour_of_week_kwh[review_how])
    predicted = np.where(usable, model.predict(review.hours, np.nan_to_num(review.temperature_c), review.working_day), np.nan)
    residual = review.consumption_kwh - predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (residual - median[review_how]) / scale[review_how]
    z[~usable] = np.nan

    ranks = None
    if settings.isolation_forest:
        base_z = (base_residual - median[base_how]) / scale[base_how]
        ranks = isolation_ranks(
            np.column_stack([base_z, baseline.temperature_c, baseline.consumption_kwh]),
            np.column_stack([z, review.temperature_c, review.consumption_kwh]),
        )

    found = []
    for first, stop, sign in anomalous_runs(z, z_threshold=settings.z_threshold, min_hours=settings.min_hours):
        window = slice(first, stop)
        excess_kwh = float(np.sum(residual[window] - median[review_how[window]]))
        peak = first + int(np.argmax(np.abs(z[window])))
        hours_n = stop - first
        detail = (
            f"{hours_n} h {'above' if sign > 0 else 'below'} the hourly baseline by {abs(excess_kwh):,.0f} kWh "
            f"(mean {abs(excess_kwh) / hours_n:,.1f} kW; peak z {z[peak]:+.1f} at {str(review.hours[peak]).replace('T', ' ')}:00)"
        )
        found.append(
            Anomaly(
                building,
                ABOVE if sign > 0 else BELOW,
                int(review.starts_s[first]),
                int(review.starts_s[stop - 1]) + 3600,
                float(z[peak]),
                excess_kwh,
                detail,
                None if ranks is None or not np.isfinite(ranks[window]).any() else float(np.nanmax(ranks[window])),
            )
        )
    return found, model, int(usable.sum())


def nightly_minima(hours: np.ndarray, consumption_kwh: np.ndarray, night_start: time, night_end: time) -> tuple[np.ndarray, np.ndarray]:
    """Local days and the minimum hourly load (kWh per hour = mean kW) of each day's night window [start, end).

    A night with any hour of its window missing (NaN or absent) gets NaN: a gap would hide the base load.
    """
    hours = np.asarray(hours, dtype="datetime64[h]")
    consumption_kwh = np.asarray(consumption_kwh, dtype=float)
    days = hours.astype("datetime64[D]")
    hour_of_day = (hours - days).astype(np.int64)
    in_window = (hour_of_day >= night_start.hour) & (hour_of_day < night_end.hour)
    window_hours = night_end.hour - night_start.hour
    all_days = np.unique(days)
    minima = np.full(all_days.size, np.nan)
    for i, day in enumerate(all_days):
        values = consumption_kwh[in_window & (days == day)]
        if values.size == window_hours and np.isfinite(values).all():
            minima[i] = values.min()
    return all_days, minima


def night_base_load_creep(days: np.ndarray, minima_kw: np.ndarray, *, min_share_per_week: float, min_nights: int) -> NightCreep | None:
    """Theil–Sen trend of nightly minimum loads (kW) over days; None with fewer than ``min_nights`` known nights.

    The share per week is the slope (kW per week) over the fitted base at the first day (kW).
    """
    days = np.asarray(days, dtype="datetime64[D]")
    minima_kw = np.asarray(minima_kw, dtype=float)
    ok = np.isfinite(minima_kw)
    if ok.sum() < max(min_nights, 3):
        return None
    x = (days[ok] - days[0]).astype(float)  # days since the window's first day
    slope_per_day, intercept, _, _ = theilslopes(minima_kw[ok], x)
    base_kw = float(intercept)
    slope_kw_per_week = float(slope_per_day) * 7.0
    share = slope_kw_per_week / base_kw if base_kw > 0 else float("inf") if slope_kw_per_week > 0 else 0.0
    span_days = float((days[-1] - days[0]).astype(float))
    rise_kw = float(slope_per_day) * span_days
    return NightCreep(
        int(ok.sum()), slope_kw_per_week, base_kw, share, rise_kw, bool(share >= min_share_per_week and slope_kw_per_week > 0)
    )


# -- reading InfluxDB and the review of a site ----------------------------------------------------


def read_hourly_series(store: InfluxStore, site: Site, building: str, start: date, end: date) -> HourlySeries:
    """Local hours of days [start, end) of ``building``: main electricity (kWh per hour) and mean outdoor temperature (°C).

    An hour's consumption counts only when every main meter (01000) has all its intervals in it
    (measured or estimated); otherwise it is NaN.
    """
    found = site.building(building)
    if found is None:
        raise FacmonError(f"building {building!r} is not in the site registry")
    energy, subitem = MAIN_ELECTRICITY
    main_meters = [m for m in found.meters if m.energy == energy and m.subitem == subitem]
    tz = site.site.tz
    start_s = int(datetime.combine(start, time(), tz).timestamp())
    end_s = int(datetime.combine(end, time(), tz).timestamp())
    starts_s = np.arange(start_s, end_s, 3600, dtype=np.int64)
    hours = np.array([np.datetime64(datetime.fromtimestamp(int(t), tz).replace(tzinfo=None), "h") for t in starts_s], dtype="datetime64[h]")
    index = {int(t): i for i, t in enumerate(starts_s)}
    expected = len(main_meters) * max(1, 3600 // site.collection.meter_interval_s)
    consumption = np.full(starts_s.size, np.nan)
    if main_meters:
        for hour_s, kwh, counted in hourly_consumption(store, building, energy, subitem, start_s, end_s):
            i = index.get(hour_s)
            if i is not None and kwh is not None and counted >= expected:
                consumption[i] = kwh
    temperature = np.full(starts_s.size, np.nan)
    for hour_s, mean_c in mean_outdoor_temperature(store, building, start_s, end_s, "1h").items():
        i = index.get(hour_s)
        if i is not None:
            temperature[i] = mean_c
    day_of_hour = hours.astype("datetime64[D]")
    working_days = {d: is_working_day(d.astype(date)) for d in np.unique(day_of_hour)}
    working = np.array([working_days[d] for d in day_of_hour], dtype=bool)
    return HourlySeries(hours, starts_s, consumption, temperature, working)


def review_week_start(week: str | None = None, week_start: date | None = None, today: date | None = None) -> date:
    """First day of the review week: an ISO week (``2026-W43``: its Monday), a date, or else the Monday of
    the last complete week before ``today``."""
    if week is not None and week_start is not None:
        raise FacmonError("give either --week or --week-start, not both")
    if week is not None:
        try:
            year, number = week.upper().split("-W")
            return date.fromisocalendar(int(year), int(number), 1)
        except ValueError:
            raise FacmonError(f"--week {week!r} is not an ISO week like 2026-W43") from None
    if week_start is not None:
        return week_start
    today = today or date.today()
    return today - timedelta(days=today.weekday() + 7)


def review_building(
    store: InfluxStore, site: Site, building: str, week_start: date, *, baseline_weeks: int | None = None
) -> BuildingReview:
    """The review of one building for the 7 local days from ``week_start``: hourly anomalies and night base-load creep."""
    settings = site.anomalies
    weeks = baseline_weeks or settings.baseline_weeks
    week_end = week_start + timedelta(days=7)
    history_weeks = max(weeks, settings.creep_weeks - 1)
    history = read_hourly_series(store, site, building, week_start - timedelta(weeks=history_weeks), week_end)
    in_review = history.hours >= np.datetime64(week_start, "h")
    in_baseline = ~in_review & (history.hours >= np.datetime64(week_start - timedelta(weeks=weeks), "h"))

    def part(mask: np.ndarray) -> HourlySeries:
        return HourlySeries(
            history.hours[mask],
            history.starts_s[mask],
            history.consumption_kwh[mask],
            history.temperature_c[mask],
            history.working_day[mask],
        )

    result = BuildingReview(building)
    try:
        anomalies, model, scored = hourly_anomalies(building, part(in_baseline), part(in_review), settings)
        result.anomalies.extend(anomalies)
        result.scored_hours = scored
        result.baseline = {"weeks": weeks, **model.statistics.as_dict()}
    except FacmonError as error:
        result.skipped = f"no hourly review: {error}"

    creep_from = np.datetime64(week_end - timedelta(weeks=settings.creep_weeks), "h")
    creep_part = part(history.hours >= creep_from)
    days, minima = nightly_minima(creep_part.hours, creep_part.consumption_kwh, settings.night_start, settings.night_end)
    min_nights = int(np.ceil(settings.creep_min_night_share * settings.creep_weeks * 7))
    creep = night_base_load_creep(days, minima, min_share_per_week=settings.creep_min_share_per_week, min_nights=min_nights)
    result.creep = creep
    if creep is not None and creep.flagged:
        tz = site.site.tz
        first_s = int(datetime.combine(days[0].astype(date), time(), tz).timestamp())
        result.anomalies.append(
            Anomaly(
                building,
                CREEP,
                first_s,
                int(datetime.combine(week_end, time(), tz).timestamp()),
                creep.share_per_week,
                creep.rise_kw * HOURS_PER_WEEK,
                f"night base load ({settings.night_start:%H:%M}-{settings.night_end:%H:%M} minimum) "
                f"rising {creep.share_per_week:.1%} a week over {settings.creep_weeks} weeks: "
                f"{creep.base_kw:,.1f} kW -> {creep.base_kw + creep.rise_kw:,.1f} kW",
            )
        )
    return result


def review_site(store: InfluxStore, site: Site, week_start: date, *, baseline_weeks: int | None = None) -> list[BuildingReview]:
    """The weekly review of every building in the registry (see :func:`review_building`)."""
    return [review_building(store, site, b.code, week_start, baseline_weeks=baseline_weeks) for b in site.buildings]


def review_list(reviews: list[BuildingReview]) -> list[Anomaly]:
    """All entries of a review, most pressing first: creep entries, then hourly anomalies by |peak z|."""
    entries = [a for r in reviews for a in r.anomalies]
    return sorted(entries, key=lambda a: (a.kind != CREEP, -abs(a.score), a.building, a.start_s))


def anomaly_lines(reviews: list[BuildingReview], week_start_s: int) -> list[str]:
    """``anomaly`` points of a review (tags building, kind; fields score, excess_kwh, detail, isolation_rank; time = start,
    a creep entry at the review week's start). Never ``fault``: nothing here pages anyone."""
    return [
        anomaly_line(
            AnomalyPoint(
                building=entry.building,
                kind=entry.kind,
                time_s=week_start_s if entry.kind == CREEP else entry.start_s,
                end_s=entry.end_s,
                score=entry.score,
                excess_kwh=entry.excess_kwh,
                detail=entry.detail,
                isolation_rank=entry.isolation_rank,
            )
        )
        for entry in (a for r in reviews for a in r.anomalies)
    ]


def write_review(store: InfluxStore, site: Site, reviews: list[BuildingReview], week_start: date) -> int:
    """Replace the review week's ``anomaly`` points of the reviewed buildings with this review's; returns points written."""
    tz = site.site.tz
    start_s = int(datetime.combine(week_start, time(), tz).timestamp())
    end_s = int(datetime.combine(week_start + timedelta(days=7), time(), tz).timestamp())
    for review in reviews:
        delete_anomalies(store, review.building, start_s, end_s)
    lines = anomaly_lines(reviews, start_s)
    if lines:
        store.write(lines)
    return len(lines)
