"""Removable media at central: register a medium for one appliance, import what it carries.

An import runs every batch through the same receive path as the network
(`ReceiveService`: signature, ownership, hashes, sequence, replay), so a medium
can never do what a connection could not. Checks before that are the medium's:
central's own registration, for this appliance, not expired or revoked; the
appliance's signed table of contents; each listed file matching its hash. A
damaged or tampered batch fails alone; the others are stored. Central's signed
receipts go back onto the medium for `edge media receipts`.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from juanzong.central import audit
from juanzong.central.home import Central
from juanzong.central.receive.services import ReceiveService
from juanzong.shared import crypto
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.durable import ensure_dir, write_durable
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id, require_id
from juanzong.shared.manifest import Signed, open_document, peek_appliance_id, sign_document
from juanzong.shared.media import MediumLayout, Registration, TocBatch, manifest_info, read_signed, signed_bytes, toc_batches

log = logging.getLogger("juanzong.central.media")
MAX_LABEL = 64


@dataclass
class ImportReport:
    medium_id: str
    appliance_id: str
    new: list[str] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)  # batch → the hashes its table entry names

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def register(central: Central, appliance_id: str, label: str, *, days: int, actor: str, now: datetime) -> Signed:
    """A signed registration for `appliance_id`, recorded and audited."""
    appliance_id = require_id(appliance_id, Kind.APPLIANCE)
    if central.repo.appliance(appliance_id) is None:
        raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=appliance_id)
    label = label.strip()
    if not label or len(label) > MAX_LABEL:
        raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail=f"介质标签须为 1 至 {MAX_LABEL} 个字符")
    if not 1 <= days <= 3660:
        raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail="有效期须为 1 至 3660 天")
    issued = now.astimezone(UTC)
    reg = Registration(
        new_id(Kind.MEDIUM),
        appliance_id,
        label,
        issued.isoformat(timespec="seconds"),
        (issued + timedelta(days=days)).isoformat(timespec="seconds"),
        central.central_id,
    )
    signed = sign_document(reg.to_doc(), central.keys.signing)
    central.repo.add_medium(reg.medium_id, appliance_id, label, reg.issued_at, reg.valid_until, signed, actor)
    return signed


def import_medium(central: Central, root: Path, *, actor: str, now: datetime) -> ImportReport:
    try:
        reg, toc, toc_bytes = _open(central, root, now)
    except AppError as err:
        audit.record(
            central.repo.engine,
            actor=actor,
            action=Action.MEDIA_IMPORT,
            target=str(root),
            outcome=Outcome.REFUSED,
            code=str(err.code),
            detail=err.message,
        )
        raise
    layout = MediumLayout(root, reg.appliance_id)
    report = ImportReport(reg.medium_id, reg.appliance_id)
    receiver = ReceiveService(central)
    for entry in toc:
        _import_batch(central, receiver, layout, entry, report)
    central.repo.add_media_import(
        {
            "medium_id": reg.medium_id,
            "appliance_id": reg.appliance_id,
            "imported_at": now.astimezone(UTC).isoformat(),
            "toc_sha256": crypto.sha256_hex(toc_bytes),
            "new_batches": len(report.new),
            "replayed_batches": len(report.replayed),
            "refused_batches": len(report.refused),
            "detail": json.dumps(report.to_dict(), ensure_ascii=False),
        },
        actor,
        batches=report.hashes,
    )
    return report


def _open(central: Central, root: Path, now: datetime) -> tuple[Registration, list[TocBatch], bytes]:
    """The medium's registration (ours, known, valid) and its table of contents (the appliance's)."""
    reg = _registration(central, root, now)
    layout = MediumLayout(root, reg.appliance_id)
    appliance = central.repo.appliance(reg.appliance_id)
    if appliance is None:
        raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=reg.appliance_id)
    signed_toc = read_signed(layout.toc, ErrorCode.MEDIA_TOC_INVALID)
    try:
        doc = open_document(signed_toc, crypto.load_verify_key(crypto.unb64(appliance.signing_public)))
    except AppError as exc:
        raise AppError(ErrorCode.MEDIA_TOC_INVALID, detail="目录签名不是登记设备的") from exc
    if doc.get("appliance_id") != reg.appliance_id or doc.get("medium_id") != reg.medium_id:
        raise AppError(ErrorCode.MEDIA_TOC_INVALID, detail="目录与介质登记不符")
    return reg, toc_batches(doc), signed_bytes(signed_toc)


def _registration(central: Central, root: Path, now: datetime) -> Registration:
    try:
        on_medium = json.loads(MediumLayout(root, "").registration.read_text("utf-8"))
        signed = Signed.from_wire(on_medium["registration"])
        reg = Registration.from_doc(open_document(signed, central.keys.signing.public_key()))
    except FileNotFoundError as exc:
        raise AppError(ErrorCode.MEDIA_PATH_INVALID, path=str(root), detail="介质上没有登记文件") from exc
    except (OSError, ValueError, KeyError, TypeError, AppError) as exc:
        raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail="登记文件损坏或不是本中心签发") from exc
    known = central.repo.medium(reg.medium_id)
    if known is None:
        raise AppError(ErrorCode.MEDIA_UNKNOWN, medium_id=reg.medium_id)
    if known["appliance_id"] != reg.appliance_id:
        raise AppError(ErrorCode.MEDIA_WRONG_APPLIANCE, medium_id=reg.medium_id, owner=known["appliance_id"], appliance_id=reg.appliance_id)
    if known["revoked_at"]:
        raise AppError(ErrorCode.MEDIA_REVOKED, medium_id=reg.medium_id)
    if reg.expired(now):
        raise AppError(ErrorCode.MEDIA_EXPIRED, medium_id=reg.medium_id, valid_until=reg.valid_until)
    return reg


def _import_batch(central: Central, receiver: ReceiveService, layout: MediumLayout, entry: TocBatch, report: ImportReport) -> None:
    report.hashes[entry.batch_id] = {"manifest_sha256": entry.manifest_sha256, "manifest_file_sha256": entry.manifest_file_sha256}
    try:
        signed, blobs = _read_batch(central, layout, entry)
        for sha, data in blobs:
            receiver.put_blob(layout.appliance_id, sha, io.BytesIO(data), len(data))
        receipt = receiver.receive_manifest(signed)
    except AppError as err:
        log.warning("medium batch %s refused: %s", entry.batch_id, err.code)
        report.refused.append({"batch_id": entry.batch_id, "code": str(err.code), "message": err.message})
        return
    _write_receipt(layout, entry.batch_id, receipt.signed)
    (report.new if receipt.created else report.replayed).append(entry.batch_id)


def _read_batch(central: Central, layout: MediumLayout, entry: TocBatch) -> tuple[Signed, list[tuple[str, bytes]]]:
    """The batch's signed manifest and blobs, every file checked before anything is stored."""
    sealed = _read_checked(layout.sealed_manifest(entry.batch_id), entry.manifest_file_sha256, entry.batch_id)
    plain = _open_sealed_any(central, sealed, manifest_info(layout.appliance_id, entry.batch_id))
    signed = Signed.from_wire(json.loads(plain))
    if signed.sha256 != entry.manifest_sha256 or peek_appliance_id(signed) != layout.appliance_id:
        raise AppError(ErrorCode.MEDIA_BATCH_DAMAGED, batch_id=entry.batch_id, detail="批次清单与目录不符")
    blobs = [(sha, _read_checked(layout.blob(sha), sha, entry.batch_id)) for sha, _ in entry.blobs]
    return signed, blobs


