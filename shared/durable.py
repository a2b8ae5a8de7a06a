"""Durable writes, the one helper for every file either side keeps.

    write_durable(path, data)  temp file in the same directory → write → fsync →
                               (verify: read back and compare) → rename (or, with
                               `exclusive`, link: never replaces an existing file)
                               → fsync the directory
    write_durable_stream(path, chunks, check=…)
                               the same for bytes that arrive in pieces (a blob PUT);
                               `check` (a hash) decides before the file takes its name
    commit_file(tmp, path)     a temp file another writer filled (SQLCipher's export):
                               fsync → rename → fsync the directory
    append_durable(path, data) one O_APPEND write → fsync (→ fsync the directory
                               when the file is new)
    fsync_tree(root)           every file and folder of a copied tree (backups)

Nothing either side acknowledges (a stored page, a blob PUT, a receipt, a key)
may rest on bytes that a power cut can still take back (restic `backend/local`
Save; reliability anchors §1–2). `step` names each point between the steps
(`write`, `fsync`, `rename`, `dir_fsync`) so the appliance's crash tests can stop
there; temp files are hidden (`.tmp-…`), so a watcher never takes one, and
`is_temp` recognises what a crash left behind for a start-up sweep.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from juanzong.shared.errors import AppError, ErrorCode

TEMP_PREFIX = ".tmp-"


def _no_step(name: str) -> None:
    return None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path, mode: int = 0o755) -> None:
    """mkdir -p that also makes each new directory entry durable."""
    if path.is_dir():
        return
    ensure_dir(path.parent, mode)
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        return  # a concurrent writer made it; its own fsync covers the entry
    fsync_dir(path.parent)


def temp_path(path: Path) -> Path:
    """The hidden temp name a durable write of `path` uses (unique per write)."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}-{secrets.token_hex(4)}")


def is_temp(path: Path) -> bool:
    """A temp file a durable write left behind (a crash between write and rename)."""
    return path.name.startswith(TEMP_PREFIX)


def write_durable(
    path: Path,
    data: bytes,
    mode: int = 0o644,
    *,
    verify: bool = False,
    exclusive: bool = False,
    step: Callable[[str], None] = _no_step,
) -> None:
    """Put `data` at `path`; when this returns the bytes survive a power cut.

    verify: read the temp file back and compare before it takes the name
    (STORE_VERIFY_FAILED, nothing renamed). exclusive: refuse to replace an
    existing file (FileExistsError, nothing changed) — for keys."""
    tmp = temp_path(path)
    try:
        _write_synced(tmp, data, mode, step)
        if verify and tmp.read_bytes() != data:
            raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=path.name)
        step("rename")
        _take_name(tmp, path, exclusive)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    step("dir_fsync")
    fsync_dir(path.parent)


def write_durable_stream(
    path: Path,
    chunks: Iterable[bytes],
    mode: int = 0o644,
    *,
    exclusive: bool = False,
    check: Callable[[], None] | None = None,
) -> None:
    """`write_durable` for bytes that arrive in pieces, never all in memory.

    check: called once every chunk is written and synced, before the file takes its
    name; whatever it raises leaves nothing behind (a hash that does not match)."""
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        if check is not None:
            check()
        _take_name(tmp, path, exclusive)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def commit_file(tmp: Path, path: Path) -> None:
    """A temp file another writer filled (e.g. SQLCipher's export) takes `path`'s place durably."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_tree(root: Path) -> None:
    """Every file and folder under `root` (a copied tree), then `root`'s own entry."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))
    fsync_dir(root.parent)


def _take_name(tmp: Path, path: Path, exclusive: bool) -> None:
    if exclusive:
        os.link(tmp, path)  # FileExistsError if the name exists: a create, never a replace
        tmp.unlink()
    else:
        os.replace(tmp, path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_synced(tmp: Path, data: bytes, mode: int, step: Callable[[str], None]) -> None:
    step("write")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        _write_all(fd, data)
        step("fsync")
        os.fsync(fd)
    finally:
        os.close(fd)


def append_durable(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Append `data` in one write and fsync; a new file's directory entry is synced too.

    One write call: appends of concurrent writers never interleave (O_APPEND)."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, mode)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)
