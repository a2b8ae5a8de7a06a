"""Per-item ZIP packages for system attachment: ASCII member names, Chinese only inside the manifest.

ZIP readers mangle non-ASCII names (the UTF-8 flag is widely ignored), so every
member is named by ids and numbers; `manifest.json` inside carries the case
number, item name, catalog place and the hash of every member.

    <item_id>.zip: manifest.json, document.pdf, pages/0001.jpg …
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from juanzong.central.export.content import extension, item_document, open_item
from juanzong.central.export.dossier import files_digest
from juanzong.central.export.model import CaseDossier, ItemEntry, VolumeEntry
from juanzong.central.home import Central
from juanzong.shared import crypto
from juanzong.shared.durable import ensure_dir, write_durable

MANIFEST_SCHEMA = "juanzong-item-zip/1"


@dataclass
class ZipExport:
    out: str
    packages: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "count": len(self.packages),
            "packages": self.packages,
            "files_sha256": files_digest((p["file"], p["sha256"]) for p in self.packages),
        }


def export_zips(
    central: Central, dossiers: list[CaseDossier], out: Path, *, actor: str, tick: Callable[[str], None] = lambda _: None
) -> ZipExport:
    report = ZipExport(str(out))
    ensure_dir(out)
    for dossier in dossiers:
        for volume in dossier.volumes:
            for item in volume.items:
                path = out / f"{item.item_id}.zip"
                data = item_zip(central, dossier, volume, item, actor=actor, destination=str(path))
                write_durable(path, data, mode=0o600)
                report.packages.append({"file": path.name, "item_id": item.item_id, "sha256": crypto.sha256_hex(data)})
                tick(item.name)
    return report


def item_zip(central: Central, dossier: CaseDossier, volume: VolumeEntry, item: ItemEntry, *, actor: str, destination: str) -> bytes:
    masters = open_item(central, item, actor=actor, purpose="zip", destination=destination)
    members: dict[str, bytes] = {}
    if masters:
        # the appliance's searchable document when central holds it, else assembled from the masters
        members["document.pdf"] = item_document(central, item, actor=actor, purpose="zip", destination=destination, masters=masters).pdf
    for page, master in zip(item.pages, masters):
        members[f"pages/{page.page_no:04d}.{extension(master)}"] = master
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "case_number": dossier.case_number,
        "item_id": item.item_id,
        "name": item.name,
        "volume": volume.volume,
        "volume_name": volume.name,
        "catalog_dir": item.catalog_dir,
        "order": item.order,
        "declared_pages": item.declared_pages,
        "pages": len(item.pages),
        "members": {name: crypto.sha256_hex(data) for name, data in members.items()},
        "page_list": [
            {"member": f"pages/{p.page_no:04d}.{extension(m)}", "page_id": p.page_id, "page_no": p.page_no, "side": p.side}
            for p, m in zip(item.pages, masters)
        ],
    }
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:  # scans are compressed already
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()
