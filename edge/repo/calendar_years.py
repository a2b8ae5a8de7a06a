"""Holiday arrangements imported on this appliance (`edge calendar import`), one row per year."""

from __future__ import annotations

from sqlite_utils import Database


def all_years(db: Database) -> list[tuple[int, str, str, str]]:
    """(year, source, holidays JSON, workdays JSON) of every imported year, in order."""
    return db.execute("SELECT year, source, holidays, workdays FROM calendar_years ORDER BY year").fetchall()


def upsert(
    db: Database, *, year: int, source: str, holidays_json: str, workdays_json: str, file_name: str, file_sha256: str, imported_at: str
) -> None:
    """Install a year's arrangement; importing the year again replaces it."""
    db.execute(
        "INSERT INTO calendar_years(year, source, holidays, workdays, file_name, file_sha256, imported_at) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT(year) DO UPDATE SET source = excluded.source, holidays = excluded.holidays, "
        "workdays = excluded.workdays, file_name = excluded.file_name, file_sha256 = excluded.file_sha256, "
        "imported_at = excluded.imported_at",
        [year, source, holidays_json, workdays_json, file_name, file_sha256, imported_at],
    )


def imports(db: Database) -> list[tuple[int, str, str, str]]:
    """(year, file_name, file_sha256, imported_at) of every imported year."""
    return db.execute("SELECT year, file_name, file_sha256, imported_at FROM calendar_years").fetchall()
