"""The appliance database encrypted at rest: SQLCipher 4 through sqlcipher3, key in keys/.

Case numbers, names, ID and phone numbers may not rest in plaintext on the appliance. The
whole database file — and its write-ahead log — is encrypted by SQLCipher (AES-256 pages,
HMAC-SHA512 per page; the `sqlcipher3` wheel bundles SQLCipher 4 and its own SQLite). Its
256-bit raw key is `db.key` in the keys directory, never beside `data/`: a copied `data/`
opens with nothing.

Which keys directory belongs to a database file is registered when settings are loaded
(`register`); a database that predates encryption is converted on first open
(`sqlcipher_export` into a new file, fsync, rename), so an appliance upgrades in place.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlcipher

from juanzong.shared.durable import commit_file, write_durable
from juanzong.shared.errors import AppError, ErrorCode

DB_KEY_FILE = "db.key"
_PLAINTEXT_HEADER = b"SQLite format 3\x00"
_KEYS_DIRS: dict[Path, Path] = {}


def register(db_path: Path, keys_dir: Path) -> None:
    """Remember which keys directory holds the key of this database file."""
    _KEYS_DIRS[Path(db_path).resolve()] = Path(keys_dir)


def _keys_dir(db_path: Path) -> Path:
    found = _KEYS_DIRS.get(db_path.resolve())
    if found is not None:
        return found
    home = db_path.resolve().parent.parent  # the default layout: <home>/data/edge.db, <home>/keys
    if (home / "config.toml").exists():
        from juanzong.edge.config import load_settings

        return load_settings(home).keys_dir
    raise AppError(ErrorCode.KEY_MISSING, key=f"{db_path} 的数据库密钥（未知的密钥目录）")


def database_key(db_path: Path) -> bytes:
    """The key of this database, made on first use (0600 in the 0700 keys directory)."""
    keys_dir = _keys_dir(db_path)
    path = keys_dir / DB_KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = os.urandom(32)
    try:
        write_durable(path, key, 0o600, exclusive=True)  # whole or absent after a power cut
    except FileExistsError:
        return path.read_bytes()  # another process made it first: that key is the key
    return key


def _keyed(conn: sqlcipher.Connection, key: bytes, schema: str = "main") -> None:
    conn.execute(f"PRAGMA {schema}.key = \"x'{key.hex()}'\"")


def connect(path: Path, timeout: float = 30.0, check_same_thread: bool = True) -> sqlcipher.Connection:
    """An open, keyed connection (the key is the first statement, as SQLCipher requires)."""
    path = Path(path)
    key = database_key(path)
    if _is_plaintext(path):
        _encrypt_in_place(path, key)
    conn = sqlcipher.connect(str(path), isolation_level=None, timeout=timeout, check_same_thread=check_same_thread)
    _keyed(conn, key)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher.DatabaseError as exc:
        conn.close()
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=f"数据库 {path.name}") from exc
    return conn


def _is_plaintext(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == _PLAINTEXT_HEADER
    except FileNotFoundError:
        return False


def _encrypt_in_place(path: Path, key: bytes) -> None:
    """A database written before encryption: exported into an encrypted copy that replaces it."""
    tmp = path.with_name(path.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    plain = sqlcipher.connect(str(path), isolation_level=None)
    try:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"", [str(tmp)])
        plain.execute("SELECT sqlcipher_export('encrypted')")
        version = plain.execute("PRAGMA user_version").fetchone()[0]
        plain.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        plain.execute("DETACH DATABASE encrypted")
    finally:
        plain.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    commit_file(tmp, path)
