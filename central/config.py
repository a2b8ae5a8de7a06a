"""Central settings: `<home>/config.toml`, loaded once into a frozen `CentralSettings`.

Every setting has a default and a line of help in `SETTINGS`; `central init`
writes the file from these, so the file the archive office sees documents
itself. Paths are relative to the home unless absolute. The database is a URL
(SQLAlchemy), so moving from the embedded SQLite file to PostgreSQL is a
configuration change, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juanzong.central.storage import S3Settings
from juanzong.shared import settings as shared_settings
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.settings import Setting, under

HOME_ENV = "JUANZONG_CENTRAL_HOME"
MIB = 1024 * 1024
BLOB_BACKENDS = ("local", "s3")


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "address `central serve` listens on"),
    Setting("port", 8470, "TCP port `central serve` listens on"),
    Setting("public_url", "", "URL appliances use to reach this server (empty = https://host:port)"),
    Setting("tls", True, "mutual TLS with the court's private CA (keys/ca.crt); false only for a loopback lab"),
    Setting("keys_dir", "keys", "signing and HPKE keys (0700); keep off shared storage"),
    Setting("data_dir", "data", "database file and blob store"),
    Setting("database_url", "", "SQLAlchemy URL (empty = SQLite file data/central.db; postgresql+psycopg://… to scale)"),
    Setting("blob_backend", "local", "blob store: local (files under data/blobs) or s3 (an S3-compatible object store)"),
    Setting("s3_endpoint_url", "", "S3 endpoint, e.g. https://rgw.court.example:7480 (empty = the SDK default for the region)"),
    Setting("s3_bucket", "", "S3 bucket holding the encrypted pages (blob_backend = s3)"),
    Setting("s3_region", "us-east-1", "S3 region name (Ceph RGW and SeaweedFS accept any)"),
    Setting("s3_prefix", "blobs/", "key prefix inside the bucket; keys are <prefix>ab/abcdef… (content-addressed)"),
    Setting("s3_addressing_style", "path", "path (on-premises stores) or virtual (bucket in the host name)"),
    Setting("s3_conditional_put", True, "create with If-None-Match: *; false for a store without it (HEAD then PUT)"),
    Setting("s3_ca_bundle", "", "CA file for an https endpoint signed by the court's CA (empty = system CAs)"),
    Setting(
        "s3_credentials_file",
        "",
        "INI file with [default] aws_access_key_id / aws_secret_access_key, 0600 "
        "(empty = AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment); never put keys in this file",
    ),
    Setting("workers", 1, "worker processes `central serve` starts on one socket (stateless; a province runs several)"),
    Setting("max_blob_bytes", 64 * MIB, "largest encrypted page accepted by PUT /api/blobs"),
    Setting("max_manifest_bytes", 64 * MIB, "largest batch manifest accepted by POST /api/manifests"),
    Setting(
        "request_timeout_seconds", 30, "TLS handshake, request headers, an idle connection and each body window must finish within this"
    ),
    Setting("max_connections", 256, "open sockets on the sync listener; more are closed at once"),
    Setting("max_connections_per_address", 32, "open sockets from one address; more are closed at once"),
    Setting("min_body_bytes_per_second", 1024, "an upload slower than this over a timeout window is cut"),
    Setting(
        "office_host", "127.0.0.1", "address of the archive office's pages (a second listener; TLS with the court CA's server certificate)"
    ),
    Setting("office_port", 8471, "TCP port of the archive office's pages (0 = do not serve them)"),
    Setting("office_idle_minutes", 15, "an office session ends after this many minutes without a request"),
    Setting("office_export_dir", "exports", "folder the office pages' export and backup buttons write into (a sub-folder per run)"),
    Setting(
        "backup_copies_required",
        2,
        "copies `central backup` must write at least (2 by the court contract; 3 where the archive requires); also the default",
    ),
    Setting(
        "sqlserver_host",
        "",
        "SQL Server that `central export sql --load` loads the index into (empty = none; the script is handed to a DBA)",
    ),
    Setting("sqlserver_port", 1433, "TCP port of that SQL Server"),
    Setting("sqlserver_database", "", "database the index tables are created in"),
    Setting("sqlserver_user", "", "SQL Server login (SQL authentication)"),
    Setting("sqlserver_password_file", "", "file holding that login's password, 0600 (never the password in this file)"),
    Setting("sqlserver_timeout_seconds", 10, "connecting to and each statement on that SQL Server must finish within this"),
    Setting(
        "clamav_database",
        "",
        "ClamAV signature file or folder for the four-property check (empty = /var/lib/clamav; import by hand when air-gapped)",
    ),
    Setting(
        "checkpoint_file",
        "audit/checkpoints.jsonl",
        "signed audit checkpoints, kept apart from the database (put it on other storage where possible)",
    ),
)


@dataclass(frozen=True)
class SqlServerSettings:
    """Where `central export sql --load` loads the index (optional: most courts hand the script to a DBA)."""

    host: str
    port: int
    database: str
    user: str
    password_file: Path | None
    timeout_seconds: int

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class CentralSettings:
    home: Path
    host: str
    port: int
    public_url: str
    tls: bool
    keys_dir: Path
    data_dir: Path
    database_url: str
    blob_backend: str
    workers: int
    max_blob_bytes: int
    max_manifest_bytes: int
    checkpoint_file: Path
    request_timeout_seconds: int
    max_connections: int
    max_connections_per_address: int
    min_body_bytes_per_second: int
    s3: S3Settings
    office_host: str = "127.0.0.1"
    office_port: int = 8471
    office_idle_minutes: int = 15
    office_export_dir: Path = Path("exports")
    clamav_database: str = ""
    backup_copies_required: int = 2
    sqlserver: SqlServerSettings | None = None  # None = no SQL Server configured

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def identity_path(self) -> Path:
        return self.home / "central-identity.json"


def config_path(home: Path) -> Path:
    return home / "config.toml"


def resolve_home(value: str | None) -> Path:
    return shared_settings.resolve_home(value, HOME_ENV, "中心目录")


def load_settings(home: Path) -> CentralSettings:
    return _from_mapping(home, shared_settings.read_values(home, SETTINGS, "central"))


def _from_mapping(home: Path, values: dict[str, Any]) -> CentralSettings:
    if not 0 < values["port"] < 65536:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"port {values['port']} 不是有效端口")
    if values["backup_copies_required"] < 1:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail="backup_copies_required 至少为 1")
    for name in (
        "workers",
        "max_blob_bytes",
        "max_manifest_bytes",
        "request_timeout_seconds",
        "max_connections",
        "max_connections_per_address",
    ):
        if values[name] <= 0:
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"{name} 必须为正整数")
    if values["blob_backend"] not in BLOB_BACKENDS:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"不支持的 blob_backend {values['blob_backend']}（可选 local、s3）")
    if values["blob_backend"] == "s3" and not values["s3_bucket"]:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail="blob_backend 为 s3 时必须设置 s3_bucket")
    if values["s3_addressing_style"] not in ("path", "virtual"):
        raise AppError(ErrorCode.SETTINGS_INVALID, detail="s3_addressing_style 只能是 path 或 virtual")
    data_dir = under(home, values["data_dir"])
    return CentralSettings(
        home=home,
        host=values["host"],
        port=values["port"],
        public_url=(values["public_url"] or f"{'https' if values['tls'] else 'http'}://{values['host']}:{values['port']}").rstrip("/"),
        tls=values["tls"],
        keys_dir=under(home, values["keys_dir"]),
        data_dir=data_dir,
        database_url=values["database_url"] or f"sqlite:///{data_dir / 'central.db'}",
        blob_backend=values["blob_backend"],
        workers=values["workers"],
        max_blob_bytes=values["max_blob_bytes"],
        max_manifest_bytes=values["max_manifest_bytes"],
        checkpoint_file=under(home, values["checkpoint_file"]),
        request_timeout_seconds=values["request_timeout_seconds"],
        max_connections=values["max_connections"],
        max_connections_per_address=values["max_connections_per_address"],
        min_body_bytes_per_second=values["min_body_bytes_per_second"],
        s3=_s3_settings(home, values),
        office_host=values["office_host"],
        office_port=values["office_port"],
        office_idle_minutes=max(1, values["office_idle_minutes"]),
        office_export_dir=under(home, values["office_export_dir"]),
        clamav_database=str(under(home, values["clamav_database"])) if values["clamav_database"] else "",
        backup_copies_required=values["backup_copies_required"],
        sqlserver=_sqlserver_settings(home, values),
    )


def _sqlserver_settings(home: Path, values: dict[str, Any]) -> SqlServerSettings | None:
    if not values["sqlserver_host"]:
        return None
    if not 0 < values["sqlserver_port"] < 65536:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"sqlserver_port {values['sqlserver_port']} 不是有效端口")
    if not values["sqlserver_database"]:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail="设置了 sqlserver_host 时必须设置 sqlserver_database")
    password_file = values["sqlserver_password_file"]
    return SqlServerSettings(
        host=values["sqlserver_host"],
        port=values["sqlserver_port"],
        database=values["sqlserver_database"],
        user=values["sqlserver_user"],
        password_file=under(home, password_file) if password_file else None,
        timeout_seconds=max(1, values["sqlserver_timeout_seconds"]),
    )


def _s3_settings(home: Path, values: dict[str, Any]) -> S3Settings:
    def path(name: str) -> str:
        return str(under(home, values[name])) if values[name] else ""

    return S3Settings(
        endpoint_url=values["s3_endpoint_url"],
        bucket=values["s3_bucket"],
        region=values["s3_region"],
        prefix=values["s3_prefix"],
        addressing_style=values["s3_addressing_style"],
        conditional_put=values["s3_conditional_put"],
        ca_bundle=path("s3_ca_bundle"),
        credentials_file=path("s3_credentials_file"),
    )


def render_config(values: dict[str, Any]) -> str:
    """The config file `central init` writes: every setting with its help."""
    return shared_settings.render_config(SETTINGS, values, "卷宗 central server settings")
