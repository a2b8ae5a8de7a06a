"""Carrying sealed batches to central on registered removable media (air-gapped points).

Three operator commands, each audited with the operator and the medium:

- `init`: a medium central registered for THIS appliance is prepared: the
  signed registration is written at its root and the filesystem UUID recorded,
  so a copy of the registration file on another stick is refused.
- `export`: every sealed, unacknowledged batch is written (blobs as stored,
  manifest sealed to central), read back from the device, and only then
  listed in the signed table of contents. An interrupted export leaves nothing
  central accepts; the next export resumes and skips files already correct.
- `receipts`: central's signed receipts written back at import mark batches
  acknowledged, exactly as the network receipt does (`edge.sync.client`).

The layout and the documents are `shared/media.py`.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.batches import seal
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.crashpoints import crash_point
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.lockdown.inputs import AdmittedMedium
from juanzong.edge.repo import batches as batch_rows
from juanzong.edge.repo import media as media_rows
from juanzong.edge.repo import write_tx
from juanzong.edge.sync.client import acknowledge, receipt_problem
from juanzong.edge.sync.payload import blob_refs
from juanzong.shared import crypto
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.durable import ensure_dir, write_durable
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Signed, open_document, sign_document
from juanzong.shared.media import (
    MediumLayout,
    Registration,
    TocBatch,
    manifest_info,
    read_signed,
    signed_bytes,
    toc_batches,
    toc_doc,
)

LISTED_BATCHES = 20  # the screens list this many waiting batches (the count covers all)
_ERRNO_ZH = {
    errno.ENOSPC: "介质空间不足",
    errno.EIO: "介质读写错误",
    errno.ENOENT: "介质已拔出或路径不存在",
    errno.ENODEV: "介质已拔出",
    errno.EROFS: "介质为只读",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
}


@dataclass(frozen=True)
class Medium:
    """A medium checked for this appliance: its registration and where its files go."""

    registration: Registration
    layout: MediumLayout
    fs_uuid: str | None


@dataclass
class ExportReport:
    medium_id: str
    batches: list[str] = field(default_factory=list)
    blobs_written: int = 0
    blobs_reused: int = 0
    bytes_written: int = 0
    toc_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"batch_count": len(self.batches)}


@dataclass
class ReceiptsReport:
    medium_id: str = ""
    acknowledged: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)  # batch → manifest and receipt sha256

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextmanager
def _audited(db: Database, appliance_id: str, actor: str, action: Action, target: str) -> Iterator[None]:
    """A refused or failed media command is on record too (the code and the Chinese message)."""
    try:
        yield
    except AppError as err:
        refused = err.code not in (ErrorCode.MEDIA_WRITE_FAILED, ErrorCode.MEDIA_VERIFY_FAILED, ErrorCode.STORE_VERIFY_FAILED)
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=action,
            target=target,
            outcome=Outcome.REFUSED if refused else Outcome.FAILED,
            code=str(err.code),
            detail=err.message,
        )
        raise


# --- init ---------------------------------------------------------------------------------


def init_medium(
    db: Database, appliance_id: str, keys: ApplianceKeys, registration_file: Path, device: Path, *, actor: str, now: datetime
) -> Medium:
    """Check central's registration and prepare the mounted medium at `device`."""
    with _audited(db, appliance_id, actor, Action.MEDIA_INIT, str(device)):
        return _init_medium(db, appliance_id, keys, registration_file, device, actor=actor, now=now)


def _init_medium(
    db: Database, appliance_id: str, keys: ApplianceKeys, registration_file: Path, device: Path, *, actor: str, now: datetime
) -> Medium:
    reg = _verified_registration(read_signed(registration_file, ErrorCode.MEDIA_REGISTRATION_INVALID), keys)
    _check_owner_and_time(reg, appliance_id, now)
    _require_writable_dir(device)
    medium = Medium(reg, MediumLayout(device, appliance_id), filesystem_uuid(device))
    signed = read_signed(registration_file, ErrorCode.MEDIA_REGISTRATION_INVALID)
    on_medium = {"registration": signed.to_wire(), "fs_uuid": medium.fs_uuid, "initialised_at": now.isoformat()}
    _write(medium.layout.registration, json.dumps(on_medium, ensure_ascii=False, indent=2).encode("utf-8"))
    with write_tx(db):
        media_rows.upsert_initialised(
            db,
            medium_id=reg.medium_id,
            label=reg.label,
            registration=signed.body.decode("utf-8"),
            fs_uuid=medium.fs_uuid,
            valid_until=reg.valid_until,
            initialised_at=now.isoformat(),
        )
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.MEDIA_INIT,
            target=reg.medium_id,
            label=reg.label,
            fs_uuid=medium.fs_uuid or "",
            device=str(device),
        )
    return medium


