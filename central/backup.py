"""Offline backups that prove themselves: N BagIt copies, each read back and verified.

A backup copy is one BagIt bag (RFC 8493, written by bagit-python, SHA-256)::

    data/blobs/<sha256>          every stored blob, still encrypted (as central holds it)
    data/manifests/<batch>.json  every signed manifest and central's signed receipt, verbatim
    data/database/<table>.jsonl  every row of every table (portable: restores into SQLite or PostgreSQL)
    data/keys.sealed             central's key files, HPKE-sealed to the backup recovery key
    data/config.toml             the settings of the central that was backed up
    data/central-identity.json   its public identity (what appliances were given)

The recovery key's private half never rests on central: `central backup keygen`
writes it for the archive office to keep offline (a sealed envelope, a safe);
central keeps only the public half (`backup-recovery.pub` in its home). So a
stolen backup disk opens nothing, and a central lost with its keys can still be
restored. Nothing decrypted is written: blobs stay sealed to central's key.

`verify_bag` is our own checker: bagit-python's validator can only say
"Payload-Oxum validation failed" without naming the file (a known, unfixed
bug), and a person restoring from a damaged disk needs the names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, LargeBinary, insert, select, text

from juanzong.central import audit, db
from juanzong.central.home import Central
from juanzong.shared import crypto
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.durable import ensure_dir, fsync_tree, write_durable
from juanzong.shared.errors import AppError, ErrorCode

RECOVERY_PUBLIC_FILE = "backup-recovery.pub"
KEYS_INFO = b"juanzong/backup-keys/v1"
BAG_PREFIX = "juanzong-backup"
_CHUNK = 1 << 20
Progress = Callable[[int, int, str], None]  # done, total steps, what is being done (the office's progress bar)


def _quiet(_done: int, _total: int, _stage: str) -> None:
    """No progress wanted (the command line)."""


@dataclass
class BagCheck:
    """What `verify_bag` found in one bag: every problem by file name."""

    path: str
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # bag-level: no manifest, bad tag files
    files: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra or self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


@dataclass
class BackupReport:
    copies: list[BagCheck]
    blobs: int
    rows: int
    tagmanifest_sha256: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.copies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "blobs": self.blobs,
            "rows": self.rows,
            "tagmanifest_sha256": self.tagmanifest_sha256,
            "copies": [c.to_dict() for c in self.copies],
        }


# --- recovery key ---------------------------------------------------------------------------


def keygen(private_out: Path, home: Path | None) -> str:
    """A new recovery key pair: the private half to `private_out`, the public half into the home."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.generate()
    public = crypto.public_bytes(key.public_key())
    pub_path = (home / RECOVERY_PUBLIC_FILE) if home else private_out.with_suffix(".pub")
    for path in (private_out, pub_path):  # a key file is never replaced, nor anything else a path points at
        if path.exists() or path.is_symlink():
            raise AppError(ErrorCode.BACKUP_FAILED, detail=f"{path} 已存在，不覆盖（更换恢复密钥须先移走旧文件）")
    _write_new(private_out, crypto.b64(crypto.private_bytes(key)).encode("ascii") + b"\n", 0o600)
    _write_new(pub_path, crypto.b64(public).encode("ascii") + b"\n", 0o644)
    return fingerprint(public)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        write_durable(path, data, mode, exclusive=True)
    except OSError as exc:
        raise AppError(ErrorCode.BACKUP_FAILED, detail=f"无法写入 {path}（{exc.strerror}）") from exc


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def load_recovery_public(path: Path) -> bytes:
    try:
        raw = crypto.unb64(path.read_text("ascii").strip())
        crypto.load_hpke_public(raw)
        return raw
    except FileNotFoundError as exc:
        raise AppError(ErrorCode.BACKUP_RECOVERY_KEY_MISSING, path=str(path)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError(ErrorCode.BACKUP_RECOVERY_KEY_INVALID, path=str(path)) from exc


def load_recovery_private(path: Path) -> Any:
    try:
        return crypto.load_hpke_private(crypto.unb64(path.read_text("ascii").strip()))
    except FileNotFoundError as exc:
        raise AppError(ErrorCode.BACKUP_RECOVERY_KEY_MISSING, path=str(path)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError(ErrorCode.BACKUP_RECOVERY_KEY_INVALID, path=str(path)) from exc


# --- writing --------------------------------------------------------------------------------


def backup(
    central: Central, to: Path, copies: int | None, recovery_public: bytes, *, actor: str, now: datetime, progress: Progress = _quiet
) -> BackupReport:
    """`copies` copies (None = the archive's `backup_copies_required`); fewer than that setting is refused."""
    copies = check_copies(central, copies, actor=actor, to=to)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    targets = [to / f"{BAG_PREFIX}-{stamp}-copy{n}" for n in range(1, copies + 1)]
    for target in targets:
        if target.exists():
            raise AppError(ErrorCode.BACKUP_FAILED, detail=f"{target} 已存在，不覆盖已有备份")
    steps = 2 * copies  # write the first copy, copy it to the others, read every copy back
    try:
        blobs, rows = _write_bag(
            central, targets[0], recovery_public, now, copies, lambda n: progress(0, steps, f"第 1 份：正在写入数据块（已 {n} 个）")
        )
        progress(1, steps, "第 1 份已写入")
        for n, target in enumerate(targets[1:], start=2):
            progress(n - 1, steps, f"正在复制第 {n} 份")
            _copy_tree(targets[0], target)
    except OSError as exc:
        raise AppError(ErrorCode.BACKUP_FAILED, detail=f"写入失败：{exc.strerror}（{exc.filename}）") from exc
    checks = []
    for n, target in enumerate(targets, start=1):
        progress(copies + n - 1, steps, f"正在回读校验第 {n} 份")
        checks.append(verify_bag(target))
    progress(steps, steps, "回读校验完成")
    tag_sha = _sha256_file(targets[0] / "tagmanifest-sha256.txt")
    report = BackupReport(checks, blobs, rows, tag_sha)
    audit.record(
        central.repo.engine,
        actor=actor,
        action=Action.BACKUP,
        target=str(to),
        outcome=Outcome.OK if report.ok else Outcome.FAILED,
        copies=[str(t) for t in targets],
        blobs=blobs,
        rows=rows,
        tagmanifest_sha256=tag_sha,
        recovery_key=fingerprint(recovery_public),
    )
    return report


def check_copies(central: Central, copies: int | None, *, actor: str, to: Path) -> int:
    """The number of copies to write: the setting's when none is asked; fewer than it is refused (audited)."""
    required = central.settings.backup_copies_required
    copies = required if copies is None else copies
    if copies < required:
        audit.record(
            central.repo.engine,
            actor=actor,
            action=Action.BACKUP,
            target=str(to),
            outcome=Outcome.REFUSED,
            code=str(ErrorCode.BACKUP_COPIES_TOO_FEW),
            copies=copies,
            required=required,
        )
        raise AppError(ErrorCode.BACKUP_COPIES_TOO_FEW, copies=copies, required=required)
    return copies


def _write_bag(
    central: Central, bag: Path, recovery_public: bytes, now: datetime, copies: int, on_blobs: Callable[[int], None] = lambda _: None
) -> tuple[int, int]:
    import bagit

    ensure_dir(bag)
    blobs = _copy_blobs(central, bag / "blobs", on_blobs)
    _write_manifests(central.repo.engine, bag / "manifests")
    rows = dump_database(central.repo.engine, bag / "database")
    sealed = seal_keys(central.settings.keys_dir, recovery_public)
    write_durable(bag / "keys.sealed", sealed, mode=0o600)
    shutil.copyfile(central.settings.home / "config.toml", bag / "config.toml")
    shutil.copyfile(central.settings.identity_path, bag / "central-identity.json")
    info = {
        "Source-Organization": "卷宗 central",
        "Bagging-Date": now.date().isoformat(),
        "External-Description": "卷宗中心离线备份（数据块保持加密，密钥以恢复密钥封装）",
        "Juanzong-Central-Id": central.central_id,
        "Juanzong-Recovery-Key": fingerprint(recovery_public),
        "Juanzong-Copies": str(copies),
        "Juanzong-Backed-Up-At": now.isoformat(),
    }
    bagit.make_bag(str(bag), info, processes=1, checksums=["sha256"])
    fsync_tree(bag)
    return blobs, rows


def _copy_blobs(central: Central, out: Path, on_blobs: Callable[[int], None] = lambda _: None) -> int:
    """Stream every blob into the bag, hashing on the way (a 150 TB store never sits in memory)."""
    ensure_dir(out)
    count = 0
    for sha in central.store.names():
        digest = hashlib.sha256()
        with (out / sha).open("wb") as f:
            for chunk in central.store.read(sha):
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != sha:  # never carry a damaged blob into a backup silently
            raise AppError(ErrorCode.BACKUP_FAILED, detail=f"数据块 {sha} 与其哈希不符，请先运行 central verify")
        count += 1
        if count % 100 == 0:
            on_blobs(count)
    on_blobs(count)
    return count


def _write_manifests(engine: Engine, out: Path) -> None:
    ensure_dir(out)
    t = db.batches
    with engine.connect() as conn:
        for r in conn.execute(select(t.c.batch_id, t.c.manifest, t.c.signature, t.c.receipt, t.c.receipt_signature)):
            doc = {
                "manifest": {"body": r.manifest.decode("utf-8"), "signature": r.signature},
                "receipt": None if r.receipt is None else {"body": r.receipt.decode("utf-8"), "signature": r.receipt_signature},
            }
            (out / f"{r.batch_id}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target)
    fsync_tree(target)


# --- database rows, portable ----------------------------------------------------------------


def dump_database(engine: Engine, out: Path) -> int:
    """Every row of every table as JSON lines; binary columns base64 with a marker."""
    ensure_dir(out)
    rows = 0
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            binary = {c.name for c in table.columns if isinstance(c.type, LargeBinary)}
            with (out / f"{table.name}.jsonl").open("w", encoding="utf-8") as f:
                for r in conn.execute(select(table)):
                    row = {
                        k: ({"$b64": base64.b64encode(v).decode("ascii")} if k in binary and v is not None else v)
                        for k, v in r._mapping.items()
                    }
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    rows += 1
    return rows


def load_database(engine: Engine, source: Path) -> int:
    rows = 0
    with engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            path = source / f"{table.name}.jsonl"
            if not path.exists():
                continue
            batch = [_decode_row(json.loads(line)) for line in path.read_text("utf-8").splitlines() if line]
            for start in range(0, len(batch), 500):
                conn.execute(insert(table), batch[start : start + 500])
            rows += len(batch)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn)
    return rows


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: base64.b64decode(v["$b64"]) if isinstance(v, dict) and "$b64" in v else v for k, v in row.items()}


def _reset_sequences(conn: Any) -> None:
    for table in db.metadata.sorted_tables:
        for col in table.columns:
            if col.autoincrement is True and col.primary_key:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                        f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )


