"""The batch manifest and the central receipt: typed once, canonical JSON, signed with Ed25519.

The structs below ARE the format. The appliance builds a `Manifest` from its
rows (edge/batches.py), central decodes the signed bytes into the same struct
(central/receive/): required fields, field types, identifier formats, text
lengths and value sets all come from these definitions, so the writer, the
reader and this docstring cannot drift. Adding a field = one line here (with a
default, so older appliances' manifests still decode), the writer, the reader.

Canonical JSON = sorted keys, UTF-8, no insignificant white space, no floats.
The bytes that were signed are the bytes that travel and are stored, so the
signature can be checked again at any later time (four-property check).

Decoding is strict (msgspec): a list where an id belongs, a `true` page count,
a float, an unknown field, a 100,000-level nested array — each is a
`MANIFEST_SCHEMA_INVALID` with the JSON path, never a crash. Nothing in a
manifest is an untyped `Any`, so its nesting depth is bounded by the schema.
"""

from __future__ import annotations

import json
import re
import types
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Final, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import ALPHABET, BODY_LEN, Kind, is_valid_id
from juanzong.shared.suites import Suite  # noqa: F401 - re-exported: the blob reference names it

SCHEMA_VERSION: Final = 1

# --- value sets ------------------------------------------------------------------------------


class Volume(StrEnum):
    MAIN = "main"  # 正卷
    INTERNAL = "internal"  # 副卷


class Side(StrEnum):
    RECTO = "recto"  # stamps bottom-right
    VERSO = "verso"  # stamps bottom-left


class PageRole(StrEnum):
    """What a stored image is (the `role` of an appliance page row); defined once for both sides.

    Only the TRAVELLING roles go into a manifest (`Page.role` refuses the others)."""

    PAGE = "page"  # a page of an item (numbered), or waiting unassigned
    COVER = "cover"  # our cover sheet of a known item: a separator, never numbered
    COVER_UNKNOWN = "cover_unknown"  # our cover sheet naming an item this appliance does not know
    COVER_BACK = "cover_back"  # the blank back of a cover sheet (duplex)
    BLANK_DROPPED = "blank_dropped"  # a blank verso the profile drops from the count (still stored)
    REPLACED = "replaced"  # replaced by a rescan: keeps its row and blob, gives up its number
    DISCARDED = "discarded"  # taken out of the numbering at the QC station, with a reason


TRAVELLING_ROLES = frozenset({PageRole.PAGE, PageRole.REPLACED, PageRole.DISCARDED})


class QcCode(StrEnum):
    """What a QC finding is about: edge/ingest/qc.py writes them (Chinese texts in edge.ingest.context.MESSAGES),
    they travel in `Finding.code`, central counts by them."""

    DPI_MISSING = "dpi_missing"
    DPI_LOW = "dpi_low"
    COLOUR_EXPECTED = "colour_expected"
    SKEW = "skew"
    BLANK = "blank"
    BLACK_BORDER = "black_border"
    TOO_DARK = "too_dark"
    TOO_LIGHT = "too_light"
    DUPLICATE = "duplicate"
    OVER_SCAN = "over_scan"  # 多扫 (an item's count, at close)
    UNDER_SCAN = "under_scan"  # 漏扫
    ITEM_CLOSED = "item_closed"  # scanned for an item already closed: held in the unassigned queue
    COVER_FOREIGN = "cover_foreign"  # our cover sheet, but of an item this appliance does not know


class Severity(StrEnum):
    """How much a QC finding weighs (`Finding.severity`)."""

    WARNING = "warning"  # shown; the operator decides
    ERROR = "error"  # a contract breach: rescan or override


class BlobKind(StrEnum):
    PAGE = "page"
    COVER = "cover"
    QUARANTINE = "quarantine"
    DOCUMENT = "document"  # an assembled PDF


