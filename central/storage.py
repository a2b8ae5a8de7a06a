"""The blob store: encrypted pages, named by the SHA-256 of their ciphertext.

Content addressing makes every upload idempotent: a retried PUT names the same
file, and a name can only ever hold the bytes that hash to it (restic: "the
SHA256 hash of the content is used for a file's name"). Central never sees a
plaintext here; it opens a page only when asked (verify, export).

`BlobStore` is the seam for S3-compatible storage later; `LocalBlobStore`
keeps `blobs/ab/abcdef…` on a local disk with durable writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from juanzong.shared.durable import ensure_dir, write_durable
from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(name: str) -> bool:
    return bool(_SHA256.match(name))


class BlobStore(Protocol):
    def size(self, sha256: str) -> int | None:
        """Stored size in bytes, or None when absent."""

    def put(self, sha256: str, data: bytes) -> bool:
        """Store durably; True if new, False if it was already there."""

    def get(self, sha256: str) -> bytes:
        """The stored bytes, exactly as received (KeyError when absent)."""

    def names(self) -> Iterator[str]:
        """Every stored name, for the integrity check."""


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise KeyError(sha256)  # never build a path from an unchecked name
        return self.root / sha256[:2] / sha256

    def size(self, sha256: str) -> int | None:
        try:
            return self._path(sha256).stat().st_size
        except (KeyError, FileNotFoundError):
            return None

    def put(self, sha256: str, data: bytes) -> bool:
        if not is_sha256(sha256) or crypto.sha256_hex(data) != sha256:
            raise AppError(ErrorCode.BLOB_HASH_MISMATCH, sha256=sha256)
        path = self._path(sha256)
        if path.exists():
            return False
        ensure_dir(path.parent)
        try:
            write_durable(path, data)
        except OSError as exc:
            raise AppError(ErrorCode.STORE_WRITE_FAILED, detail=str(exc)) from exc
        return True

    def get(self, sha256: str) -> bytes:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(sha256) from exc

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if shard.is_dir():
                yield from sorted(p.name for p in shard.iterdir() if is_sha256(p.name))


def open_store(backend: str, root: Path) -> BlobStore:
    if backend == "local":
        return LocalBlobStore(root)
    raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"不支持的 blob_backend {backend}")