def open_medium(db: Database, appliance_id: str, keys: ApplianceKeys, device: Path, now: datetime) -> Medium:
    """The medium at `device`, if it is one this appliance prepared and may still write."""
    layout = MediumLayout(device, appliance_id)
    try:
        on_medium = json.loads(layout.registration.read_text("utf-8"))
        signed = Signed.from_wire(on_medium["registration"])
    except FileNotFoundError as exc:
        raise AppError(ErrorCode.MEDIA_NOT_REGISTERED, path=str(device), detail="介质上没有登记文件，请先执行 edge media init") from exc
    except (OSError, ValueError, KeyError, TypeError, AppError) as exc:
        raise AppError(ErrorCode.MEDIA_NOT_REGISTERED, path=str(device), detail="登记文件已损坏") from exc
    reg = _verified_registration(signed, keys)
    _check_owner_and_time(reg, appliance_id, now)
    row = media_rows.fs_uuid(db, reg.medium_id)
    if row is None:
        raise AppError(ErrorCode.MEDIA_NOT_REGISTERED, path=str(device), detail=f"本设备没有初始化过介质 {reg.medium_id}")
    actual = filesystem_uuid(device)
    if row[0] and actual != row[0]:
        raise AppError(ErrorCode.MEDIA_DEVICE_MISMATCH, medium_id=reg.medium_id, expected=row[0], actual=actual or "无")
    return Medium(reg, layout, actual)


def _verified_registration(signed: Signed, keys: ApplianceKeys) -> Registration:
    try:
        doc = open_document(signed, keys.central.signing_public)
    except AppError as exc:
        raise AppError(ErrorCode.MEDIA_REGISTRATION_INVALID, detail="不是本院中心签发的登记（签名不符）") from exc
    return Registration.from_doc(doc)


def _check_owner_and_time(reg: Registration, appliance_id: str, now: datetime) -> None:
    if reg.appliance_id != appliance_id:
        raise AppError(ErrorCode.MEDIA_WRONG_APPLIANCE, medium_id=reg.medium_id, owner=reg.appliance_id, appliance_id=appliance_id)
    if reg.expired(now):
        raise AppError(ErrorCode.MEDIA_EXPIRED, medium_id=reg.medium_id, valid_until=reg.valid_until)