# How a blob is sealed and the manifest signed: `aes256gcm-hpke-x25519-ed25519` (AES-256-GCM
# per blob, data key sealed with HPKE X25519/HKDF-SHA256/AES-256-GCM, manifests signed with
# Ed25519) or the 商用密码 suite `sm4gcm-sm3-hpke-x25519-ed25519` (shared/suites.py).
DEFAULT_SUITE = Suite.AES

# --- field types -----------------------------------------------------------------------------

_ID_BODY = "[" + re.escape(ALPHABET) + "]{" + str(BODY_LEN + 1) + "}"
INT32 = 2**31 - 1
INT53 = 2**53 - 1  # what every JSON reader holds exactly


def _id_meta(kind: Kind) -> msgspec.Meta:
    """An identifier of one kind: the pattern here, the check character in `_Checked`."""
    return msgspec.Meta(pattern=f"^{kind.value}{_ID_BODY}$", extra={"id_kind": kind.value})


ApplianceId = Annotated[str, _id_meta(Kind.APPLIANCE)]
BatchId = Annotated[str, _id_meta(Kind.BATCH)]
IntakeId = Annotated[str, _id_meta(Kind.INTAKE)]
ItemId = Annotated[str, _id_meta(Kind.ITEM)]
PageId = Annotated[str, _id_meta(Kind.PAGE)]
DocumentId = Annotated[str, _id_meta(Kind.DOCUMENT)]
NoticeId = Annotated[str, _id_meta(Kind.NOTICE)]

Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Timestamp = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")]
Base64 = Annotated[str, msgspec.Meta(max_length=4096, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
Count = Annotated[int, msgspec.Meta(ge=0, le=INT32)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=INT53)]


# Free text with a length limit (TextN: at most N characters); stored as text and escaped
# wherever it is shown.
Text16 = Annotated[str, msgspec.Meta(max_length=16)]
Text32 = Annotated[str, msgspec.Meta(max_length=32)]
Text40 = Annotated[str, msgspec.Meta(max_length=40)]
Text64 = Annotated[str, msgspec.Meta(max_length=64)]
Text100 = Annotated[str, msgspec.Meta(max_length=100)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
Text255 = Annotated[str, msgspec.Meta(max_length=255)]
Text500 = Annotated[str, msgspec.Meta(max_length=500)]

CaseValue = Text200 | int | bool | None | Annotated[list[Text200], msgspec.Meta(max_length=16)]

# --- records ---------------------------------------------------------------------------------


class _Checked(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every identifier field is checked for its kind and check character on decode."""

    def __post_init__(self) -> None:
        for name, kind in _id_fields(type(self)):
            value = getattr(self, name)
            if value is not None and not is_valid_id(value, kind):
                raise ValueError(f"{name} {value!r} 不是有效的编号（类型 {kind.value}，校验位）")


@cache
def _id_fields(cls: type) -> tuple[tuple[str, Kind], ...]:
    out = []
    for name, hint in get_type_hints(cls, include_extras=True).items():
        for meta in _metas(hint):
            if meta.extra and "id_kind" in meta.extra:
                out.append((name, Kind(meta.extra["id_kind"])))
    return tuple(out)


def _metas(hint: Any) -> list[msgspec.Meta]:
    if get_origin(hint) is Annotated:
        return [m for m in get_args(hint)[1:] if isinstance(m, msgspec.Meta)]
    if get_origin(hint) in (Union, types.UnionType):
        return [m for arg in get_args(hint) for m in _metas(arg)]
    return []


class AuditHead(_Checked, frozen=True, kw_only=True):
    """The newest record of a hash chain: how many records, and the last one's hash."""

    seq: Count
    hash: Sha256


class Finding(_Checked, frozen=True, kw_only=True):
    """A QC or count finding (edge/ingest/qc.py); `value` is never a float."""

    code: Text40
    severity: Text16
    message: Text500
    value: int | Text200 | None = None


class BlobRef(_Checked, frozen=True, kw_only=True):
    """One encrypted blob, named by the SHA-256 of its ciphertext."""

    sha256: Sha256
    size: Annotated[int, msgspec.Meta(ge=1, le=2**40)]
    kind: BlobKind
    sealed_key: Base64  # the data key sealed to central (HPKE)
    suite: Suite = DEFAULT_SUITE
    sm3: Sha256 | None = None  # the sm suite's content hash of the ciphertext (checked by central)

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.suite is Suite.SM) != (self.sm3 is not None):
            raise ValueError("sm3 与 suite 不符：商用密码套件的数据块须带 SM3 摘要，其他套件不带")


class Intake(_Checked, frozen=True, kw_only=True):
    intake_id: IntakeId
    case_number: Text64
    case: Annotated[dict[Text32, CaseValue], msgspec.Meta(max_length=32)]
    submitter: Text100
    received_at: Timestamp
    deadline: Timestamp
    urgent: bool
    clerk: Text64 = ""
    deadline_provisional: bool = False  # computed from a provisional holiday year: shown （暂定）


class Acceptance(_Checked, frozen=True, kw_only=True):
    """A QC finding the operator kept the page despite, with the reason (QC station)."""

    code: Text40
    reason: Text500
    by: Text64
    at: Timestamp


class ItemQc(_Checked, frozen=True, kw_only=True):
    """The QC station's sign-off of an item: approval, and the second person's check (双人质检)."""

    approved_by: Text64
    approved_at: Timestamp
    reason: Text500 = ""  # written when declared and scanned pages differ
    two_person: bool = False
    checked_by: Text64 | None = None
    checked_at: Timestamp | None = None

    @property
    def complete(self) -> bool:
        return not self.two_person or self.checked_by is not None


class Item(_Checked, frozen=True, kw_only=True):
    item_id: ItemId
    intake_id: IntakeId
    seq: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    name: Text200
    declared_pages: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    volume: Volume
    catalog_dir: Text200
    original: bool
    colour: bool
    closed: bool = False
    count_findings: Annotated[list[Finding], msgspec.Meta(max_length=16)] = []
    qc: ItemQc | None = None  # approved (and checked) at the QC station
    discarded_pages: Count = 0  # pages taken out of the numbering with a reason


class Page(_Checked, frozen=True, kw_only=True):
    page_id: PageId
    item_id: ItemId | None
    page_no: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None
    side: Side
    role: PageRole = PageRole.PAGE
    replaces: PageId | None = None
    replaced_by: PageId | None = None
    source_name: Text255
    source_sha256: Sha256
    source_size: Annotated[int, msgspec.Meta(ge=0, le=2**40)]
    width: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    height: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    dpi: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None
    mode: Text16
    findings: Annotated[list[Finding], msgspec.Meta(max_length=64)] = []
    accepted: Annotated[list[Acceptance], msgspec.Meta(max_length=64)] = []  # findings kept with a reason
    rotation: Literal[0, 90, 180, 270] = 0  # clockwise, display only (PDF /Rotate): the master is never re-encoded
    discard_reason: Text500 | None = None  # role "discarded"
    scanned_at: Timestamp
    blob: BlobRef

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.role not in TRAVELLING_ROLES:
            raise ValueError(f"role {self.role.value!r} 不随批次传送")


class CatalogPlace(_Checked, frozen=True, kw_only=True):
    """Where an item's PDF is filed: volume, catalog directory (its position), the item's order in it."""

    volume: Volume
    catalog_dir: Text200
    catalog_seq: Annotated[int, msgspec.Meta(ge=0, le=10_000)]  # 0 = uncatalogued
    order: Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class NoticeKind(StrEnum):
    FILED = "filed"  # first searchable PDF of a closed item
    UPDATED = "updated"  # the item was rebuilt after it had been filed


class Document(_Checked, frozen=True, kw_only=True):
    """An item's PDF (edge/documents): image-only first, then searchable; a rebuild is a new version."""

    document_id: DocumentId
    item_id: ItemId
    version: Annotated[int, msgspec.Meta(ge=1, le=INT32)]
    searchable: bool
    page_ids: Annotated[list[PageId], msgspec.Meta(min_length=1, max_length=100_000)]  # in PDF page order
    file_name: Text255
    place: CatalogPlace
    stamped_over_content: Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=100_000)]], msgspec.Meta(max_length=100_000)] = []
    created_at: Timestamp
    blob: BlobRef


