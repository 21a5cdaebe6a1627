"""Seeded sampling shared by the training subsets and the evaluation samples."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def balanced_subset(rows: list[T], n: int, seed: int = 0, key: Callable[[T], Any] = lambda r: r.category) -> list[T]:
    """Up to ``n`` rows drawn round-robin over the groups of ``key`` (seeded shuffle within each
    group), returned in their original order: every category is represented, none dominates."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[key(row)].append(i)
    rng = random.Random(seed)
    for members in groups.values():
        rng.shuffle(members)
    picked: list[int] = []
    depth = 0
    while len(picked) < min(n, len(rows)):
        added = False
        for members in groups.values():
            if depth < len(members) and len(picked) < n:
                picked.append(members[depth])
                added = True
        if not added:
            break
        depth += 1
    return [rows[i] for i in sorted(picked)]
