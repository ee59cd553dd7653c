"""A registry the size of a city: a site kept as a folder reads as the same site as one file, every broken
entry among thousands is reported in one run with its own file and line, a city or province site holds
its counties' buildings, and a shard's worker loads only its share.

The sites are generated from the example (simulators/registry.py), in its own YAML format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from facmon.registry import Site, SiteFileError, load_site
from facmon.shards import Shard
from facmon.simulators.registry import PER_COUNTY, building_codes, generate_site


def _dump(site: Site) -> dict:
    return site.model_dump(mode="json")


def _break(path: Path, code: str, old: str, new: str) -> int:
    """Replace the first ``old`` (a regex) inside building ``code``'s entry of ``path`` by ``new``;
    return the 1-based line it is on, as a person finds it in an editor."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if re.match(rf"(- )?code: '{code}'", line))
    at = next(i for i in range(start, len(lines)) if re.search(old, lines[i]))
    lines[at] = re.sub(old, new, lines[at], count=1)
    path.write_text("".join(lines), encoding="utf-8")
    return at + 1


def _problems(path: Path) -> list[str]:
    with pytest.raises(SiteFileError) as refused:
        load_site(path)
    return refused.value.problems


def test_a_generated_site_keeps_the_example_buildings_its_registry_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 5 buildings"):
        generate_site(4, tmp_path / "site.yaml")


def test_generated_codes_fill_a_county_then_the_next() -> None:
    codes = list(building_codes(PER_COUNTY + 2))
    assert codes[:2] == ["341122A001", "341122A002"] and codes[998:1000] == ["341122A999", "341122B001"]
    assert codes[PER_COUNTY - 1] == "341122H999" and codes[PER_COUNTY:] == ["341102A001", "341102A002"]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("layout", ["folder", "districts"])
def test_a_site_folder_reads_as_the_same_site_as_one_file(tmp_path: Path, layout: str) -> None:
    one_file = load_site(generate_site(30, tmp_path / "site.yaml", "file"))
    folder = generate_site(30, tmp_path / layout, layout)  # type: ignore[arg-type]
    assert (folder / "site.yaml").exists() and list((folder / "buildings").rglob("*.yaml"))
    assert _dump(load_site(folder)) == _dump(one_file)
    assert [b.code for b in one_file.buildings] == list(building_codes(30))


def test_a_problem_in_a_building_file_names_that_file_and_line(tmp_path: Path) -> None:
    folder = generate_site(12, tmp_path / "city", "folder")
    path = folder / "buildings" / "341122" / "341122A007.yaml"
    line = _break(path, "341122A007", r"floor_area_m2: \d+", "floor_area_m2: many")
    (problem,) = _problems(folder)
    assert problem.startswith(f"{path}:{line}: buildings[6] (341122A007) > floor_area_m2: ")


def test_a_building_file_that_is_not_a_building_is_named(tmp_path: Path) -> None:
    folder = generate_site(5, tmp_path / "city", "folder")
    empty = folder / "buildings" / "341122" / "notes.yaml"
    empty.write_text("# to do\n", encoding="utf-8")
    scalar = folder / "buildings" / "scalar.yml"
    scalar.write_text("just text\n", encoding="utf-8")
    assert _problems(folder) == [
        f"{empty}:1: empty: a building file holds one building (a mapping) or a list of them",
        f"{scalar}:1: expected one building (a mapping) or a list of buildings",
    ]


def test_a_folder_without_its_site_file_is_refused(tmp_path: Path) -> None:
    folder = generate_site(5, tmp_path / "city", "folder")
    (folder / "site.yaml").unlink()
    assert _problems(folder) == [f"{folder / 'site.yaml'}: no such file (a site folder holds site.yaml and buildings/*.yaml)"]


def test_three_broken_entries_among_a_thousand_buildings_are_all_reported_with_file_and_line(tmp_path: Path) -> None:
    path = generate_site(1000, tmp_path / "city.yaml", "file")
    lines = {  # in the file's order, as they are reported
        "341122A137": _break(path, "341122A137", r"floor_area_m2: \d+", "floor_area_m2: -5"),
        "341122A998": _break(path, "341122A998", r"^(  name: .*)$", r"\1\n  colour: red") + 1,  # the line after the name
        "341122B001": _break(path, "341122B001", r"multiplier: [\d.]+", "multiplier: lots"),
    }
    problems = _problems(path)
    assert len(problems) == 3, problems
    for problem, (code, line) in zip(problems, lines.items(), strict=True):
        assert problem.startswith(f"{path}:{line}: buildings["), problem
        assert f"({code})" in problem
    assert "colour: is not a known field (typo?)" in problems[1]


