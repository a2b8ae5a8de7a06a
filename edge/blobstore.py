"""Encrypted blobs on local disk, written durably and verified before rename.

Layout: `<root>/<id[1:3]>/<id>.jzb`. A write is: temp file in the same
directory → write → fsync → read back and compare → rename → fsync the
directory (restic's local backend). A crash at any point leaves either no
file, a `.tmp` that `sweep()` removes at start-up, or a complete blob that the
database does not know yet (an orphan, also removed by `sweep()`: its source
is still in the spool, so nothing that was not stored is lost).
"""

from __future__ import annotations

import os
from pathlib import Path

from juanzong.edge.crashpoints import crash_point
from juanzong.shared.durable import fsync_dir
from juanzong.shared.errors import AppError, ErrorCode

SUFFIX = ".jzb"


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        return self.root / blob_id[1:3] / f"{blob_id}{SUFFIX}"

    def put(self, blob_id: str, data: bytes) -> Path:
        final = self.path(blob_id)
        final.parent.mkdir(exist_ok=True)
        tmp = final.with_name(final.name + ".tmp")
        try:
            self._write_verified(tmp, data)
            crash_point("rename")
            os.rename(tmp, final)
            crash_point("dir_fsync")
            fsync_dir(final.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise AppError(ErrorCode.STORE_WRITE_FAILED, detail=str(exc)) from exc
        return final

    def _write_verified(self, tmp: Path, data: bytes) -> None:
        crash_point("write")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            crash_point("fsync")
            os.fsync(f.fileno())
        if tmp.read_bytes() != data:
            tmp.unlink(missing_ok=True)
            raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=tmp.stem)

    def get(self, blob_id: str) -> bytes:
        return self.path(blob_id).read_bytes()

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    def sweep(self, known: set[str]) -> tuple[int, int]:
        """Remove temp files and blobs no row refers to; returns (temps, orphans)."""
        temps = orphans = 0
        for p in self.root.glob("*/*"):
            if p.name.endswith(".tmp"):
                p.unlink()
                temps += 1
            elif p.suffix == SUFFIX and p.stem not in known:
                p.unlink()
                orphans += 1
        return temps, orphans
