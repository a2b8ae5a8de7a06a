"""The appliance database's schema: sqlite-utils `Migrations("edge")`.

Only schema lives here; connecting, migrating and every query are edge.repo
(`repo.migrate()` applies these once at start-up). A new migration is appended
as `m<NNN>_<topic>`; an existing one is never edited.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("edge")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    for statement in _split(
        """
        CREATE TABLE intakes (
            id TEXT PRIMARY KEY, case_number TEXT NOT NULL, case_json TEXT NOT NULL,
            submitter TEXT NOT NULL, received_at TEXT NOT NULL, deadline TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0, clerk TEXT NOT NULL DEFAULT '',
            batch_id TEXT, created_at TEXT NOT NULL
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY, intake_id TEXT NOT NULL REFERENCES intakes(id), seq INTEGER NOT NULL,
            name TEXT NOT NULL, declared_pages INTEGER NOT NULL, volume TEXT NOT NULL,
            catalog_dir TEXT NOT NULL, original INTEGER NOT NULL DEFAULT 1, colour INTEGER NOT NULL DEFAULT 1,
            closed_at TEXT, batch_id TEXT, UNIQUE (intake_id, seq)
        );
        CREATE TABLE blobs (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
            wrapped_local BLOB, sealed_central BLOB NOT NULL, plain_sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL, purged_at TEXT
        );
        -- One row per stored page image. `claim` is the spool file name it came from:
        -- unique, so a replay after a crash can never store the same scan twice.
        CREATE TABLE pages (
            id TEXT PRIMARY KEY, claim TEXT NOT NULL UNIQUE, item_id TEXT REFERENCES items(id),
            page_no INTEGER, side TEXT NOT NULL, role TEXT NOT NULL,
            source_name TEXT NOT NULL, source_sha256 TEXT NOT NULL, source_size INTEGER NOT NULL,
            blob_id TEXT NOT NULL REFERENCES blobs(id), width INTEGER NOT NULL, height INTEGER NOT NULL,
            dpi INTEGER, mode TEXT NOT NULL, findings TEXT NOT NULL DEFAULT '[]', phash TEXT,
            batch_id TEXT, scanned_at TEXT NOT NULL, replaced_by TEXT,
            UNIQUE (item_id, page_no)
        );
        CREATE INDEX pages_batch ON pages(batch_id);
        CREATE TABLE quarantine (
            id TEXT PRIMARY KEY, claim TEXT NOT NULL UNIQUE, source_name TEXT NOT NULL,
            source_sha256 TEXT NOT NULL, source_size INTEGER NOT NULL, code TEXT NOT NULL,
            reason TEXT NOT NULL, blob_id TEXT REFERENCES blobs(id), created_at TEXT NOT NULL
        );
        CREATE TABLE batches (
            id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL,
            manifest TEXT, signature TEXT, manifest_sha256 TEXT, receipt TEXT,
            created_at TEXT NOT NULL, sealed_at TEXT, acked_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_try_at TEXT
        );
        CREATE TABLE print_jobs (
            id TEXT PRIMARY KEY, intake_id TEXT NOT NULL, printer TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at TEXT NOT NULL, printed_at TEXT
        );
        CREATE TABLE settings_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, place TEXT NOT NULL,
            prev_hash TEXT NOT NULL, hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        """
    ):
        db.execute(statement)


def _split(script: str) -> list[str]:
    # executescript() would COMMIT the migration's transaction; statements end at ";\n"
    return [s.strip() for s in script.split(";\n") if s.strip()]


@MIGRATIONS()
def m002_close_and_replace(db: Database) -> None:
    # 多扫/漏扫 findings when an item is closed; a rescan that replaces a page keeps its number
    db.execute("ALTER TABLE items ADD COLUMN count_findings TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE pages ADD COLUMN replaces TEXT")


@MIGRATIONS()
def m003_calendar(db: Database) -> None:
    # A deadline computed from a provisional year (holiday law only) is marked and recomputed
    # when the State Council arrangement is imported; 补登 = received more than 3 days earlier.
    db.execute("ALTER TABLE intakes ADD COLUMN deadline_provisional INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE intakes ADD COLUMN deadline_source TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE intakes ADD COLUMN late_entry INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "CREATE TABLE calendar_years (year INTEGER PRIMARY KEY, source TEXT NOT NULL, holidays TEXT NOT NULL, "
        "workdays TEXT NOT NULL, file_name TEXT NOT NULL, file_sha256 TEXT NOT NULL, imported_at TEXT NOT NULL)"
    )


@MIGRATIONS()
def m004_media(db: Database) -> None:
    # removable media central registered for this appliance (air-gapped carry)
    db.execute(
        """CREATE TABLE media (
            medium_id TEXT PRIMARY KEY, label TEXT NOT NULL, registration TEXT NOT NULL, fs_uuid TEXT,
            valid_until TEXT NOT NULL, initialised_at TEXT NOT NULL, last_export_at TEXT, last_export_batches INTEGER
        )"""
    )


@MIGRATIONS()
def m005_operators(db: Database) -> None:
    # kiosk operators (argon2id PIN hashes, lockout) and server-side sessions (edge.operators)
    for statement in _split(
        """
        CREATE TABLE operators (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, pin_hash TEXT NOT NULL,
            disabled_at TEXT, failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL
        );
        CREATE TABLE kiosk_sessions (
            id TEXT PRIMARY KEY, operator_id TEXT NOT NULL REFERENCES operators(id),
            started_at TEXT NOT NULL, last_seen TEXT NOT NULL, ended_at TEXT, end_reason TEXT
        );
        """
    ):
        db.execute(statement)


@MIGRATIONS()
def m006_counter(db: Database) -> None:
    # the counter kiosk: handover details (personal data encrypted by edge.vault), copies,
    # print jobs of every kind with an encrypted copy, custody register, served-document pickup
    for statement in _split(
        """
        ALTER TABLE items ADD COLUMN copies INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE items ADD COLUMN return_original INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE intake_details (
            intake_id TEXT PRIMARY KEY REFERENCES intakes(id), submitter_role TEXT NOT NULL,
            id_number BLOB, phone BLOB, urgent_reason TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
            temporary_number TEXT, linked_at TEXT
        );
        ALTER TABLE print_jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'receipt';
        ALTER TABLE print_jobs ADD COLUMN target TEXT;
        ALTER TABLE print_jobs ADD COLUMN reprint INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE print_jobs ADD COLUMN copy BLOB;
        ALTER TABLE print_jobs ADD COLUMN actor TEXT NOT NULL DEFAULT '';
        CREATE TABLE signatures (
            id TEXT PRIMARY KEY, method TEXT NOT NULL, signer TEXT NOT NULL, sealed BLOB NOT NULL, created_at TEXT NOT NULL
        );
        CREATE TABLE custody_events (
            id TEXT PRIMARY KEY, case_number TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
            from_party TEXT NOT NULL, to_party TEXT NOT NULL, from_signature TEXT NOT NULL REFERENCES signatures(id),
            to_signature TEXT NOT NULL REFERENCES signatures(id), purpose TEXT NOT NULL DEFAULT '',
            due_back TEXT, loan_id TEXT REFERENCES custody_events(id), condition TEXT, note TEXT NOT NULL DEFAULT '',
            clerk TEXT NOT NULL
        );
        CREATE INDEX custody_case ON custody_events(case_number, at);
        CREATE TABLE custody_items (
            event_id TEXT NOT NULL REFERENCES custody_events(id), item_id TEXT NOT NULL REFERENCES items(id),
            pages INTEGER NOT NULL, PRIMARY KEY (event_id, item_id)
        );
        CREATE TABLE pickups (
            id TEXT PRIMARY KEY, case_number TEXT NOT NULL, addressee TEXT NOT NULL, documents TEXT NOT NULL,
            registered_by TEXT NOT NULL, registered_at TEXT NOT NULL, handed_at TEXT, handed_by TEXT,
            id_checked TEXT, id_number BLOB, signature TEXT REFERENCES signatures(id), intake_id TEXT REFERENCES intakes(id),
            page_id TEXT
        );
        """
    ):
        db.execute(statement)


@MIGRATIONS()
def m007_suite(db: Database) -> None:
    # the crypto suite each blob was sealed with (shared/suites.py) and, for the sm suite,
    # the SM3 of its ciphertext that travels in the blob reference
    db.execute("ALTER TABLE blobs ADD COLUMN suite TEXT NOT NULL DEFAULT 'aes256gcm-hpke-x25519-ed25519'")
    db.execute("ALTER TABLE blobs ADD COLUMN sm3 TEXT")


@MIGRATIONS()
def m008_purge(db: Database) -> None:
    # the batch that reported a blob's purge to central (edge/purge.py)
    db.execute("ALTER TABLE blobs ADD COLUMN purge_batch_id TEXT")


@MIGRATIONS()
def m009_documents(db: Database) -> None:
    # Each item's PDF (edge/documents): one row per built version, image-only first, then the
    # searchable one that supersedes it; the OCR queue (earliest deadline first); filing notices.
    # Triggers mark an item "dirty" whenever its pages or catalog place change, so every operator
    # action (replace, assign, discard, reopen, close) leads to a rebuild without calling us.
    for statement in _split(
        """
        ALTER TABLE pages ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE documents (
            id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), version INTEGER NOT NULL,
            searchable INTEGER NOT NULL, blob_id TEXT NOT NULL REFERENCES blobs(id), signature TEXT NOT NULL,
            page_ids TEXT NOT NULL, page_count INTEGER NOT NULL, file_name TEXT NOT NULL, place TEXT NOT NULL,
            over_content TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL, superseded_by TEXT, batch_id TEXT,
            UNIQUE (item_id, version, searchable)
        );
        CREATE INDEX documents_batch ON documents(batch_id);
        CREATE INDEX documents_current ON documents(item_id) WHERE superseded_by IS NULL;
        CREATE TABLE document_dirty (item_id TEXT PRIMARY KEY, gen INTEGER NOT NULL DEFAULT 1, since TEXT NOT NULL);
        CREATE TABLE ocr_queue (
            document_id TEXT PRIMARY KEY, item_id TEXT NOT NULL,
            deadline_utc TEXT NOT NULL, urgent INTEGER NOT NULL, queued_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, not_before TEXT
        );
        CREATE TABLE notices (
            id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), document_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL, case_number TEXT NOT NULL, item_name TEXT NOT NULL, place TEXT NOT NULL,
            pages INTEGER NOT NULL, created_at TEXT NOT NULL, batch_id TEXT
        );
        """
    ):
        db.execute(statement)
    for trigger in _DIRTY_TRIGGERS:  # a trigger body holds ";\n": not for _split
        db.execute(trigger)


_DIRTY = "INSERT INTO document_dirty(item_id, since) {} ON CONFLICT(item_id) DO UPDATE SET gen = gen + 1;"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ')"
_DIRTY_TRIGGERS = (
    "CREATE TRIGGER documents_dirty_page_insert AFTER INSERT ON pages WHEN NEW.item_id IS NOT NULL BEGIN "
    + _DIRTY.format(f"VALUES (NEW.item_id, {_NOW})")
    + " END",
    "CREATE TRIGGER documents_dirty_page_update AFTER UPDATE OF item_id, page_no, role, side, rotation ON pages BEGIN "
    + _DIRTY.format(f"SELECT x, {_NOW} FROM (SELECT NEW.item_id AS x UNION SELECT OLD.item_id) WHERE x IS NOT NULL")
    + " END",
    "CREATE TRIGGER documents_dirty_item_update AFTER UPDATE OF closed_at, name, volume, catalog_dir ON items BEGIN "
    + _DIRTY.format(f"VALUES (NEW.id, {_NOW})")
    + " END",
)


@MIGRATIONS()
def m010_qc(db: Database) -> None:
    # the QC station (edge/items.py): approval and the second person's check (双人质检),
    # discarded pages with their reason, accepted QC findings, discarded quarantine files
    for statement in _split(
        """
        ALTER TABLE items ADD COLUMN approved_at TEXT;
        ALTER TABLE items ADD COLUMN approved_by TEXT;
        ALTER TABLE items ADD COLUMN approval_reason TEXT NOT NULL DEFAULT '';
        ALTER TABLE items ADD COLUMN two_person INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE items ADD COLUMN checked_at TEXT;
        ALTER TABLE items ADD COLUMN checked_by TEXT;
        ALTER TABLE pages ADD COLUMN discard_reason TEXT;
        ALTER TABLE pages ADD COLUMN discarded_by TEXT;
        ALTER TABLE pages ADD COLUMN accepted TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE quarantine ADD COLUMN discarded_at TEXT;
        ALTER TABLE quarantine ADD COLUMN discard_reason TEXT;
        ALTER TABLE quarantine ADD COLUMN discarded_by TEXT;
        """
    ):
        db.execute(statement)
    # a page's display rotation (clockwise; PDF /Rotate): m009_documents adds it; kept for homes
    # migrated while the QC station had landed before the documents
    if "rotation" not in {c[1] for c in db.execute("PRAGMA table_info(pages)").fetchall()}:
        db.execute("ALTER TABLE pages ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS()
def m011_retried(db: Database) -> None:
    # `edge quarantine --retry` puts a file back once (edge/quarantine.py): when, and under which name
    db.execute("ALTER TABLE quarantine ADD COLUMN retried_at TEXT")
    db.execute("ALTER TABLE quarantine ADD COLUMN retried_to TEXT")


@MIGRATIONS()
def m012_carry(db: Database) -> None:
    # the highest batch sequence number the last export to a medium wrote (edge/media.py): every
    # sealed batch at or below it is on that medium, waiting for central's receipt
    db.execute("ALTER TABLE media ADD COLUMN last_export_seq INTEGER")