def test_a_flow_style_entry_still_gets_its_line(tmp_path: Path) -> None:
    # Cutting one building's block out of the text needs block style; written otherwise, the line is found
    # by reading the whole buildings section (slower, still exact).
    path = generate_site(5, tmp_path / "site.yaml", "file")
    text = path.read_text(encoding="utf-8")
    head = text.split("\nbuildings:\n", 1)[0]
    flow = load_site(path).model_dump(mode="json", exclude_defaults=True)["buildings"]
    flow[1]["floor_area_m2"] = "wide"  # JSON is YAML's flow style
    entries = ",\n".join("  " + json.dumps(b, ensure_ascii=False) for b in flow)
    path.write_text(f"{head}\nbuildings: [\n{entries}\n  ]\n", encoding="utf-8")
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if '"code": "341122A002"' in text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{line}: buildings[1] (341122A002) > floor_area_m2: "), problem


def test_a_key_written_twice_is_named_with_its_line(tmp_path: Path) -> None:
    path = generate_site(5, tmp_path / "site.yaml", "file")
    line = _break(path, "341122A003", r"^(  floors: \d+)$", r"\1\n  floors: 9") + 1
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{line}:") and "floors" in problem


def test_a_city_or_province_site_holds_its_counties_buildings_and_a_county_site_refuses_others(tmp_path: Path) -> None:
    path = generate_site(6, tmp_path / "site.yaml", "file")  # the sixth is named nowhere else in the registry
    text = path.read_text(encoding="utf-8").replace("- code: '341122A006'", "- code: '341102A001'")
    line = text.splitlines().index("- code: '341102A001'") + 1
    path.write_text(text, encoding="utf-8")
    (problem,) = _problems(path)  # the county 341122's site
    assert problem == (
        f"{path}:{line}: buildings[5] (341102A001) > code: building code '341102A001' is not in the site's division '341122': "
        "it must start with that county's code (or a county's of that city or province)"
    )
    for division in ("341100", "340000"):  # the city of Chuzhou, the province of Anhui
        path.write_text(text.replace("division_code: '341122'", f"division_code: '{division}'", 1), encoding="utf-8")
        assert [b.code for b in load_site(path).buildings] == [*building_codes(5), "341102A001"]
    path.write_text(text.replace("division_code: '341122'", "division_code: '320100'", 1), encoding="utf-8")
    assert len(_problems(path)) == 6  # another province's city holds none of them


def test_shard_workers_load_their_share_and_together_the_whole_site(tmp_path: Path) -> None:
    path = generate_site(40, tmp_path / "site.yaml", "file")
    whole = load_site(path)
    by_code = {b.code: b.model_dump(mode="json") for b in whole.buildings}
    seen: list[str] = []
    for k in (1, 2, 3):
        part = load_site(path, buildings=Shard(k, 3).holds)
        codes = [b.code for b in part.buildings]
        assert codes == Shard(k, 3).of(by_code) and codes
        assert part.buildings_elsewhere == set(by_code) - set(codes)
        assert all(b.model_dump(mode="json") == by_code[b.code] for b in part.buildings)
        seen += codes
    assert sorted(seen) == sorted(by_code)


def test_a_shard_worker_does_not_validate_other_shards_buildings_but_site_check_does(tmp_path: Path) -> None:
    path = generate_site(20, tmp_path / "site.yaml", "file")
    other = next(code for code in building_codes(20) if not Shard(1, 2).holds(code))
    line = _break(path, other, r"floor_area_m2: \d+", "floor_area_m2: -1")
    part = load_site(path, buildings=Shard(1, 2).holds)
    assert other in part.buildings_elsewhere and all(Shard(1, 2).holds(b.code) for b in part.buildings)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{line}:") and f"({other})" in problem
    with pytest.raises(SiteFileError):
        load_site(path, buildings=Shard(2, 2).holds)


def test_a_shard_holding_no_building_gets_the_whole_site_to_find_none_of_its_own_in(tmp_path: Path) -> None:
    path = generate_site(5, tmp_path / "site.yaml", "file")
    codes = list(building_codes(5))
    empty = next(Shard(k, 64) for k in range(1, 65) if not Shard(k, 64).of(codes))
    site = load_site(path, buildings=empty.holds)
    assert [b.code for b in site.buildings] == codes and empty.of(codes) == [] and not site.buildings_elsewhere


def test_site_check_of_a_city_sums_its_buildings_by_county_and_json_lists_each(tmp_path: Path) -> None:
    from tests.test_cli import run

    folder = generate_site(210, tmp_path / "city", "districts")  # buildings/341122.yaml
    site_file, county_file = folder / "site.yaml", folder / "buildings" / "341122.yaml"
    site_file.write_text(site_file.read_text(encoding="utf-8").replace("division_code: '341122'", "division_code: '341100'", 1), "utf-8")
    county_file.write_text(county_file.read_text(encoding="utf-8").replace("- code: '341122A210'", "- code: '341102A001'"), "utf-8")
    table = run("site", "check", "--site", str(folder))
    assert table.returncode == 0, table.stdout + table.stderr
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in table.stdout.splitlines() if line.startswith("│ 34")}
    assert rows == {"341102": "1", "341122": "209"}
    assert "210 buildings, summed by county" in table.stdout
    listed = json.loads(run("site", "check", "--site", str(folder), "--format", "json").stdout)
    assert len(listed["buildings"]) == 210 and listed["buildings"][-1]["code"] == "341102A001"