def filesystem_uuid(path: Path) -> str | None:
    """UUID of the filesystem mounted at or above `path` (None for a plain directory on tmpfs etc.)."""
    try:
        out = subprocess.run(["findmnt", "-n", "-o", "UUID", "--target", str(path)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    uuid = out.stdout.strip()
    return uuid or None


def admitted_media(db: Database, now: datetime) -> tuple[AdmittedMedium, ...]:
    """Media the udev rules admit: prepared here (so registered for this appliance, checked at init),
    still valid at `now`, with a filesystem UUID (a plain directory has none: nothing to admit)."""
    return tuple(
        AdmittedMedium(medium_id, uuid, until)
        for medium_id, uuid, until in media_rows.validity(db)
        if uuid and datetime.fromisoformat(until) > now
    )


# --- export -------------------------------------------------------------------------------


def export(
    db: Database, appliance_id: str, keys: ApplianceKeys, store: BlobStore, device: Path, *, actor: str, now: datetime
) -> ExportReport:
    with _audited(db, appliance_id, actor, Action.MEDIA_EXPORT, str(device)):
        return _export(db, appliance_id, keys, store, device, actor=actor, now=now)


def _export(
    db: Database, appliance_id: str, keys: ApplianceKeys, store: BlobStore, device: Path, *, actor: str, now: datetime
) -> ExportReport:
    medium = open_medium(db, appliance_id, keys, device, now)
    seal(db, appliance_id, keys)  # what was scanned up to now travels on this carry
    layout = medium.layout
    report = ExportReport(medium.registration.medium_id)
    previous = _previous_toc(layout, keys)
    entries = [_write_batch(layout, store, keys, b, previous, report) for b in _pending(db)]
    toc = sign_document(toc_doc(appliance_id, report.medium_id, now.isoformat(), entries), keys.signing)
    _write(layout.toc, signed_bytes(toc))
    _read_back(layout, entries, signed_bytes(toc))
    report.batches = [e.batch_id for e in entries]
    report.toc_sha256 = crypto.sha256_hex(signed_bytes(toc))
    with write_tx(db):
        media_rows.mark_exported(db, report.medium_id, now.isoformat(), len(entries), max((e.seq for e in entries), default=None))
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.MEDIA_EXPORT,
            target=report.medium_id,
            batches=report.batches,
            toc_sha256=report.toc_sha256,
            blobs_written=report.blobs_written,
            bytes_written=report.bytes_written,
            device=str(device),
            fs_uuid=medium.fs_uuid or "",
            manifests={e.batch_id: e.manifest_sha256 for e in entries},
            sealed_manifests={e.batch_id: e.manifest_file_sha256 for e in entries},
        )
    return report


def _pending(db: Database) -> list[dict[str, Any]]:
    return batch_rows.sealed(db)


def _previous_toc(layout: MediumLayout, keys: ApplianceKeys) -> dict[str, TocBatch]:
    """Entries of an earlier complete export, so a resumed export keeps files already right."""
    try:
        doc = open_document(read_signed(layout.toc, ErrorCode.MEDIA_TOC_INVALID), keys.signing.public_key())
        return {b.batch_id: b for b in toc_batches(doc)}
    except AppError:
        return {}


def _write_batch(
    layout: MediumLayout, store: BlobStore, keys: ApplianceKeys, batch: dict[str, Any], previous: dict[str, TocBatch], report: ExportReport
) -> TocBatch:
    manifest = json.loads(batch["manifest"])
    blobs = []
    for ref in blob_refs(manifest):
        if _has(layout.blob(ref.sha256), ref.sha256):
            report.blobs_reused += 1
        else:
            data = store.get(ref.blob_id)
            if crypto.sha256_hex(data) != ref.sha256:  # local corruption: never carry it
                raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=ref.blob_id)
            _write(layout.blob(ref.sha256), data)
            report.blobs_written += 1
            report.bytes_written += len(data)
            crash_point("media_blob")
        blobs.append((ref.sha256, ref.size))
    return TocBatch(
        batch["id"], batch["seq"], _sealed_manifest(layout, keys, batch, previous.get(batch["id"])), batch["manifest_sha256"], tuple(blobs)
    )


def _sealed_manifest(layout: MediumLayout, keys: ApplianceKeys, batch: dict[str, Any], earlier: TocBatch | None) -> str:
    path = layout.sealed_manifest(batch["id"])
    if earlier is not None and _has(path, earlier.manifest_file_sha256):
        return earlier.manifest_file_sha256  # sealing is randomised: keep the file a complete export listed
    signed = Signed(batch["manifest"].encode("utf-8"), batch["signature"])
    sealed = crypto.seal_to(signed_bytes(signed), keys.central.hpke_public, manifest_info(layout.appliance_id, batch["id"]))
    _write(path, sealed)
    return crypto.sha256_hex(sealed)


def _has(path: Path, sha256: str) -> bool:
    try:
        return crypto.sha256_hex(path.read_bytes()) == sha256
    except OSError:
        return False


def _read_back(layout: MediumLayout, entries: list[TocBatch], toc_bytes: bytes) -> None:
    """Read every listed file from the device again (page cache dropped) and compare."""
    expected = [(layout.toc, crypto.sha256_hex(toc_bytes))]
    for entry in entries:
        expected.append((layout.sealed_manifest(entry.batch_id), entry.manifest_file_sha256))
        expected.extend((layout.blob(sha), sha) for sha, _ in entry.blobs)
    for path, sha in expected:
        if crypto.sha256_hex(_read_uncached(path)) != sha:
            raise AppError(ErrorCode.MEDIA_VERIFY_FAILED, file=str(path.relative_to(layout.root)))