class Notice(_Checked, frozen=True, kw_only=True):
    """入卷提醒: a closed item's searchable PDF is in the e-dossier."""

    notice_id: NoticeId
    item_id: ItemId
    document_id: DocumentId
    kind: NoticeKind
    case_number: Text64
    item_name: Text200
    place: CatalogPlace
    pages: Count
    created_at: Timestamp


class Purged(_Checked, frozen=True, kw_only=True):
    """A blob the appliance shredded (its local key wrap destroyed, edge/purge.py)."""

    blob_id: Text32
    kind: BlobKind
    sha256: Sha256
    purged_at: Timestamp


class Manifest(_Checked, frozen=True, kw_only=True):
    """A sealed batch: what one appliance hands to central, signed by it."""

    schema: Literal[1]
    appliance_id: ApplianceId
    batch_id: BatchId
    seq: Seq  # per appliance, only ever forward
    created_at: Timestamp
    intakes: list[Intake]
    items: list[Item]
    pages: list[Page]
    audit_head: AuditHead  # the appliance's chain head when sealed: central witnesses it
    central_head: AuditHead | None = None  # central's head from the newest receipt the appliance holds
    documents: list[Document] = []  # items' PDFs built since the last batch
    notices: list[Notice] = []  # 入卷提醒 made since the last batch
    purged: list[Purged] = []  # shredded on the appliance since the last batch: on central's record too

    def __post_init__(self) -> None:
        super().__post_init__()
        for what, ids in (
            ("收取登记", [i.intake_id for i in self.intakes]),
            ("材料", [i.item_id for i in self.items]),
            ("页面", [p.page_id for p in self.pages]),
            ("文档", [d.document_id for d in self.documents]),
            ("入卷提醒", [n.notice_id for n in self.notices]),
        ):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{what}编号重复")


