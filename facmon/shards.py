"""Shards of a site's buildings: ``--shard K/N`` lets N analysis workers on N machines cover a site without
overlap. A building's shard is a stable hash of its code (CRC-32, the same on every machine and Python
version, unlike ``hash()``), so adding a building moves no other building to another worker."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from facmon.errors import InputError


@dataclass(frozen=True)
class Shard:
    """Worker ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, building: str) -> bool:
        """Whether ``building`` (a code) is this shard's."""
        return zlib.crc32(building.encode("utf-8")) % self.count == self.index - 1

    def of(self, buildings: Iterable[str]) -> list[str]:
        """This shard's buildings among ``buildings`` (codes), in their order."""
        return [code for code in buildings if self.holds(code)]


def parse_shard(text: str) -> Shard:
    """``K/N`` (1 ≤ K ≤ N) → :class:`Shard`; anything else is refused, naming the input."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise InputError(f"--shard {text!r}: K/N with 1 ≤ K ≤ N, e.g. 2/3 (the second of three workers)")
    return Shard(int(match[1]), int(match[2]))
