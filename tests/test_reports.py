"""The reports as a person receives them: the vendor assessment report rendered by the command from the
stored records, read back as text (pdftotext) and as page images (pdftoppm), with its fonts embedded
(pdffonts), and its figures equal to those of `facmon score vendors --combined --format json`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from facmon.registry import Site
from facmon.store import InfluxStore
from tests.test_vendor_assessment import _cli_env, inspect, measured, officer
from tests.workorder_service import screenshot_folder

FACMON = str(Path(sys.executable).with_name("facmon"))


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is missing: install Debian's poppler-utils (make test installs it)")
    return found


def page_images(pdf: Path, folder: Path) -> list[Path]:
    """The PDF's pages as PNG (pdftoppm, 60 dpi), in order."""
    subprocess.run([poppler("pdftoppm"), "-r", "60", "-png", str(pdf), str(folder / "page")], check=True, timeout=120)
    return sorted(folder.glob("page-*.png"))


def ink_share(png: Path) -> float:
    """The share of the page's pixels that are not white."""
    from matplotlib import image

    pixels = image.imread(str(png))
    return float((pixels[..., :3].mean(axis=2) < 0.9).mean())


def test_the_vendor_report_shows_the_combined_assessment_page_by_page_with_its_fonts_embedded(
    store: InfluxStore, example_site: Site, stack_env: dict[str, str], workorder_db: str, tmp_path: Path
) -> None:
    from facmon.workorders import surveys

    measured(store, "property", "2026-11", 80.0)
    measured(store, "hvac", "2026-11", 55.0)
    inspect(example_site, date(2026, 11, 5), {"toilets": 20, "records": 14})
    _, tokens = surveys.issue_survey(example_site, officer(), vendor="property", building="341122A001", period="2026-11", links=20)
    for n, token in enumerate(tokens[:12]):
        surveys.answer_survey(token, {"overall": 5 - n % 3, "response": "良"}, today=date(2026, 11, 20))
    env = _cli_env(stack_env, workorder_db)

    pdf = tmp_path / "vendors-2026-11.pdf"
    made = subprocess.run(
        [FACMON, "report", "vendors", "--period", "2026-11", "--out", str(pdf)], env=env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert "open: not final" in made.stdout
    printed = json.loads(
        subprocess.run(
            [FACMON, "score", "vendors", "--combined", "--period", "2026-11", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
    )

    text = subprocess.run([poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1]
    # the results, then at least one page per vendor (hvac's measured part alone, 0.40 of the weights, is ungraded)
    assert len(pages) >= 1 + len(printed["vendors"])
    assert all("来安县机关办公区 · 服务商综合考核报告" in page and "2026-11" in page for page in pages)
    assert all(f"第 {n} 页，共 {len(pages)} 页" in page for n, page in enumerate(pages, start=1))
    assert "未关账：数据仍可能变化，非最终结果" in pages[0]
    for vendor in printed["vendors"]:  # each vendor's own page (the one with its 扣分明细) shows its score or 不评级
        own = [page for page in pages[1:] if re.search(rf"^\s*{re.escape(vendor['name'])}\s*$", page, re.M) and "扣分明细" in page]
        assert own, vendor["vendor"]
        shown = "不评级" if vendor["score"] is None else f"{vendor['score']:.1f}"
        assert shown in own[0], (vendor["vendor"], shown)
        if vendor["score"] is None:
            assert "不评级：无综合扣分" in own[0]
    property_result = next(v for v in printed["vendors"] if v["vendor"] == "property")
    assert property_result["score"] is not None
    property_page = next(page for page in pages if re.search(r"安和物业服务有限公司\s*\n", page) and "扣分明细" in page)
    for part in property_result["parts"]:
        for loss in part["losses"]:
            assert f"−{loss['combined_points']:.2f}" in property_page  # every point lost, as the JSON has it

    fonts = subprocess.run([poppler("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "Noto-Sans-CJK-SC" in line]
    assert cjk and all(re.search(r"Identity-H\s+yes", line) for line in cjk), fonts  # the column "emb": embedded

    images = page_images(pdf, tmp_path)
    assert len(images) == len(pages)
    assert all(0.005 < ink_share(png) < 0.5 for png in images)  # text on every page, none black
    for n, png in enumerate(images[:2], start=1):
        shutil.copy(png, screenshot_folder() / f"report-vendors-{n}.png")

    english = tmp_path / "vendors-2026-11-en.pdf"
    assert (
        subprocess.run(
            [FACMON, "report", "vendors", "--period", "2026-11", "--lang", "en", "--out", str(english)],
            env=env,
            capture_output=True,
            timeout=300,
        ).returncode
        == 0
    )
    english_text = subprocess.run([poppler("pdftotext"), str(english), "-"], capture_output=True, text=True, check=True).stdout
    assert "Vendor assessment report" in english_text and "open: figures may still change" in english_text

    workbook = tmp_path / "vendors.xlsx"
    assert (
        subprocess.run(
            [FACMON, "report", "vendors", "--period", "2026-11", "--format", "xlsx", "--out", str(workbook)],
            env=env,
            capture_output=True,
            timeout=300,
        ).returncode
        == 0
    )
    from openpyxl import load_workbook

    header, *rows = [list(r) for r in load_workbook(workbook)["results"].iter_rows(values_only=True)]
    assert sorted((r[header.index("vendor")], r[header.index("score")]) for r in rows) == sorted(
        (v["vendor"], v["score"]) for v in printed["vendors"]
    )


def test_a_period_without_evidence_gives_a_report_that_says_so_not_zeros(
    store: InfluxStore, stack_env: dict[str, str], workorder_db: str, tmp_path: Path
) -> None:
    html = tmp_path / "empty.html"
    env = _cli_env(stack_env, workorder_db)
    made = subprocess.run(
        [FACMON, "report", "vendors", "--period", "2026-10", "--format", "html", "--out", str(html)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    page = html.read_text(encoding="utf-8")
    # no inspection, survey or third-party score: every vendor ungraded, each part's reason given, no 0.0 points
    assert page.count("不评级") >= 2 * 3 and "0.0" not in page
    assert "no inspection in the period" in page and "no survey in the period" in page and "no third-party score imported" in page


def test_the_energy_report_shows_the_scorecard_s_figures_with_the_days_they_rest_on(
    store: InfluxStore, example_site: Site, stack_env: dict[str, str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from facmon.analytics.analyze import analyze
    from facmon.simulators import SiteSimulator, backfill

    start, end = datetime(2026, 11, 9, 16, tzinfo=UTC), datetime(2026, 11, 12, 16, tzinfo=UTC)  # three local days
    backfill(SiteSimulator(example_site, seed=5), store, start, end)
    analyze(example_site, store, start, end)
    pdf = tmp_path / "energy-2026-11.pdf"
    made = subprocess.run(
        [FACMON, "report", "energy", "--period", "2026-11", "--out", str(pdf)], env=stack_env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr[-2000:]
    card = json.loads(
        subprocess.run(
            [FACMON, "score", "energy", "--period", "2026-11", "--format", "json"],
            env=stack_env,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
    )
    text = subprocess.run([poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1]
    assert all("公共机构能源消费报告" in page and "2026-11" in page for page in pages)
    flat = " ".join(text.split())
    lines = text.splitlines()
    for building in card["buildings"]:  # in the building's own rows of the tables
        totals = building["indicators"]["totals"]
        row = next(line for line in lines if line.strip().startswith(building["name"]) and "/ 30" in line)
        assert f"{totals['kgce']:,.0f}" in row.split("/ 30")[1], (building["building"], row)  # kgce as the scorecard has it
        assert f"{totals['days_with_data']} / 30 ⚠" in row  # three days of thirty: annual figures flagged
        ranked = [line for line in lines if building["name"] in line and re.match(r"\s*(\d+|–)\s+\S", line)]  # the score table's row
        shown = "–" if building["score"] is None else f"{building['score']:.1f}"
        assert ranked and shown in ranked[0], (building["building"], ranked)
    site_total = card["site_indicators"]["totals"]
    assert "全部建筑合计" in flat and f"{site_total['co2_kg'] / 1000:,.2f}" in flat
    # three days and no year before them: no savings and no plan progress, each saying why, never a 0 %
    assert flat.count("无法计算: no weather-normalised baseline") == len(card["buildings"])
    assert "逐月用能趋势" in flat and "逐时用电负荷" in flat and "故障造成的能源浪费（上限估计）" in flat
    assert f"{3 * 24} 个小时有数据，共 {30 * 24} 个小时" in flat  # the heat map says what it rests on
    images = page_images(pdf, tmp_path)
    assert images and all(0.005 < ink_share(png) < 0.5 for png in images)
    for n, png in enumerate(images, start=1):
        shutil.copy(png, screenshot_folder() / f"report-energy-{n}.png")

    # the report's figures are the scorecard's: the JSON the report is rendered from holds `score energy`'s whole
    figures_path = tmp_path / "energy.json"
    assert (
        subprocess.run(
            [FACMON, "report", "energy", "--period", "2026-11", "--format", "json", "--out", str(figures_path)], env=stack_env, timeout=300
        ).returncode
        == 0
    )
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    assert {key: figures[key] for key in card} == card
    site_trend = next(t for t in figures["trend"] if t["building"] == "")
    assert site_trend["months"][-1] == {"month": "2026-11", "kgce": pytest.approx(sum(
        b["indicators"]["totals"]["kgce"] for b in card["buildings"]), rel=1e-6), "days": 3}  # fmt: skip
    assert all(m["kgce"] is None for m in site_trend["last_year"])  # no data a year before: no bar, not 0

    # a month without data gives a report that says so: every building 0 of 31 days, "–" for its figures, no score
    empty = tmp_path / "energy-2026-10.html"
    assert (
        subprocess.run(
            [FACMON, "report", "energy", "--period", "2026-10", "--format", "html", "--out", str(empty)], env=stack_env, timeout=300
        ).returncode
        == 0
    )
    page = empty.read_text(encoding="utf-8")
    for building in card["buildings"]:
        row = re.search(rf"{re.escape(building['name'])}<br>.*?</tr>", page, re.S)
        no_figures = r'>0 / 31( ⚠)?</td>\s*<td>–</td><td class="number">–</td><td class="number">–</td>'  # days, consumption, kgce, CO₂
        assert row and re.search(no_figures, row.group(0)), building["name"]
    assert "0.0 %" not in page and "0 kWh" not in page


def test_the_statistics_return_fills_what_facmon_measures_and_leaves_the_rest_to_the_officer(
    store: InfluxStore, example_site: Site, stack_env: dict[str, str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from openpyxl import load_workbook

    from facmon.analytics.analyze import analyze
    from facmon.simulators import SiteSimulator, backfill

    start, end = datetime(2026, 7, 31, 16, tzinfo=UTC), datetime(2026, 8, 2, 16, tzinfo=UTC)  # 1 and 2 August, local
    backfill(SiteSimulator(example_site, seed=7), store, start, end)
    analyze(example_site, store, start, end)

    def facmon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([FACMON, *args], env=stack_env, capture_output=True, text=True, timeout=300)

    workbook, pdf, figures_path = tmp_path / "return.xlsx", tmp_path / "return.pdf", tmp_path / "figures.json"
    assert facmon("report", "statistics", "--period", "2026-Q3", "--out", str(workbook)).returncode == 0
    assert facmon("report", "statistics", "--period", "2026-Q3", "--format", "pdf", "--out", str(pdf)).returncode == 0
    assert facmon("report", "energy", "--period", "2026-Q3", "--format", "json", "--out", str(figures_path)).returncode == 0
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    totals = figures["site_indicators"]["totals"]
    assert totals["days_with_data"] == 2 and figures["period_days"] == 92

    sheet = load_workbook(workbook)["能源资源消费"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]}
    assert rows["电"][1:4] == ("110（待核）", "千瓦时", round(totals["consumption_by_energy"]["01"], 2))
    assert rows["水"][3] == round(totals["consumption_by_energy"]["02"], 2)
    assert "数据覆盖 2/92 天" in rows["电"][4]  # the days it rests on, on the row
    for officer_row in ("电 费用", "其中：车辆用油量", "其他能源", "热力"):  # not measured here: blank and marked, never guessed
        assert rows[officer_row][3] is None, officer_row
    assert rows["电 费用"][4] == "待填报" and rows["热力"][4] == "待填报：facmon 无此类计量表"
    indicators = {row[0]: row for row in load_workbook(workbook)["指标"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert indicators["综合能耗"][3] == round(totals["kgce"] / 1000, 2)

    text = subprocess.run([poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "公共机构能源资源消费状况" in text and f"{round(totals['consumption_by_energy']['01'], 2):,.2f}" in text
    basic = {row[0]: row for row in load_workbook(workbook)["基本信息"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert basic["建筑面积"][3] == sum(b.floor_area_m2 for b in example_site.buildings)  # the registry's, every building
    every_row = [
        row for name in ("基本信息", "能源资源消费") for row in load_workbook(workbook)[name].iter_rows(min_row=4, values_only=True)
    ]
    officer_rows = [row for row in every_row if row[4] and row[4].startswith("待填报")]  # (names repeat: 其中：车辆用油量 twice)
    assert all(row[3] is None for row in officer_rows)
    assert text.count("待填报") == len(officer_rows) + 1  # every row left to the officer says so (+1: the note on page 1)
    images = page_images(pdf, tmp_path)
    assert images and all(0.005 < ink_share(png) < 0.5 for png in images)
    shutil.copy(images[0], screenshot_folder() / "report-statistics-1.png")

    refused = facmon("report", "statistics", "--period", "2026-08", "--out", str(tmp_path / "month.xlsx"))
    assert refused.returncode != 0 and "quarter (2026-Q3) or a year" in refused.stderr


def test_the_annual_report_compares_each_building_per_day_with_the_year_before_and_lists_the_gaps(
    store: InfluxStore, example_site: Site, stack_env: dict[str, str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from facmon.analytics.analyze import analyze
    from facmon.simulators import SiteSimulator, backfill

    for year in (2024, 2025):  # two local days in each year: 10 and 11 November
        start, end = datetime(year, 11, 9, 16, tzinfo=UTC), datetime(year, 11, 11, 16, tzinfo=UTC)
        backfill(SiteSimulator(example_site, seed=year), store, start, end)
        analyze(example_site, store, start, end)

    def facmon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([FACMON, *args], env=stack_env, capture_output=True, text=True, timeout=300)

    figures_path, pdf = tmp_path / "annual.json", tmp_path / "annual.pdf"
    assert facmon("report", "annual", "--period", "2025", "--format", "json", "--out", str(figures_path)).returncode == 0
    made = facmon("report", "annual", "--period", "2025", "--out", str(pdf))
    assert made.returncode == 0, made.stderr[-2000:]
    annual = json.loads(figures_path.read_text(encoding="utf-8"))
    card = json.loads(facmon("score", "energy", "--period", "2025", "--format", "json").stdout)
    assert {key: annual["year"][key] for key in card} == card  # the year's figures are `score energy`'s

    text = subprocess.run([poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    before = {b["building"]: b["indicators"]["totals"] for b in annual["previous"]["buildings"]}
    for building in annual["year"]["buildings"]:
        now, then = building["indicators"]["totals"], before[building["building"]]
        assert now["days_with_data"] == then["days_with_data"] == 2
        change = (now["kgce"] / 2 - then["kgce"] / 2) / (then["kgce"] / 2)
        row = next(line for line in lines if line.strip().startswith(building["name"]) and re.search(r"\b2 ?/ ?2\b", line))
        assert f"{now['kgce'] / 2:,.1f}" in row and f"{then['kgce'] / 2:,.1f}" in row and f"{100 * change:+.1f} %" in row, row
        assert ("改善" if change < 0 else "变差") in row
        # the gaps: every building's days of 2025 without data, around the two measured days
        gaps = [(g["first"], g["last"]) for g in annual["gaps"] if g["building"] == building["building"]]
        assert gaps == [("2025-01-01", "2025-11-09"), ("2025-11-12", "2025-12-31")]
    assert "2025-01-01 – 2025-11-09" in text
    images = page_images(pdf, tmp_path)
    assert images and all(0.005 < ink_share(png) < 0.5 for png in images)
    for n, png in enumerate(images, start=1):
        shutil.copy(png, screenshot_folder() / f"report-annual-{n}.png")
