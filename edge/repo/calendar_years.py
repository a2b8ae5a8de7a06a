"""Holiday arrangements imported on this appliance (`edge calendar import`), one row per year."""

from __future__ import annotations

from sqlite_utils import Database


def all_years(db: Database) -> list[tuple[int, str, str, str]]:
    """(year, source, holidays JSON, workdays JSON) of every imported year, in order."""
    return db.execute("SELECT year, source, holidays, workdays FROM calendar_years ORDER BY year").fetchall()
