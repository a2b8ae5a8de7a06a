"""What a sealed batch carries besides its manifest: the blobs it names.

One list for every way a batch travels (network sync, removable media), so a
new blob kind in the manifest (e.g. an item's PDF) is carried by both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BlobRef:
    blob_id: str  # the appliance's blob store key
    sha256: str  # of the ciphertext: central stores by this
    size: int


def blob_refs(manifest: dict[str, Any]) -> list[BlobRef]:
    """Every blob the manifest names, once, in manifest order."""
    seen: set[str] = set()
    refs = []
    named = [(p["page_id"], p["blob"]) for p in manifest["pages"]]
    named += [(d["document_id"], d["blob"]) for d in manifest.get("documents", [])]
    for blob_id, blob in named:
        if blob["sha256"] not in seen:
            seen.add(blob["sha256"])
            refs.append(BlobRef(blob_id, blob["sha256"], blob["size"]))
    return refs