# --- keys -------------------------------------------------------------------------------------


def seal_keys(keys_dir: Path, recovery_public: bytes) -> bytes:
    files = {p.name: crypto.b64(p.read_bytes()) for p in sorted(keys_dir.iterdir()) if p.is_file()}
    plain = json.dumps(files, sort_keys=True).encode("utf-8")
    return crypto.seal_to(plain, crypto.load_hpke_public(recovery_public), KEYS_INFO)


def open_keys(sealed: bytes, recovery_private: Any) -> dict[str, bytes]:
    try:
        plain = crypto.open_sealed(sealed, recovery_private, KEYS_INFO)
    except AppError as exc:
        raise AppError(ErrorCode.BACKUP_RECOVERY_KEY_INVALID, path="（与备份不匹配的恢复密钥）") from exc
    return {name: crypto.unb64(value) for name, value in json.loads(plain).items()}


# --- verifying --------------------------------------------------------------------------------


def verify_bag(bag: Path) -> BagCheck:
    """Every missing, changed and extra payload file by name, plus damaged tag files."""
    check = BagCheck(str(bag))
    manifest = bag / "manifest-sha256.txt"
    if not (bag / "bagit.txt").is_file() or not manifest.is_file():
        check.problems.append("不是 BagIt 备份（缺少 bagit.txt 或 manifest-sha256.txt）")
        return check
    expected = _read_manifest(manifest, check)
    _check_tags(bag, check)
    present = {p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()} if (bag / "data").is_dir() else set()
    check.files = len(expected)
    for name in sorted(expected):
        if name not in present:
            check.missing.append(name)
        elif _sha256_file(bag / name) != expected[name]:
            check.changed.append(name)
    check.extra = sorted(present - set(expected))
    return check


