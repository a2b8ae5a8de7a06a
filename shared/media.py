"""Removable media for air-gapped scanning points: what both sides agree on.

A medium carries sealed batches from one appliance to central and central's
signed receipts back. Its layout (the root is the mounted path)::

    JUANZONG-MEDIUM.json                 the registration central signed, written at `edge media init`
    juanzong/<appliance>/blobs/<sha256>  ciphertext blobs, byte for byte as the appliance stores them
    juanzong/<appliance>/batches/<batch>.jzm   the signed manifest, HPKE-sealed to central
    juanzong/<appliance>/toc.json        signed table of contents, written LAST
    juanzong/<appliance>/receipts/<batch>.json central's signed receipts, written at import

Nothing on a medium is readable without central's private key: blobs are
already sealed, manifests (case numbers, names) are sealed here, and the table
of contents names only ids and hashes. The table of contents is written after
every file it lists has been written and read back, so a medium pulled out in
the middle of an export holds nothing central accepts as complete: a batch is
imported only when the signed contents list it and every file matches its hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, is_valid_id
from juanzong.shared.manifest import Signed

MEDIA_SCHEMA = 1
REGISTRATION_FILE = "JUANZONG-MEDIUM.json"
TOC_FILE = "toc.json"
SEALED_MANIFEST_SUFFIX = ".jzm"


def manifest_info(appliance_id: str, batch_id: str) -> bytes:
    """HPKE `info` for a sealed manifest: a file moved to another batch's name fails to open."""
    return f"juanzong/medium-manifest/v1|{appliance_id}|{batch_id}".encode()


@dataclass(frozen=True)
class MediumLayout:
    """Where one appliance's files live on a mounted medium."""

    root: Path
    appliance_id: str

    @property
    def registration(self) -> Path:
        return self.root / REGISTRATION_FILE

    @property
    def base(self) -> Path:
        return self.root / "juanzong" / self.appliance_id

    @property
    def blobs(self) -> Path:
        return self.base / "blobs"

    @property
    def batches(self) -> Path:
        return self.base / "batches"

    @property
    def receipts(self) -> Path:
        return self.base / "receipts"

    @property
    def toc(self) -> Path:
        return self.base / TOC_FILE

    def blob(self, sha256: str) -> Path:
        return self.blobs / sha256

    def sealed_manifest(self, batch_id: str) -> Path:
        return self.batches / f"{batch_id}{SEALED_MANIFEST_SUFFIX}"

    def receipt(self, batch_id: str) -> Path:
        return self.receipts / f"{batch_id}.json"


@dataclass(frozen=True)
class Registration:
    """A medium central allowed one appliance to write, for a limited time."""

    medium_id: str
    appliance_id: str
    label: str
    issued_at: str
    valid_until: str
    central_id: str

    def to_doc(self) -> dict[str, Any]:
        return {
            "schema": MEDIA_SCHEMA,
            "kind": "media_registration",
            "medium_id": self.medium_id,
            "appliance_id": self.appliance_id,
            "label": self.label,
            "issued_at": self.issued_at,
            "valid_until": self.valid_until,
            "central_id": self.central_id,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Registration:
        if doc.get("kind") != "media_registration" or doc.get("schema") != MEDIA_SCHEMA:
            raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail="不是介质登记文件")
        try:
            reg = cls(**{k: doc[k] for k in ("medium_id", "appliance_id", "label", "issued_at", "valid_until", "central_id")})
        except KeyError as exc:
            raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail=f"缺少字段 {exc.args[0]}") from exc
        if not is_valid_id(reg.medium_id, Kind.MEDIUM) or not is_valid_id(reg.appliance_id, Kind.APPLIANCE):
            raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail="介质或设备编号格式不正确")
        return reg

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.valid_until)


@dataclass(frozen=True)
class TocBatch:
    """One batch on the medium: its sealed manifest file and the blobs it needs."""

    batch_id: str
    seq: int
    manifest_file_sha256: str  # of the sealed .jzm file
    manifest_sha256: str  # of the signed manifest body inside it (what receipts name)
    blobs: tuple[tuple[str, int], ...]  # (sha256, size)

    def to_doc(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "seq": self.seq,
            "manifest_file_sha256": self.manifest_file_sha256,
            "manifest_sha256": self.manifest_sha256,
            "blobs": [[s, n] for s, n in self.blobs],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TocBatch:
        blobs = tuple((str(s), int(n)) for s, n in doc["blobs"])
        if not is_valid_id(doc["batch_id"], Kind.BATCH) or any(not _is_sha256(s) for s, _ in blobs):
            raise ValueError("bad id or hash in table of contents")
        return cls(doc["batch_id"], int(doc["seq"]), doc["manifest_file_sha256"], doc["manifest_sha256"], blobs)


def toc_doc(appliance_id: str, medium_id: str, written_at: str, batches: list[TocBatch]) -> dict[str, Any]:
    return {
        "schema": MEDIA_SCHEMA,
        "kind": "media_toc",
        "appliance_id": appliance_id,
        "medium_id": medium_id,
        "written_at": written_at,
        "batches": [b.to_doc() for b in batches],
    }


def toc_batches(doc: dict[str, Any]) -> list[TocBatch]:
    if doc.get("kind") != "media_toc" or doc.get("schema") != MEDIA_SCHEMA:
        raise AppError(ErrorCode.MEDIA_TOC_INVALID, detail="不是介质目录文件")
    try:
        return [TocBatch.from_doc(b) for b in doc["batches"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise AppError(ErrorCode.MEDIA_TOC_INVALID, detail="目录条目格式不正确") from exc


def read_signed(path: Path, error: ErrorCode) -> Signed:
    """A `{body, signature}` file, or `error` with a reason a person can act on."""
    try:
        return Signed.from_wire(json.loads(path.read_text("utf-8")))
    except FileNotFoundError as exc:
        raise AppError(error, detail=f"缺少文件 {path.name}") from exc
    except (OSError, UnicodeDecodeError, ValueError, AppError) as exc:
        raise AppError(error, detail=f"文件 {path.name} 无法读取或已损坏") from exc


def signed_bytes(signed: Signed) -> bytes:
    return json.dumps(signed.to_wire(), ensure_ascii=False).encode("utf-8")


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
