"""Reaching past central into its blob store, as damage would: read, overwrite or delete an
object directly (a file on disk, or an S3 object written without central's checks)."""

from __future__ import annotations

from juanzong.central.config import CentralSettings
from juanzong.central.storage import S3BlobStore


def _s3(settings: CentralSettings) -> S3BlobStore | None:
    return S3BlobStore(settings.s3) if settings.blob_backend == "s3" else None


def raw_blob(settings: CentralSettings, sha256: str) -> bytes:
    s3 = _s3(settings)
    if s3 is None:
        return (settings.blob_dir / sha256[:2] / sha256).read_bytes()
    return s3.client.get_object(Bucket=s3.bucket, Key=s3.key(sha256))["Body"].read()


def overwrite_blob(settings: CentralSettings, sha256: str, data: bytes) -> None:
    s3 = _s3(settings)
    if s3 is None:
        (settings.blob_dir / sha256[:2] / sha256).write_bytes(data)
    else:
        s3.client.put_object(Bucket=s3.bucket, Key=s3.key(sha256), Body=data)


def delete_blob(settings: CentralSettings, sha256: str) -> None:
    s3 = _s3(settings)
    if s3 is None:
        (settings.blob_dir / sha256[:2] / sha256).unlink()
    else:
        s3.client.delete_object(Bucket=s3.bucket, Key=s3.key(sha256))


def stored_names(settings: CentralSettings) -> list[str]:
    s3 = _s3(settings)
    if s3 is None:
        return sorted(p.name for p in settings.blob_dir.rglob("*") if p.is_file())
    return list(s3.names())