class Receipt(_Checked, frozen=True, kw_only=True):
    """Central's answer to a stored batch, signed by central; the appliance keeps it."""

    schema: Literal[1]
    kind: Literal["receipt"]
    appliance_id: ApplianceId
    batch_id: BatchId
    seq: Seq
    manifest_sha256: Sha256
    pages: Count
    received_at: Timestamp
    appliance_head: AuditHead | None = None  # the appliance head central witnessed in this manifest
    central_head: AuditHead | None = None  # central's own head after storing the batch


class Checkpoint(_Checked, frozen=True, kw_only=True):
    """A signed audit head kept apart from the database it describes."""

    schema: Literal[1]
    kind: Literal["checkpoint"]
    place: Text40
    head: AuditHead
    at: Timestamp


# --- canonical bytes and signatures -----------------------------------------------------------

T = TypeVar("T", bound=msgspec.Struct)


def canonical_json(obj: Any) -> bytes:
    if isinstance(obj, msgspec.Struct):
        obj = msgspec.to_builtins(obj)
    _reject_floats(obj)
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reject_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise ValueError("canonical JSON carries no floats")
    if isinstance(obj, dict):
        for v in obj.values():
            _reject_floats(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _reject_floats(v)


def to_builtins(obj: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(obj)  # type: ignore[no-any-return]  # a Struct becomes a dict


@dataclass(frozen=True)
class Signed:
    """Canonical bytes and their detached signature, as sent and as stored."""

    body: bytes
    signature: str

    @property
    def sha256(self) -> str:
        return crypto.sha256_hex(self.body)

    def to_wire(self) -> dict[str, str]:
        return {"body": self.body.decode("utf-8"), "signature": self.signature}

    @classmethod
    def from_wire(cls, wire: Any) -> Signed:
        if not isinstance(wire, dict) or not isinstance(wire.get("body"), str) or not isinstance(wire.get("signature"), str):
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="需要 body 与 signature 两个字符串字段")
        return cls(wire["body"].encode("utf-8"), wire["signature"])


def decode(body: bytes, type_: type[T]) -> T:
    """Strict, typed decode of canonical bytes; any fault is MANIFEST_SCHEMA_INVALID with its path."""
    try:
        doc = msgspec.json.decode(body, type=type_, strict=True)
    except msgspec.ValidationError as exc:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=str(exc)[:300]) from exc
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是合法的 JSON") from exc
    # the typed decode bounded the depth, so the generic decode below cannot recurse deeply
    if canonical_json(msgspec.json.decode(body)) != body:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是规范化 JSON")
    return doc


