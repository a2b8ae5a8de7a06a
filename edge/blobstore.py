"""Encrypted blobs on local disk, written durably and verified before rename.

Layout: `<root>/<id[1:3]>/<id>.jzb`. A write is shared.durable's: temp file in
the same directory → write → fsync → read back and compare → rename → fsync the
directory (restic's local backend), with a crash point between the steps. A crash at any point leaves either no
file, a temp file that `sweep()` removes at start-up, or a complete blob that the
database does not know yet (an orphan, also removed by `sweep()`: its source
is still in the spool, so nothing that was not stored is lost).
"""

from __future__ import annotations

from pathlib import Path

from juanzong.edge.crashpoints import crash_point
from juanzong.shared.durable import is_temp, write_durable
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
        try:
            write_durable(final, data, 0o600, verify=True, step=crash_point)
        except OSError as exc:
            raise AppError(ErrorCode.STORE_WRITE_FAILED, detail=str(exc)) from exc
        return final

    def get(self, blob_id: str) -> bytes:
        return self.path(blob_id).read_bytes()

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    def sweep(self, known: set[str]) -> tuple[int, int]:
        """Remove temp files and blobs no row refers to; returns (temps, orphans)."""
        temps = orphans = 0
        for p in self.root.glob("*/*"):
            if is_temp(p) or p.name.endswith(".tmp"):  # `.tmp`: left by an older version
                p.unlink()
                temps += 1
            elif p.suffix == SUFFIX and p.stem not in known:
                p.unlink()
                orphans += 1
        return temps, orphans
