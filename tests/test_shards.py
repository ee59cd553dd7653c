"""Shards: N workers cover a site's buildings exactly once, and a building keeps its worker when others join."""

from __future__ import annotations

import pytest

from facmon.errors import InputError
from facmon.shards import parse_shard

CODES = [f"341122A{n:03d}" for n in range(1, 1000)]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_n_shards_cover_every_building_exactly_once(count: int) -> None:
    shards = [parse_shard(f"{k}/{count}").of(CODES) for k in range(1, count + 1)]
    assert sorted(code for shard in shards for code in shard) == sorted(CODES)
    assert min(len(s) for s in shards) > 0.7 * len(CODES) / count  # spread, not all on one worker


def test_a_new_building_moves_no_other_building_to_another_worker() -> None:
    before = {k: parse_shard(f"{k}/3").of(CODES) for k in (1, 2, 3)}
    after = {k: parse_shard(f"{k}/3").of([*CODES, "341122B001"]) for k in (1, 2, 3)}
    assert sum(len(after[k]) - len(before[k]) for k in (1, 2, 3)) == 1
    assert all(set(before[k]) <= set(after[k]) for k in (1, 2, 3))


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "1/0", "a/b", "1/3/2", ""])
def test_a_bad_shard_is_refused_naming_the_input(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)