def _open_sealed_any(central: Central, sealed: bytes, info: bytes) -> bytes:
    """The current HPKE key first, then the retired ones (an appliance not yet given the new identity)."""
    *earlier, last = central.keys.hpke_all
    for key in earlier:
        try:
            return crypto.open_sealed(sealed, key, info)
        except AppError:
            continue
    return crypto.open_sealed(sealed, last, info)


def _read_checked(path: Path, sha256: str, batch_id: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AppError(ErrorCode.MEDIA_BATCH_DAMAGED, batch_id=batch_id, detail=f"缺少文件 {path.name}") from exc
    if crypto.sha256_hex(data) != sha256:
        raise AppError(ErrorCode.MEDIA_BATCH_DAMAGED, batch_id=batch_id, detail=f"文件 {path.name} 内容与目录不符")
    return data


def _write_receipt(layout: MediumLayout, batch_id: str, receipt: Signed) -> None:
    try:
        ensure_dir(layout.receipts)
        write_durable(layout.receipt(batch_id), signed_bytes(receipt))
    except OSError as exc:
        raise AppError(ErrorCode.MEDIA_WRITE_FAILED, detail=f"回执写回失败：{exc.strerror}") from exc


def registration_file_bytes(signed: Signed) -> bytes:
    return json.dumps(signed.to_wire(), ensure_ascii=False, indent=2).encode("utf-8")
