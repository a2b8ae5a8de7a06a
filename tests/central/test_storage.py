"""The blob store on its own, on each backend: create-only puts, hashes checked on the way in
(by us and, on S3, by the store itself), names listed in hash order, streamed reads."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os

import pytest

from juanzong.central.config import CentralSettings
from juanzong.central.storage import S3BlobStore, _HashingReader, get, open_store, put
from juanzong.shared.errors import AppError


def _blob(n: int) -> tuple[str, bytes]:
    data = os.urandom(1000 + n)
    return hashlib.sha256(data).hexdigest(), data


def _damaged(data: bytes) -> bytes:
    """One bit flipped in the last byte (replacing it with b"x" was a no-op when it already was one)."""
    return data[:-1] + bytes([data[-1] ^ 0x01])


def test_a_put_creates_once_and_never_overwrites(settings: CentralSettings) -> None:
    store = open_store(settings)
    sha, data = _blob(1)
    assert store.size(sha) is None
    assert put(store, sha, data) is True
    assert put(store, sha, data) is False
    assert store.size(sha) == len(data) and get(store, sha) == data


def test_without_conditional_puts_head_then_put_still_creates_once(settings: CentralSettings) -> None:
    if settings.blob_backend != "s3":
        pytest.skip("an S3 setting")
    store = open_store(dataclasses.replace(settings, s3=dataclasses.replace(settings.s3, conditional_put=False)))
    sha, data = _blob(2)
    assert (put(store, sha, data), put(store, sha, data)) == (True, False)


def test_bytes_that_do_not_hash_to_the_name_are_refused_and_nothing_is_stored(settings: CentralSettings) -> None:
    store = open_store(settings)
    sha, data = _blob(3)
    with pytest.raises(AppError) as err:
        put(store, sha, _damaged(data))
    assert err.value.code == "BLOB_HASH_MISMATCH"
    assert store.size(sha) is None and list(store.names()) == []


def test_the_s3_store_itself_checks_the_sha256_it_is_sent(settings: CentralSettings) -> None:
    """Past our own hashing: the PUT carries ChecksumSHA256, and the store refuses other bytes."""
    if settings.blob_backend != "s3":
        pytest.skip("an S3 setting")
    store = S3BlobStore(settings.s3)
    sha, data = _blob(4)
    damaged = _damaged(data)
    with pytest.raises(AppError) as err:
        store._put(sha, _HashingReader(io.BytesIO(damaged), len(damaged)), len(damaged))
    assert err.value.code == "BLOB_HASH_MISMATCH"
    assert store.size(sha) is None


def test_names_come_in_hash_order_across_shards_and_reads_stream(settings: CentralSettings) -> None:
    store = open_store(settings)
    blobs = dict(_blob(n) for n in range(12))
    for sha, data in blobs.items():
        put(store, sha, data)
    assert list(store.names()) == sorted(blobs)
    sha = min(blobs)
    assert b"".join(store.read(sha)) == blobs[sha]
    with pytest.raises(KeyError):
        store.read("0" * 64)
