"""Generated catalogs of any size for the benchmarks: the example catalog's records, cloned with
new ids and names and slightly varied text, so chunk counts and text lengths stay realistic."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "catalog.json"


def generate_catalog(n: int, path: Path, seed: int = 0) -> Path:
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))["applicationsia mini"]
    rng = random.Random(seed)
    records = []
    for i in range(n):
        record = copy.deepcopy(base[i % len(base)])
        record["id"] = str(100_000 + i)
        record["nom"] = f"{record['nom']}-{i}"
        if record.get("descriptif"):
            words = record["descriptif"].split()
            rng.shuffle(words)
            record["descriptif"] = " ".join(words)
        record.pop("applications liees", None)
        records.append(record)
    path.write_text(json.dumps({"applicationsia mini": records}, ensure_ascii=False), encoding="utf-8")
    return path
