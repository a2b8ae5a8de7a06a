"""The case-system dossier tree: per case, 正卷 and 副卷, directories in catalog order, one PDF per item.

    <case>/正卷/01-起诉状/01-起诉状.pdf        (with --ascii: <case>/main/d01/i01-M1234ABCD5.pdf)
    <case>/index.json                        case, directory, item, pages, hashes (Chinese names always here)
    <case>/index.xml                         the same, for case systems that import XML (--xml)

Each item's PDF is the searchable (stamped, OCR) document the appliance synced,
byte for byte; only an item without one is assembled from its page masters, and
its index entry says so (`pdf_source`, `note`).

File names are cleaned of path separators and control characters; with
`--ascii` every folder and file name is ASCII and the index carries the Chinese.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from juanzong.central.export.content import ItemDocument, item_document
from juanzong.central.export.model import CaseDossier, ItemEntry, VolumeEntry
from juanzong.central.home import Central
from juanzong.shared import crypto
from juanzong.shared.durable import ensure_dir, write_durable

INDEX_SCHEMA = "juanzong-dossier-index/1"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_NAME = 80
UNSCANNED_NOTE = "待扫描：尚无已扫描的页面，索引中列出，无文件"


@dataclass
class TreeReport:
    out: str
    cases: int = 0
    items: int = 0
    pages: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)  # path, sha256, bytes
    assembled: list[dict[str, str]] = field(default_factory=list)  # items without the appliance's document: id, note
    unscanned: list[str] = field(default_factory=list)  # items declared but not scanned yet: in the index, no file

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "cases": self.cases,
            "items": self.items,
            "pages": self.pages,
            "files": len(self.files),
            "files_sha256": files_digest((f["path"], f["sha256"]) for f in self.files),
            "stored_documents": self.items - len(self.assembled) - len(self.unscanned),
            "assembled": self.assembled,
            "unscanned": self.unscanned,
        }


def files_digest(files: Iterable[tuple[str, str]]) -> str:
    """One hash over every written file's path and SHA-256 (sorted): what the audit row records, and what
    anyone can recompute from the export folder (`sha256sum`-style lines, two spaces, LF)."""
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(files))
    return crypto.sha256_hex(lines.encode("utf-8"))


def safe_name(text: str) -> str:
    cleaned = _UNSAFE.sub("_", text).strip(" .") or "_"
    return cleaned[:_MAX_NAME]


def case_folder(dossier: CaseDossier, ascii_names: bool) -> str:
    if not ascii_names:
        return safe_name(dossier.case_number)
    digest = hashlib.sha256(dossier.case_number.encode("utf-8")).hexdigest()[:10]
    return f"case-{digest}"


def item_path(volume: VolumeEntry, item: ItemEntry, ascii_names: bool) -> str:
    if ascii_names:
        return f"{volume.volume}/d{item.catalog_order:03d}/i{item.order:03d}-{item.item_id}.pdf"
    return f"{volume.name}/{item.catalog_order:02d}-{safe_name(item.catalog_dir)}/{item.order:02d}-{safe_name(item.name)}.pdf"


def export_tree(
    central: Central,
    dossiers: list[CaseDossier],
    out: Path,
    *,
    ascii_names: bool,
    xml: bool,
    actor: str,
    tick: Callable[[str], None] = lambda _: None,
) -> TreeReport:
    report = TreeReport(str(out))
    for dossier in dossiers:
        root = out / case_folder(dossier, ascii_names)
        index = _case_index(central, dossier, root, ascii_names, actor, report, tick)
        _write(root / "index.json", json.dumps(index, ensure_ascii=False, indent=2).encode("utf-8"), root, report)
        if xml:
            _write(root / "index.xml", index_xml(index), root, report)
        report.cases += 1
    return report


def _case_index(
    central: Central, dossier: CaseDossier, root: Path, ascii_names: bool, actor: str, report: TreeReport, tick: Callable[[str], None]
) -> dict[str, Any]:
    volumes = []
    for volume in dossier.volumes:
        items = []
        for item in volume.items:
            report.items += 1
            tick(item.name)
            if not item.pages:  # declared at the counter, nothing scanned yet (待扫描): listed, no file
                items.append(_item_index(item, None, None))
                report.unscanned.append(item.item_id)
                continue
            rel = item_path(volume, item, ascii_names)
            doc = item_document(central, item, actor=actor, purpose="dossier", destination=str(root / rel))
            _write(root / rel, doc.pdf, root, report)
            items.append(_item_index(item, rel, doc))
            if not doc.stored:
                report.assembled.append({"item_id": item.item_id, "note": doc.note})
            report.pages += len(item.pages)
        volumes.append({"volume": volume.volume, "name": volume.name, "pages": volume.page_count, "items": items})
    return {
        "schema": INDEX_SCHEMA,
        "case_number": dossier.case_number,
        "type_code": dossier.type_code,
        "court": dossier.court,
        "volumes": volumes,
    }


def _item_index(item: ItemEntry, rel: str | None, doc: ItemDocument | None) -> dict[str, Any]:
    first_last = item.page_range
    return {
        "item_id": item.item_id,
        "order": item.order,
        "name": item.name,
        "catalog_dir": item.catalog_dir,
        "catalog_order": item.catalog_order,
        "declared_pages": item.declared_pages,
        "pages": len(item.pages),
        "start_page": first_last[0] if first_last else None,
        "end_page": first_last[1] if first_last else None,
        "file": rel,
        "file_sha256": crypto.sha256_hex(doc.pdf) if doc else None,
        **(doc.to_index() if doc else {"pdf_source": None, "note": UNSCANNED_NOTE}),
        "submitter": item.submitter,
        "received_at": item.received_at,
        "page_list": [
            {"page_id": p.page_id, "page_no": p.page_no, "volume_page_no": p.volume_page_no, "side": p.side, "sha256": p.source_sha256}
            for p in item.pages
        ],
    }


def index_xml(index: dict[str, Any]) -> bytes:
    case = ET.Element("dossier", schema=INDEX_SCHEMA, case_number=index["case_number"], type_code=index["type_code"], court=index["court"])
    for volume in index["volumes"]:
        v = ET.SubElement(case, "volume", volume=volume["volume"], name=volume["name"], pages=str(volume["pages"]))
        for item in volume["items"]:
            attrs = {
                k: str(item[k]) for k in ("item_id", "order", "name", "catalog_dir", "pages", "file", "file_sha256") if item[k] is not None
            }
            attrs |= {k: str(item[k]) for k in ("start_page", "end_page") if item[k] is not None}
            i = ET.SubElement(v, "item", attrs)
            for page in item["page_list"]:
                ET.SubElement(i, "page", {k: str(page[k]) for k in page})
    return ET.tostring(case, encoding="utf-8", xml_declaration=True)


def _write(path: Path, data: bytes, root: Path, report: TreeReport) -> None:
    ensure_dir(path.parent)
    write_durable(path, data, mode=0o600)  # readable content: owner only, where the archive office chose
    report.files.append({"path": str(path.relative_to(root.parent)), "sha256": crypto.sha256_hex(data), "bytes": len(data)})
