"""Columns holding values sealed with the appliance key (edge.vault): read and replaced for a key rotation.

Table and column names come from the fixed list in edge.rotate (never from input)."""

from __future__ import annotations

from sqlite_utils import Database


def sealed_values(db: Database, table: str, id_col: str, col: str) -> list[tuple[str, bytes]]:
    return db.execute(f"SELECT {id_col}, {col} FROM {table} WHERE {col} IS NOT NULL").fetchall()


def replace_value(db: Database, table: str, id_col: str, col: str, row_id: str, sealed: bytes) -> None:
    db.execute(f"UPDATE {table} SET {col} = ? WHERE {id_col} = ?", [sealed, row_id])
