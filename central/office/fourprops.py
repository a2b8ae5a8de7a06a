"""Four-property check (四性检测, DA/T 70-2018) of one received batch, as a stored report.

Each finding carries the standard's item code (YJ = 移交与接收; ZS 真实性, WZ 完整性,
KY 可用性, AQ 安全性) and says which record or file it concerns:

- 真实性: the appliance's signature over the manifest and central's over the
  receipt (YJ-ZS-1-1); every field's format and allowed values (YJ-ZS-2-3);
  every blob re-hashed against the manifest (content authenticity, YJ-ZS-3-1).
- 完整性: pages and bytes stored against the manifest (YJ-WZ-1-1); no gap or
  repeat in the items' page numbers (YJ-WZ-2-2); every page row has its content
  (YJ-WZ-3-1).
- 可用性: every page decrypts and decodes (YJ-KY-2-1); each item's PDF passes
  `qpdf --check` (YJ-KY-2-2); formats recorded.
- 安全性: ClamAV over the decrypted content, streamed to `clamscan -` so
  nothing decrypted is written (YJ-AQ-1-1); no stray objects in the store that
  no manifest names (YJ-AQ-2-1).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from juanzong.central import audit, db, storage
from juanzong.central.export.content import extension, item_pdf
from juanzong.central.home import Central
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.pages import decrypt_page
from juanzong.central.repository import PageRef
from juanzong.shared import crypto
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, is_valid_id, new_id
from juanzong.shared.manifest import open_document

PROPERTIES = {"ZS": "真实性", "WZ": "完整性", "KY": "可用性", "AQ": "安全性"}


@dataclass
class Finding:
    code: str
    title: str
    passed: bool | None  # None: could not be checked (e.g. no virus signatures)
    detail: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def prop(self) -> str:
        return PROPERTIES[self.code.split("-")[1]]


@dataclass
class CheckRun:
    batch_id: str
    findings: list[Finding] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "passed": self.passed,
            "formats": dict(self.formats),
            "findings": [asdict(f) | {"property": f.prop} for f in self.findings],
        }


def run_check(
    central: Central, office_repo: OfficeRepository, batch_id: str, *, actor: str, now: datetime, clamav_db: str | None = None
) -> str:
    batch = central.repo.batch(batch_id)
    if batch is None:
        raise AppError(ErrorCode.BATCH_NOT_FOUND, batch_id=batch_id)
    run = CheckRun(batch_id)
    doc = _authenticity(central, batch, run)
    plains = _integrity_and_usability(central, batch_id, doc, run)
    _security(central, plains, run, clamav_db)
    check_id = new_id(Kind.BATCH)
    office_repo.add_check(
        {
            "check_id": check_id,
            "batch_id": batch_id,
            "run_by": actor,
            "run_at": now.isoformat(),
            "passed": run.passed,
            "result": json.dumps(run.to_dict(), ensure_ascii=False),
        }
    )
    audit.record(
        central.repo.engine,
        actor=actor,
        action=Action.FOUR_PROPERTY_CHECK,
        target=batch_id,
        outcome=Outcome.OK if run.passed else Outcome.FAILED,
        check_id=check_id,
        key_use="hpke",
        failed=[f.code for f in run.findings if not f.passed],
    )
    return check_id


def _authenticity(central: Central, batch: Any, run: CheckRun) -> dict[str, Any]:
    appliance = central.repo.appliance(batch.appliance_id)
    try:
        if appliance is None:  # a batch's appliance is enrolled (foreign key); were it gone, no key to check with
            raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=batch.appliance_id)
        doc = open_document(batch.manifest, crypto.load_verify_key(crypto.unb64(appliance.signing_public)))
        signed_ok = batch.receipt is not None and crypto.verify(
            central.keys.signing.public_key(), batch.receipt.body, batch.receipt.signature
        )
        run.findings.append(
            Finding(
                "YJ-ZS-1-1",
                "固化信息有效性（清单签名、中心回执签名）",
                signed_ok,
                "扫描设备签名与中心回执签名均有效" if signed_ok else "中心回执签名缺失或无效",
            )
        )
    except AppError:
        doc = json.loads(batch.manifest.body)
        run.findings.append(Finding("YJ-ZS-1-1", "固化信息有效性（清单签名、中心回执签名）", False, "扫描设备对清单的签名无效"))
    problems = _field_problems(doc)
    run.findings.append(
        Finding(
            "YJ-ZS-2-3",
            "元数据值域符合度（编号格式、取值范围）",
            not problems,
            f"检查 {len(doc.get('pages', []))} 个页面记录",
            problems[:50],
        )
    )
    return doc


def _field_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for page in doc.get("pages", []):
        pid = page.get("page_id", "?")
        if not is_valid_id(str(pid), Kind.PAGE):
            problems.append(f"页面编号格式不正确：{pid}")
        if page.get("side") not in ("recto", "verso"):
            problems.append(f"{pid}：正反面取值 {page.get('side')!r} 不在允许值内")
        if page.get("page_no") is not None and (not isinstance(page["page_no"], int) or page["page_no"] < 1):
            problems.append(f"{pid}：页号 {page.get('page_no')!r} 无效")
        dpi = page.get("dpi")
        if dpi is not None and (not isinstance(dpi, int) or not 50 <= dpi <= 2400):
            problems.append(f"{pid}：分辨率 {dpi!r} 不合理")
    for item in doc.get("items", []):
        if not is_valid_id(str(item.get("item_id", "")), Kind.ITEM):
            problems.append(f"材料编号格式不正确：{item.get('item_id')}")
        if item.get("volume") not in ("main", "internal"):
            problems.append(f"{item.get('item_id')}：卷别 {item.get('volume')!r} 不在允许值内")
    return problems


def _integrity_and_usability(central: Central, batch_id: str, doc: dict[str, Any], run: CheckRun) -> list[tuple[str, bytes]]:
    refs = _page_refs(central, batch_id)
    declared = {p["page_id"]: p for p in doc.get("pages", [])}
    missing_rows = sorted(set(declared) - {r.page_id for r in refs})
    stored_bytes, bad_hash, plains = 0, [], []
    unreadable: list[str] = []
    for ref in refs:
        try:
            data = storage.get(central.store, ref.blob_sha256)
        except KeyError:
            bad_hash.append(f"{ref.page_id}：数据块缺失")
            continue
        stored_bytes += len(data)
        if crypto.sha256_hex(data) != ref.blob_sha256:
            bad_hash.append(f"{ref.page_id}：数据块哈希不符")
            continue
        plain = _decoded(central, ref, data, unreadable, run)
        if plain is not None:
            plains.append((ref.page_id, plain))
    manifest_bytes = sum(p["blob"]["size"] for p in declared.values())
    run.findings.append(Finding("YJ-ZS-3-1", "内容真实性（数据块哈希）", not bad_hash, f"复核 {len(refs)} 个数据块", bad_hash))
    counts_ok = not missing_rows and stored_bytes == manifest_bytes
    run.findings.append(
        Finding(
            "YJ-WZ-1-1",
            "数据总量（页数、字节数与清单一致）",
            counts_ok,
            f"清单 {len(declared)} 页 {manifest_bytes} 字节，中心 {len(refs)} 页 {stored_bytes} 字节",
            [f"清单中的页面 {p} 没有记录" for p in missing_rows],
        )
    )
    gaps = _numbering_problems(central, doc)
    run.findings.append(Finding("YJ-WZ-2-2", "连续编号无断号、重号（页号）", not gaps, "按材料逐一核对页号", gaps))
    run.findings.append(
        Finding("YJ-WZ-3-1", "内容完整性（每条记录都有内容）", not missing_rows and not bad_hash, "每个页面记录都能找到其数据块")
    )
    run.findings.append(Finding("YJ-KY-2-1", "内容可用性（解密并解码每一页）", not unreadable, f"格式：{dict(run.formats)}", unreadable))
    run.findings.append(_pdf_check(plains, doc))
    return plains


def _page_refs(central: Central, batch_id: str) -> list[PageRef]:
    p = db.pages
    with central.repo.engine.connect() as conn:
        ids = list(conn.execute(select(p.c.page_id).where(p.c.batch_id == batch_id).order_by(p.c.item_id, p.c.page_no)).scalars())
    return [ref for ref in (central.repo.page(i) for i in ids) if ref is not None]


def _decoded(central: Central, ref: PageRef, data: bytes, unreadable: list[str], run: CheckRun) -> bytes | None:
    try:
        plain = decrypt_page(central, ref, data)
        with Image.open(io.BytesIO(plain)) as img:
            img.load()
        run.formats[extension(plain)] += 1
        return plain
    except AppError:
        unreadable.append(f"{ref.page_id}：无法解密")
    except Exception:  # Pillow raises many types for a damaged image
        unreadable.append(f"{ref.page_id}：图像无法解码")
    return None


def _numbering_problems(central: Central, doc: dict[str, Any]) -> list[str]:
    p = db.pages
    problems = []
    item_ids = {i["item_id"] for i in doc.get("items", [])} | {x["item_id"] for x in doc.get("pages", []) if x.get("item_id")}
    with central.repo.engine.connect() as conn:
        for item_id in sorted(item_ids):
            numbers = sorted(n for n in conn.execute(select(p.c.page_no).where(p.c.item_id == item_id, p.c.page_no.is_not(None))).scalars())
            if numbers != list(range(1, len(numbers) + 1)):
                problems.append(f"{item_id}：页号为 {numbers[:20]}，应为 1 至 {len(numbers)} 连续")
    return problems


def _pdf_check(plains: list[tuple[str, bytes]], doc: dict[str, Any]) -> Finding:
    title = "格式合规（每件材料的 PDF 通过 qpdf --check）"
    if not shutil.which("qpdf"):
        return Finding("YJ-KY-2-2", title, None, "本机未安装 qpdf，无法检查")
    by_item: dict[str, list[bytes]] = {}
    owner = {p["page_id"]: p.get("item_id") for p in doc.get("pages", [])}
    for page_id, plain in plains:
        if owner.get(page_id):
            by_item.setdefault(owner[page_id], []).append(plain)
    problems = []
    for item_id, masters in sorted(by_item.items()):
        if not _qpdf_ok(item_pdf(masters)):
            problems.append(f"{item_id}：qpdf 检查未通过")
    return Finding("YJ-KY-2-2", title, not problems, f"检查 {len(by_item)} 件材料的 PDF", problems)


def _qpdf_ok(pdf: bytes) -> bool:
    """`qpdf --check` on a PDF held in memory: qpdf reads no stdin, so it gets an anonymous
    in-memory file (memfd) by its /proc path; the decrypted content never touches a disk."""
    fd = os.memfd_create("juanzong-check", os.MFD_CLOEXEC)
    try:
        os.write(fd, pdf)
        os.set_inheritable(fd, True)
        result = subprocess.run(["qpdf", "--check", f"/proc/self/fd/{fd}"], pass_fds=(fd,), capture_output=True, timeout=120)
    finally:
        os.close(fd)
    return result.returncode in (0, 3)  # 3 = warnings only


def _security(central: Central, plains: list[tuple[str, bytes]], run: CheckRun, clamav_db: str | None) -> None:
    run.findings.append(_virus_scan(plains, clamav_db))
    referenced = _referenced_blobs(central)
    stray = [name for name in central.store.names() if name not in referenced]
    run.findings.append(
        Finding("YJ-AQ-2-1", "载体安全（存储中没有清单之外的文件）", not stray, f"存储中 {len(stray)} 个数据块不属于任何清单", stray[:50])
    )


def _virus_scan(plains: list[tuple[str, bytes]], clamav_db: str | None) -> Finding:
    title = "病毒检测（ClamAV，解密内容只在内存中经管道送检）"
    if not shutil.which("clamscan"):
        return Finding("YJ-AQ-1-1", title, None, "本机未安装 ClamAV，无法检测")
    database = clamav_db or "/var/lib/clamav"
    if not Path(database).exists() or (Path(database).is_dir() and not any(Path(database).iterdir())):
        return Finding("YJ-AQ-1-1", title, None, f"没有病毒库（{database}），请导入病毒库后重新检测")
    # one scan of the whole batch as a tar stream (the signature database loads once); only when
    # it finds something is each page scanned alone, to name it
    infected = [page_id for page_id, plain in plains if _infected(plain, database)] if _infected(_tar(plains), database) else []
    return Finding("YJ-AQ-1-1", title, not infected, f"检测 {len(plains)} 个页面", [f"{p}：发现恶意代码特征" for p in infected])


def _infected(data: bytes, database: str) -> bool:
    result = subprocess.run(["clamscan", "--no-summary", "--stdout", "-d", database, "-"], input=data, capture_output=True, timeout=300)
    if result.returncode == 2:
        raise AppError(ErrorCode.OFFICE_INTERNAL)
    return result.returncode == 1


def _tar(plains: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for page_id, plain in plains:
            info = tarfile.TarInfo(f"{page_id}.{extension(plain)}")
            info.size = len(plain)
            tar.addfile(info, io.BytesIO(plain))
    return buf.getvalue()


def _referenced_blobs(central: Central) -> set[str]:
    with central.repo.engine.connect() as conn:
        return set(conn.execute(select(db.pages.c.blob_sha256)).scalars())