def sign(doc: msgspec.Struct, key: Ed25519PrivateKey) -> Signed:
    """Canonical bytes of a struct, checked by the reader's own decode before they are signed."""
    body = canonical_json(doc)
    decode(body, type(doc))  # the writer never signs what the reader would refuse
    return Signed(body, crypto.sign(key, body))


def open_signed(signed: Signed, key: Ed25519PublicKey, type_: type[T]) -> T:
    """Signature over the exact bytes first, then the typed decode."""
    if not crypto.verify(key, signed.body, signed.signature):
        raise AppError(ErrorCode.MANIFEST_SIGNATURE_INVALID)
    return decode(signed.body, type_)


def sign_document(doc: dict[str, Any], key: Ed25519PrivateKey) -> Signed:
    """A signed document that is not a manifest (media registration, table of contents)."""
    body = canonical_json(doc)
    return Signed(body, crypto.sign(key, body))


def open_document(signed: Signed, key: Ed25519PublicKey) -> dict[str, Any]:
    """Signature, then canonical JSON object; never a crash on hostile bytes. The caller checks fields."""
    if not crypto.verify(key, signed.body, signed.signature):
        raise AppError(ErrorCode.MANIFEST_SIGNATURE_INVALID)
    try:
        doc = msgspec.json.decode(signed.body)
        canonical = canonical_json(doc)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是合法的 JSON") from exc
    except ValueError as exc:  # a float
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是规范化 JSON（含浮点数）") from exc
    if canonical != signed.body or not isinstance(doc, dict):
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是规范化 JSON 对象")
    return doc


class _Claim(msgspec.Struct):
    appliance_id: ApplianceId


def peek_appliance_id(signed: Signed) -> str:
    """The claimed signer, read before the signature can be checked (ignores everything else)."""
    try:
        claim = msgspec.json.decode(signed.body, type=_Claim)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="缺少有效的 appliance_id") from exc
    return claim.appliance_id


def build_receipt(manifest: Manifest, manifest_sha256: str, received_at: str, central_head: AuditHead | None) -> Receipt:
    return Receipt(
        schema=SCHEMA_VERSION,
        kind="receipt",
        appliance_id=manifest.appliance_id,
        batch_id=manifest.batch_id,
        seq=manifest.seq,
        manifest_sha256=manifest_sha256,
        pages=len(manifest.pages),
        received_at=received_at,
        appliance_head=manifest.audit_head,
        central_head=central_head,
    )


def json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (published with the API, docs)."""
    return msgspec.json.schema(Manifest)


__all__ = [
    "Acceptance",
    "AuditHead",
    "BlobKind",
    "BlobRef",
    "CatalogPlace",
    "Checkpoint",
    "Document",
    "Finding",
    "Intake",
    "Item",
    "ItemQc",
    "Manifest",
    "Notice",
    "NoticeKind",
    "Page",
    "PageRole",
    "QcCode",
    "Severity",
    "TRAVELLING_ROLES",
    "Receipt",
    "SCHEMA_VERSION",
    "Side",
    "Signed",
    "Suite",
    "Volume",
    "build_receipt",
    "canonical_json",
    "decode",
    "open_signed",
    "peek_appliance_id",
    "sign",
]
