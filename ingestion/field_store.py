"""The exact store: normalised records and chunk texts in one SQLite file.

Answers that must be verbatim (emails, URLs, dates) and aggregates ("combien d'applications…")
read records from here, never from a model. The chunk table also remembers each chunk's content
hash, which is how an incremental ingest knows what to re-embed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ingestion.chunking import Chunk
from ingestion.records import AppRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (id TEXT PRIMARY KEY, nom TEXT NOT NULL, position INTEGER, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, app_id TEXT NOT NULL, section TEXT NOT NULL, position INTEGER,
    text TEXT NOT NULL, metadata TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_app ON chunks(app_id);
"""


class FieldStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def replace_all(self, records: list[AppRecord], chunks: list[Chunk]) -> None:
        """Replace the content in one transaction: readers see the old or the new catalog, never a mix."""
        with self._conn:
            self._conn.execute("DELETE FROM apps")
            self._conn.execute("DELETE FROM chunks")
            self._conn.executemany(
                "INSERT INTO apps VALUES (?, ?, ?, ?)",
                ((r.id, r.nom, i, r.model_dump_json()) for i, r in enumerate(records)),
            )
            self._conn.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (c.id, c.app_id, c.section, i, c.text, json.dumps(c.metadata, ensure_ascii=False), c.content_hash)
                    for i, c in enumerate(chunks)
                ),
            )

    def records(self) -> list[AppRecord]:
        rows = self._conn.execute("SELECT record FROM apps ORDER BY position").fetchall()
        return [AppRecord.model_validate_json(row[0]) for row in rows]

    def record(self, app_id: str) -> AppRecord | None:
        row = self._conn.execute("SELECT record FROM apps WHERE id = ?", (app_id,)).fetchone()
        return AppRecord.model_validate_json(row[0]) if row else None

    def chunk_hashes(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT id, hash FROM chunks").fetchall())

    def chunks(self, ids: list[str] | None = None) -> list[Chunk]:
        if ids is None:
            rows = self._conn.execute("SELECT id, app_id, section, text, metadata, hash FROM chunks ORDER BY position").fetchall()
        else:
            rows = []
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows += self._conn.execute(
                    f"SELECT id, app_id, section, text, metadata, hash FROM chunks WHERE id IN ({marks})", batch
                ).fetchall()
            order = {chunk_id: i for i, chunk_id in enumerate(ids)}
            rows.sort(key=lambda row: order[row[0]])
        return [
            Chunk(id=r[0], app_id=r[1], section=r[2], text=r[3], metadata=json.loads(r[4]), content_hash=r[5],
                  app_name=json.loads(r[4]).get("app_name", ""))
            for r in rows
        ]

    def chunk_ids_for_apps(self, app_ids: list[str]) -> list[str]:
        marks = ",".join("?" * len(app_ids))
        rows = self._conn.execute(f"SELECT id FROM chunks WHERE app_id IN ({marks}) ORDER BY position", app_ids).fetchall()
        return [row[0] for row in rows]

    def counts(self) -> tuple[int, int]:
        apps = self._conn.execute("SELECT COUNT(*) FROM apps").fetchone()[0]
        chunks = self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return apps, chunks