def verify_copies(central: Central, copies: list[Path], *, actor: str, of: int | None = None) -> list[BagCheck]:
    """Read an earlier backup's copies back again (a disk may have rotted since); audited with each copy's state.
    `of` is the audit seq of the backup they belong to, so the office shows the newest state beside it."""
    checks = [verify_bag(c) for c in copies]
    ok = all(c.ok for c in checks)
    audit.record(
        central.repo.engine,
        actor=actor,
        action=Action.BACKUP,
        target=str(copies[0].parent) if copies else "",
        outcome=Outcome.OK if ok else Outcome.FAILED,
        check="verify",
        of=of,
        copies=[str(c) for c in copies],
        failed=[c.path for c in checks if not c.ok],
        problems=sum(len(c.missing) + len(c.changed) + len(c.extra) + len(c.problems) for c in checks),
    )
    return checks


def _read_manifest(path: Path, check: BagCheck) -> dict[str, str]:
    out = {}
    for line in path.read_text("utf-8").splitlines():
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")
        if not digest or not name:
            continue
        out[name] = digest.lower()
    if not out and check is not None:
        check.problems.append("manifest-sha256.txt 为空")
    return out


def _check_tags(bag: Path, check: BagCheck) -> None:
    tagmanifest = bag / "tagmanifest-sha256.txt"
    if not tagmanifest.is_file():
        check.problems.append("缺少 tagmanifest-sha256.txt")
        return
    for name, digest in _read_manifest(tagmanifest, check).items():
        path = bag / name
        if not path.is_file():
            check.problems.append(f"标签文件缺失：{name}")
        elif _sha256_file(path) != digest:
            check.problems.append(f"标签文件被改动：{name}")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def bags_under(path: Path) -> list[Path]:
    """`path` itself when it is a bag, else the bags directly inside it."""
    if (path / "bagit.txt").is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "bagit.txt").is_file()) if path.is_dir() else []