def _read_uncached(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise AppError(ErrorCode.MEDIA_VERIFY_FAILED, file=path.name) from exc
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    try:
        ensure_dir(path.parent)
        write_durable(path, data)
    except OSError as exc:
        raise AppError(ErrorCode.MEDIA_WRITE_FAILED, detail=_ERRNO_ZH.get(exc.errno or 0, f"系统错误号 {exc.errno}")) from exc


def _require_writable_dir(device: Path) -> None:
    if not device.is_dir():
        raise AppError(ErrorCode.MEDIA_PATH_INVALID, path=str(device), detail="不是已挂载的目录")
    if not os.access(device, os.W_OK):
        raise AppError(ErrorCode.MEDIA_PATH_INVALID, path=str(device), detail="没有写入权限")


# --- receipts back ------------------------------------------------------------------------


def take_receipts(db: Database, appliance_id: str, keys: ApplianceKeys, device: Path, *, actor: str, now: datetime) -> ReceiptsReport:
    """Mark batches acknowledged from central's receipts on the medium; anything else is reported."""
    layout = MediumLayout(device, appliance_id)
    report = ReceiptsReport(medium_id=_medium_id(layout, keys))
    with _audited(db, appliance_id, actor, Action.MEDIA_RECEIPTS, report.medium_id or str(device)):
        if not device.is_dir():
            raise AppError(ErrorCode.MEDIA_PATH_INVALID, path=str(device), detail="不是已挂载的目录")
        files = sorted(layout.receipts.glob("*.json")) if layout.receipts.is_dir() else []
        for path in files:
            _take_one(db, appliance_id, keys, path, report)
    audit.record(
        db,
        place=appliance_id,
        actor=actor,
        action=Action.MEDIA_RECEIPTS,
        target=report.medium_id or str(device),
        device=str(device),
        acknowledged=report.acknowledged,
        already=report.already,
        receipts=report.hashes,
        ignored=report.ignored,
        at=now.isoformat(),
    )
    return report


def _medium_id(layout: MediumLayout, keys: ApplianceKeys) -> str:
    """The medium's id from central's registration on it ("" when there is none or it is not central's)."""
    try:
        on_medium = json.loads(layout.registration.read_text("utf-8"))
        return _verified_registration(Signed.from_wire(on_medium["registration"]), keys).medium_id
    except (OSError, ValueError, KeyError, TypeError, AppError):
        return ""


def _take_one(db: Database, appliance_id: str, keys: ApplianceKeys, path: Path, report: ReceiptsReport) -> None:
    batch_id = path.stem
    row = batch_rows.receipt_check(db, batch_id)
    if row is None:
        report.ignored.append({"file": path.name, "reason": "本设备没有这个批次"})
        return
    try:
        receipt = read_signed(path, ErrorCode.SYNC_RECEIPT_INVALID)
    except AppError as err:
        report.ignored.append({"file": path.name, "reason": err.message})
        return
    problem = receipt_problem(receipt, keys, {"id": row[0], "manifest_sha256": row[2]})
    if problem:
        report.ignored.append({"file": path.name, "reason": problem})
        return
    report.hashes[batch_id] = {"manifest_sha256": row[2], "receipt_sha256": receipt.sha256}
    if row[1] == batch_rows.BatchState.ACKNOWLEDGED:
        report.already.append(batch_id)
    else:
        acknowledge(
            db,
            appliance_id,
            row[0],
            receipt,
            via="media",
            medium_id=report.medium_id,
            manifest_sha256=row[2],
            receipt_sha256=receipt.sha256,
        )
        report.acknowledged.append(batch_id)


def carry_status(db: Database, now: datetime) -> dict[str, Any]:
    """Batches waiting to be carried and the last carry, for `edge status` and the screens.

    A batch stays waiting until central's receipt comes back; `on_medium` says the last export wrote
    it (every export writes every sealed batch, so all up to the highest sequence it wrote)."""
    waiting = batch_rows.waiting(db)
    last = media_rows.last_export(db)
    media = sum(1 for _, _, until in media_rows.validity(db) if datetime.fromisoformat(until) > now)
    last_seq = last[4] if last and last[4] is not None else 0
    batches = [
        {"id": b["id"], "seq": b["seq"], "pages": b["pages"], "sealed_at": b["sealed_at"], "on_medium": b["seq"] <= last_seq}
        for b in batch_rows.sealed_overview(db)
    ]
    return {
        "waiting_batches": waiting[0],
        "oldest_waiting_since": waiting[1],
        "registered_media": media,
        "on_medium_batches": sum(b["on_medium"] for b in batches),
        "batches": batches[:LISTED_BATCHES],
        "last_export": None if last is None else {"medium_id": last[0], "label": last[1], "at": last[2], "batches": last[3]},
    }
