"""The blob store: encrypted pages, named by the SHA-256 of their ciphertext.

Content addressing makes every upload idempotent: a retried PUT names the same
object, and a name can only ever hold the bytes that hash to it (restic: "the
SHA256 hash of the content is used for a file's name"). Central never sees a
plaintext here; it opens a page only when asked (verify, export).

Two backends behind one interface (`BlobStore`), chosen by `blob_backend`:

- `LocalBlobStore` (default): `blobs/ab/abcdef…` on a local disk. A write goes
  to a temp file while it is hashed, is fsynced, then *linked* into place, so
  an existing blob is never replaced (conditional create) and a crash leaves
  no half blob under a real name.
- `S3BlobStore`: any S3-compatible store (Ceph RGW, SeaweedFS, a cloud OSS)
  through boto3. Keys `<prefix>ab/abcdef…`; each PUT streams the body and
  sends its SHA-256 (`ChecksumSHA256`), so the store itself refuses bytes that
  do not match; `IfNoneMatch="*"` makes it a create that never overwrites, and
  where a store does not support that, HEAD-then-PUT is the fallback.

Both list names in ascending order (S3 lists keys in UTF-8 order; the shard
prefix keeps that the hash order), which lets `central verify` walk the store
and the page table side by side and read every object exactly once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from juanzong.shared.durable import ensure_dir, fsync_dir, write_durable_stream
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.central.storage")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024
_SDK_LOCK = threading.Lock()


def is_sha256(name: str) -> bool:
    return bool(_SHA256.match(name))


class BlobStore(Protocol):
    def size(self, sha256: str) -> int | None:
        """Stored size in bytes, or None when absent."""

    def put_stream(self, sha256: str, source: IO[bytes], size: int) -> bool:
        """Store `size` bytes read from `source` under their hash; True if new,
        False if that name was already stored (never overwritten). The bytes are
        hashed on the way: a mismatch stores nothing and raises BLOB_HASH_MISMATCH."""

    def read(self, sha256: str) -> Iterator[bytes]:
        """The stored bytes in chunks (KeyError when absent)."""

    def names(self) -> Iterator[str]:
        """Every stored name, ascending, for the integrity check."""

    def stored_at(self, sha256: str) -> datetime | None:
        """When the object was stored (UTC), or None when absent: the orphan grace period."""

    def delete(self, sha256: str) -> None:
        """Remove an object (orphan removal only; absent is not an error)."""


def put(store: BlobStore, sha256: str, data: bytes) -> bool:
    """Store a blob already in memory."""
    return store.put_stream(sha256, io.BytesIO(data), len(data))


def get(store: BlobStore, sha256: str) -> bytes:
    """A whole blob (KeyError when absent)."""
    return b"".join(store.read(sha256))


def _checked_name(sha256: str) -> str:
    if not is_sha256(sha256):
        raise AppError(ErrorCode.BLOB_HASH_MISMATCH, sha256=sha256[:80])
    return sha256


# --- local disk -------------------------------------------------------------------------------


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

    def put_stream(self, sha256: str, source: IO[bytes], size: int) -> bool:
        path = self._path(_checked_name(sha256))
        if path.exists():
            return False
        digest = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                yield chunk

        def check() -> None:
            if digest.hexdigest() != sha256:
                raise AppError(ErrorCode.BLOB_HASH_MISMATCH, sha256=sha256)  # nothing kept

        try:
            ensure_dir(path.parent)
            # the shared durable write: temp → fsync → hash checked → linked (a create, never a replace)
            write_durable_stream(path, chunks(), exclusive=True, check=check)
        except FileExistsError:
            return False
        except OSError as exc:
            raise AppError(ErrorCode.STORE_WRITE_FAILED, detail=str(exc)) from exc
        return True

    def read(self, sha256: str) -> Iterator[bytes]:
        try:
            f = self._path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise KeyError(sha256) from exc
        return _chunks(f)

    def stored_at(self, sha256: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(sha256).stat().st_mtime, UTC)
        except (KeyError, FileNotFoundError):
            return None

    def delete(self, sha256: str) -> None:
        try:
            path = self._path(sha256)
            path.unlink()
        except (KeyError, FileNotFoundError):
            return
        fsync_dir(path.parent)

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if shard.is_dir():
                yield from sorted(p.name for p in shard.iterdir() if is_sha256(p.name))


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


# --- S3 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str  # empty: the SDK's default endpoint for the region
    bucket: str
    region: str
    prefix: str  # key prefix, e.g. "blobs/"
    addressing_style: Literal["path", "virtual"]  # "path" (Ceph RGW, SeaweedFS on premises) or "virtual"
    conditional_put: bool  # False: the store lacks If-None-Match; HEAD-then-PUT
    ca_bundle: str  # CA file for an https endpoint signed by the court's own CA; empty = system CAs
    credentials_file: str  # INI file ([default] aws_access_key_id / aws_secret_access_key); empty = environment


class S3BlobStore:
    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.client = _s3_client(settings)
        self._conditional = settings.conditional_put

    def key(self, sha256: str) -> str:
        return f"{self.settings.prefix}{sha256[:2]}/{sha256}"

    def size(self, sha256: str) -> int | None:
        if not is_sha256(sha256):
            return None
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise _unavailable(exc) from exc
        return int(head["ContentLength"])

    def put_stream(self, sha256: str, source: IO[bytes], size: int) -> bool:
        _checked_name(sha256)
        body = _HashingReader(source, size)
        if not self._conditional and self.size(sha256) is not None:
            return False
        try:
            created = self._put(sha256, body, size)
        except _NoConditional:
            log.warning("S3 store refuses If-None-Match; falling back to HEAD-then-PUT")
            self._conditional = False
            return self.put_stream(sha256, _rewound(source, body), size)
        if created and body.mismatch(sha256):
            # only a store that ignores ChecksumSHA256 gets here: take the wrong bytes back out
            self._discard(sha256)
            raise AppError(ErrorCode.BLOB_HASH_MISMATCH, sha256=sha256)
        return created

    def _discard(self, sha256: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:  # object lock may forbid it; verify will flag the object
            log.error("could not remove mismatched object %s: %s", sha256, exc)

    def _put(self, sha256: str, body: _HashingReader, size: int) -> bool:
        extra = {"IfNoneMatch": "*"} if self._conditional else {}
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        try:
            resp = self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha256),
                Body=body,
                ContentLength=size,
                ChecksumSHA256=checksum,
                ContentType="application/octet-stream",
                **extra,
            )
        except Exception as exc:
            return self._put_failed(sha256, body, exc)
        echoed = resp.get("ChecksumSHA256")
        if echoed is not None and echoed != checksum:
            raise AppError(ErrorCode.STORE_WRITE_FAILED, detail=f"对象存储返回的校验和与 {sha256} 不符")
        return True

    def _put_failed(self, sha256: str, body: _HashingReader, exc: Exception) -> bool:
        code, status = _code(exc), _status(exc)
        if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False  # already stored (or being stored by a concurrent retry): never overwritten
        if code in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest") or body.mismatch(sha256):
            raise AppError(ErrorCode.BLOB_HASH_MISMATCH, sha256=sha256) from exc
        if self._conditional and (status == 501 or code == "NotImplemented"):
            raise _NoConditional() from exc
        raise _unavailable(exc) from exc

    def read(self, sha256: str) -> Iterator[bytes]:
        if not is_sha256(sha256):
            raise KeyError(sha256)
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _status(exc) == 404 or _code(exc) == "NoSuchKey":
                raise KeyError(sha256) from exc
            raise _unavailable(exc) from exc
        return _stream_chunks(resp["Body"])

    def stored_at(self, sha256: str) -> datetime | None:
        if not is_sha256(sha256):
            return None
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise _unavailable(exc) from exc
        return head["LastModified"].astimezone(UTC)

    def delete(self, sha256: str) -> None:
        if is_sha256(sha256):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
            except Exception as exc:
                if _status(exc) != 404:
                    raise _unavailable(exc) from exc

    def names(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.settings.prefix)
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    name = obj["Key"].rsplit("/", 1)[-1]
                    if is_sha256(name) and obj["Key"] == self.key(name):
                        yield name
        except AppError:
            raise
        except Exception as exc:
            raise _unavailable(exc) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (a lab or a fresh store; production buckets are made by the operator)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if _status(exc) != 404:
                raise _unavailable(exc) from exc
            self.client.create_bucket(Bucket=self.bucket)


class _NoConditional(Exception):
    """The store does not implement If-None-Match on PUT."""


class _HashingReader(io.RawIOBase):
    """A read-only body that hashes what the SDK sends, so a mismatch is caught on our side as well."""

    def __init__(self, source: IO[bytes], size: int) -> None:
        self.source, self.size, self.seen = source, size, 0
        self.digest = hashlib.sha256()
        self.start = source.tell() if source.seekable() else 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.source.seekable()

    def tell(self) -> int:
        return self.source.tell() - self.start

    def seek(self, offset: int, whence: int = 0) -> int:
        # the SDK rewinds to sign or to retry: start hashing again from the start
        pos = self.source.seek(self.start + offset if whence == 0 else offset, whence) - self.start
        if pos == 0:
            self.digest, self.seen = hashlib.sha256(), 0
        return pos

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.seen += len(data)
        return len(data)

    def hexdigest(self) -> str | None:
        return self.digest.hexdigest() if self.seen == self.size else None

    def mismatch(self, sha256: str) -> bool:
        got = self.hexdigest()
        return got is not None and got != sha256


def _rewound(source: IO[bytes], body: _HashingReader) -> IO[bytes]:
    if not source.seekable():
        raise AppError(ErrorCode.STORE_WRITE_FAILED, detail="对象存储不支持条件写入，且上传内容无法重读")
    source.seek(body.start)
    return source


def _stream_chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def _status(exc: Exception) -> int | None:
    return getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> AppError:
    return AppError(ErrorCode.STORE_UNAVAILABLE, detail=f"{type(exc).__name__}: {exc}"[:300])


def _s3_client(settings: S3Settings) -> Any:
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": settings.addressing_style},
        # the SHA-256 we send is the checksum; no second (CRC) one, no aws-chunked trailer
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
    )
    with _SDK_LOCK:  # making a client from a shared session is not thread-safe; using one is
        return _sdk_session().client(
            "s3",
            endpoint_url=settings.endpoint_url or None,
            region_name=settings.region,
            verify=settings.ca_bundle or None,
            config=config,
            **_credentials(settings.credentials_file),
        )


@functools.cache
def _sdk_session() -> Any:
    """One SDK session per process: it only holds the SDK's own service models (slow to load), no data."""
    import boto3

    return boto3.session.Session()


def _credentials(path: str) -> dict[str, str]:
    """Keys from an AWS-style credentials file; none → boto3's own chain (AWS_ACCESS_KEY_ID … in the environment)."""
    if not path:
        return {}
    import configparser

    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
        section = parser["default"]
        return {"aws_access_key_id": section["aws_access_key_id"], "aws_secret_access_key": section["aws_secret_access_key"]}
    except (OSError, KeyError, configparser.Error) as exc:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"对象存储凭据文件 {path} 无法读取：{type(exc).__name__}") from exc


# --- choosing one -----------------------------------------------------------------------------


def open_store(settings: Any) -> BlobStore:
    """The store the settings name (`CentralSettings`)."""
    if settings.blob_backend == "local":
        return LocalBlobStore(settings.blob_dir)
    if settings.blob_backend == "s3":
        return S3BlobStore(settings.s3)
    raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"不支持的 blob_backend {settings.blob_backend}")
