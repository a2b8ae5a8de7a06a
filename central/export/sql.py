"""The SQL Server index the contracts ask for, as what a court DBA loads.

No tool on Linux writes an .mdf or .bak, and SQL Server does not run here, so
the index is a T-SQL script (CREATE TABLE with NVARCHAR and keys; INSERTs with
N'…' literals in batches of at most 1,000 rows, SQL Server's limit for one
VALUES list; all in one transaction) and, with `bcp`, tab-separated files plus
non-XML bcp format files. Every image and document reference is a path
relative to the export folder, and the files it names are written beside the
script, so index ↔ image attachment can be checked to be 100 %.
The schema is documented in docs/sql-index.md; its version is in jz_schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juanzong.central.export.content import extension, item_document, open_item
from juanzong.central.export.dossier import case_folder
from juanzong.central.export.model import CaseDossier
from juanzong.central.home import Central
from juanzong.shared import crypto
from juanzong.shared.durable import ensure_dir, write_durable

SCHEMA_VERSION = 1
BATCH_ROWS = 1000

# (table, [(column, type)], primary key) in load order: parents first
TABLES: tuple[tuple[str, tuple[tuple[str, str], ...], str], ...] = (
    ("jz_schema", (("version", "INT NOT NULL"), ("exported_at", "NVARCHAR(40) NOT NULL")), "version"),
    (
        "jz_cases",
        (("case_number", "NVARCHAR(64) NOT NULL"), ("type_code", "NVARCHAR(16) NOT NULL"), ("court", "NVARCHAR(32) NOT NULL")),
        "case_number",
    ),
    (
        "jz_volumes",
        (
            ("volume_id", "NVARCHAR(80) NOT NULL"),
            ("case_number", "NVARCHAR(64) NOT NULL"),
            ("volume", "NVARCHAR(16) NOT NULL"),
            ("volume_name", "NVARCHAR(8) NOT NULL"),
            ("page_count", "INT NOT NULL"),
        ),
        "volume_id",
    ),
    (
        "jz_items",
        (
            ("item_id", "NVARCHAR(16) NOT NULL"),
            ("volume_id", "NVARCHAR(80) NOT NULL"),
            ("order_no", "INT NOT NULL"),
            ("name", "NVARCHAR(200) NOT NULL"),
            ("catalog_dir", "NVARCHAR(100) NOT NULL"),
            ("catalog_order", "INT NOT NULL"),
            ("declared_pages", "INT NOT NULL"),
            ("pages", "INT NOT NULL"),
            ("start_page", "INT NULL"),
            ("end_page", "INT NULL"),
            ("submitter", "NVARCHAR(100) NOT NULL"),
            ("received_at", "NVARCHAR(40) NOT NULL"),
        ),
        "item_id",
    ),
    (
        "jz_pages",
        (
            ("page_id", "NVARCHAR(16) NOT NULL"),
            ("item_id", "NVARCHAR(16) NOT NULL"),
            ("page_no", "INT NOT NULL"),
            ("volume_page_no", "INT NOT NULL"),
            ("side", "NVARCHAR(8) NOT NULL"),
            ("image_ref", "NVARCHAR(260) NOT NULL"),
            ("sha256", "CHAR(64) NOT NULL"),
        ),
        "page_id",
    ),
    (
        "jz_attachments",
        (
            ("item_id", "NVARCHAR(16) NOT NULL"),
            ("document_ref", "NVARCHAR(260) NOT NULL"),
            ("sha256", "CHAR(64) NOT NULL"),
            ("pages", "INT NOT NULL"),
        ),
        "item_id",
    ),
)
FOREIGN_KEYS = {
    "jz_volumes": ("case_number", "jz_cases", "case_number"),
    "jz_items": ("volume_id", "jz_volumes", "volume_id"),
    "jz_pages": ("item_id", "jz_items", "item_id"),
    "jz_attachments": ("item_id", "jz_items", "item_id"),
}


@dataclass
class SqlExport:
    out: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    script_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def export_sql(
    central: Central,
    dossiers: list[CaseDossier],
    out: Path,
    *,
    utf16: bool,
    bcp: bool,
    exported_at: str,
    actor: str,
    tick: Callable[[str], None] = lambda _: None,
) -> SqlExport:
    rows = collect_rows(central, dossiers, out, exported_at, actor, tick)
    report = SqlExport(str(out), {t: len(r) for t, r in rows.items()})
    script = render_script(rows)
    data = ("\ufeff" + script).encode("utf-16-le") if utf16 else script.encode("utf-8")
    write_durable(out / "index.sql", data, mode=0o600)
    report.script_sha256 = crypto.sha256_hex(data)
    if bcp:
        write_bcp(rows, out / "bcp")
    report.files = sum(1 for p in (out / "files").rglob("*") if p.is_file()) if (out / "files").is_dir() else 0
    return report


def collect_rows(
    central: Central, dossiers: list[CaseDossier], out: Path, exported_at: str, actor: str, tick: Callable[[str], None] = lambda _: None
) -> dict[str, list[tuple]]:
    """Rows per table, writing every referenced file under out/files/ on the way."""
    rows: dict[str, list[tuple]] = {t[0]: [] for t in TABLES}
    rows["jz_schema"].append((SCHEMA_VERSION, exported_at))
    for dossier in dossiers:
        folder = f"files/{case_folder(dossier, ascii_names=True)}"
        rows["jz_cases"].append((dossier.case_number, dossier.type_code, dossier.court))
        for volume in dossier.volumes:
            volume_id = f"{dossier.case_number}/{volume.volume}"
            rows["jz_volumes"].append((volume_id, dossier.case_number, volume.volume, volume.name, volume.page_count))
            for item in volume.items:
                masters = open_item(central, item, actor=actor, purpose="sql index", destination=str(out))
                first_last = item.page_range or (None, None)
                rows["jz_items"].append(
                    (
                        item.item_id,
                        volume_id,
                        item.order,
                        item.name,
                        item.catalog_dir,
                        item.catalog_order,
                        item.declared_pages,
                        len(item.pages),
                        first_last[0],
                        first_last[1],
                        item.submitter,
                        item.received_at,
                    )
                )
                for page, master in zip(item.pages, masters):
                    ref = f"{folder}/{item.item_id}/{page.page_no:04d}.{extension(master)}"
                    _put(out / ref, master)
                    rows["jz_pages"].append(
                        (page.page_id, item.item_id, page.page_no, page.volume_page_no, page.side, ref, page.source_sha256)
                    )
                if masters:
                    pdf = item_document(central, item, actor=actor, purpose="sql index", destination=str(out), masters=masters).pdf
                    ref = f"{folder}/{item.item_id}.pdf"
                    _put(out / ref, pdf)
                    rows["jz_attachments"].append((item.item_id, ref, crypto.sha256_hex(pdf), len(masters)))
                tick(item.name)
    return rows


def _put(path: Path, data: bytes) -> None:
    ensure_dir(path.parent)
    write_durable(path, data, mode=0o600)


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "N'" + str(value).replace("'", "''") + "'"


def render_script(rows: dict[str, list[tuple]]) -> str:
    lines = [
        f"-- 卷宗 Juanzong SQL Server index, schema version {SCHEMA_VERSION} (docs/sql-index.md)",
        "SET XACT_ABORT ON;",
        "SET NOCOUNT ON;",
        "BEGIN TRANSACTION;",
    ]
    for name, columns, key in TABLES:
        lines.append(_create(name, columns, key))
    for name, columns, _key in TABLES:
        col_list = ", ".join(c for c, _ in columns)
        table_rows = rows[name]
        for start in range(0, len(table_rows), BATCH_ROWS):
            values = ",\n  ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in table_rows[start : start + BATCH_ROWS])
            lines.append(f"INSERT INTO dbo.{name} ({col_list}) VALUES\n  {values};")
    lines.append("COMMIT TRANSACTION;")
    return "\n".join(lines) + "\n"


def _create(name: str, columns: tuple[tuple[str, str], ...], key: str) -> str:
    parts = [f"  {c} {t}" for c, t in columns]
    parts.append(f"  CONSTRAINT pk_{name} PRIMARY KEY ({key})")
    if name in FOREIGN_KEYS:
        col, parent, parent_col = FOREIGN_KEYS[name]
        parts.append(f"  CONSTRAINT fk_{name}_{parent} FOREIGN KEY ({col}) REFERENCES dbo.{parent} ({parent_col})")
    return f"CREATE TABLE dbo.{name} (\n" + ",\n".join(parts) + "\n);"


def write_bcp(rows: dict[str, list[tuple]], out: Path) -> None:
    """Tab-separated data (UTF-8, load with bcp -C 65001) and a non-XML format file per table."""
    ensure_dir(out)
    for name, columns, _key in TABLES:
        text = "".join("\t".join(_field(v) for v in row) + "\r\n" for row in rows[name])
        write_durable(out / f"{name}.tsv", text.encode("utf-8"), mode=0o600)
        write_durable(out / f"{name}.fmt", _format_file(columns).encode("ascii"))


def _field(value: Any) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _format_file(columns: tuple[tuple[str, str], ...]) -> str:
    lines = ["14.0", str(len(columns))]
    for n, (col, _type) in enumerate(columns, start=1):
        terminator = r'"\r\n"' if n == len(columns) else r'"\t"'
        lines.append(f'{n}       SQLCHAR       0       0       {terminator}   {n}     {col}     ""')
    return "\n".join(lines) + "\n"
