"""`edge keys rotate`: a new key-encryption key, every wrap rewritten, the old key destroyed.

Order, so that a crash at any point leaves a home that opens:

1. the new KEK is written beside the old one (`kek.key.new`, fsync'd);
2. ONE transaction rewrites every local wrap (each new wrap proved by opening its blob)
   and re-seals every value the vault keeps (personal data, signatures, receipt copies:
   their keys derive from the KEK), and appends the audit row naming both key ids;
3. the new key replaces `kek.key` (rename, directory fsync): the old key is gone.

A crash before 2 commits leaves the old key in force (the stray new file is removed); a
crash between 2 and 3 leaves the database on the new key, which the audit row names, so
`settle()` finishes the rename. Until then `load_keys` refuses to start (KEY_ROTATION_PENDING).
Blob files are not touched: the data keys stay, only their wraps change. Purged blobs have no
wrap and stay unopenable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import KEK_FILE, NEW_KEK_FILE, write_secret
from juanzong.edge.repo import blobs, vault_columns, write_tx
from juanzong.edge.vault import Purpose, Vault
from juanzong.shared import crypto
from juanzong.shared.audit import Action
from juanzong.shared.durable import commit_file, fsync_dir
from juanzong.shared.errors import AppError, ErrorCode

# (table, id column, sealed column, purpose): every value the vault keeps
VAULT_COLUMNS = (
    ("intake_details", "intake_id", "id_number", Purpose.ID_NUMBER),
    ("intake_details", "intake_id", "phone", Purpose.PHONE),
    ("pickups", "id", "id_number", Purpose.ID_NUMBER),
    ("signatures", "id", "sealed", Purpose.SIGNATURE),
    ("print_jobs", "id", "copy", Purpose.RECEIPT_COPY),
)


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    wraps: int
    vault_values: int

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def key_id(kek: bytes) -> str:
    """A name for a key in the audit trail (a hash of a random 256-bit key reveals nothing of it)."""
    return hashlib.sha256(b"juanzong/kek-id|" + kek).hexdigest()[:16]


def settle(db: Database, keys_dir: Path) -> str | None:
    """Finish or undo a rotation a crash interrupted; returns what was done."""
    new_path = keys_dir / NEW_KEK_FILE
    if not new_path.exists():
        return None
    new = new_path.read_bytes()
    last = _last_rotation(db)
    if last is not None and last.get("new_key") == key_id(new):
        commit_file(new_path, keys_dir / KEK_FILE)  # the database is already on the new key
        return "completed"
    new_path.unlink()
    fsync_dir(keys_dir)
    return "undone"


def _last_rotation(db: Database) -> dict | None:
    rotations = [r for r in audit.records(db) if r.action == Action.KEY_ROTATE]
    return rotations[-1].detail if rotations else None


def rotate_kek(db: Database, store: BlobStore, keys_dir: Path, appliance_id: str, actor: str) -> Rotation:
    settle(db, keys_dir)
    old = (keys_dir / KEK_FILE).read_bytes()
    new = crypto.new_kek()
    write_secret(keys_dir / NEW_KEK_FILE, new)
    fsync_dir(keys_dir)
    try:
        with write_tx(db):
            wraps = _rewrap_blobs(db, store, appliance_id, old, new)
            values = _reseal_vault(db, Vault(old), Vault(new))
            audit.record(
                db,
                place=appliance_id,
                actor=actor,
                action=Action.KEY_ROTATE,
                target="kek",
                old_key=key_id(old),
                new_key=key_id(new),
                wraps=wraps,
                vault_values=values,
            )
    except BaseException:
        (keys_dir / NEW_KEK_FILE).unlink(missing_ok=True)  # nothing changed: the old key stays
        raise
    commit_file(keys_dir / NEW_KEK_FILE, keys_dir / KEK_FILE)  # the old key is destroyed here
    return Rotation(key_id(old), key_id(new), wraps, values)


def _rewrap_blobs(db: Database, store: BlobStore, appliance_id: str, old: bytes, new: bytes) -> int:
    rows = blobs.locally_wrapped(db)
    for blob_id, kind, wrapped in rows:
        try:
            data = store.get(blob_id)
        except FileNotFoundError as exc:
            raise AppError(ErrorCode.KEY_MISSING, key=f"blob {blob_id}") from exc
        rewrapped = crypto.rewrap_local(data, wrapped, old_kek=old, new_kek=new, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
        blobs.set_wrapped_local(db, blob_id, rewrapped)
    return len(rows)


def _reseal_vault(db: Database, old: Vault, new: Vault) -> int:
    count = 0
    for table, id_col, col, purpose in VAULT_COLUMNS:
        rows = vault_columns.sealed_values(db, table, id_col, col)
        for row_id, sealed in rows:
            fresh = new.seal(purpose, row_id, old.open(purpose, row_id, sealed))
            vault_columns.replace_value(db, table, id_col, col, row_id, fresh)
        count += len(rows)
    return count