# --- restoring --------------------------------------------------------------------------------


def restore(bag: Path, recovery_key: Path, home: Path) -> dict[str, Any]:
    """A new central home from one verified copy: config, keys, database rows, blobs."""
    from juanzong.central.config import load_settings
    from juanzong.central.db import open_engine
    from juanzong.central.home import init_store, open_central
    from juanzong.central.storage import open_store

    check = verify_bag(bag)
    if not check.ok:
        raise AppError(
            ErrorCode.BACKUP_DAMAGED, path=str(bag), count=len(check.missing) + len(check.changed) + len(check.extra) + len(check.problems)
        )
    if home.exists() and any(home.iterdir()):
        raise AppError(ErrorCode.HOME_EXISTS, home=str(home))
    keys = open_keys((bag / "data" / "keys.sealed").read_bytes(), load_recovery_private(recovery_key))
    ensure_dir(home)
    write_durable(home / "config.toml", (bag / "data" / "config.toml").read_bytes())
    write_durable(home / "central-identity.json", (bag / "data" / "central-identity.json").read_bytes())
    settings = load_settings(home)
    ensure_dir(settings.keys_dir, mode=0o700)
    for name, raw in keys.items():
        write_durable(settings.keys_dir / name, raw, mode=0o600)
    ensure_dir(settings.data_dir, mode=0o700)
    init_store(settings)
    engine = open_engine(settings.database_url)  # schema by the migrations, then the rows
    try:
        rows = load_database(engine, bag / "data" / "database")
    finally:
        engine.dispose()
    store = open_store(settings)
    blobs = 0
    for path in sorted((bag / "data" / "blobs").iterdir()):
        with path.open("rb") as f:
            store.put_stream(path.name, f, path.stat().st_size)
        blobs += 1
    central = open_central(settings)
    try:
        audit.record(central.repo.engine, actor="archive office", action=Action.RESTORE, target=str(bag), rows=rows, blobs=blobs)
    finally:
        central.close()
    return {"home": str(home), "rows": rows, "blobs": blobs, "central_id": central.central_id}
