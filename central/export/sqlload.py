"""Loading the SQL Server index into a configured SQL Server (optional; python-tds, pure Python).

Most courts hand `index.sql` to their DBA. Where the archive names a SQL Server
in the settings (`sqlserver_host`, `sqlserver_port`, `sqlserver_database`,
`sqlserver_user`, `sqlserver_password_file`), `central export sql --load` sends
the script as one batch: it runs in its own transaction with XACT_ABORT ON, so
a failure leaves nothing behind. A server that cannot be reached is a Chinese
error naming it; the script stays in the export folder either way.

First a plain TCP connection is tried, so "nothing listens on that port" is
told apart from a server that answers but refuses the login.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from juanzong.central.config import SqlServerSettings
from juanzong.shared.errors import AppError, ErrorCode


@dataclass(frozen=True)
class LoadResult:
    server: str
    script_bytes: int

    def to_dict(self) -> dict[str, object]:
        return {"server": self.server, "script_bytes": self.script_bytes}


def require_server(server: SqlServerSettings | None) -> SqlServerSettings:
    if server is None:
        raise AppError(ErrorCode.SQLSERVER_NOT_CONFIGURED)
    return server


def load_script(server: SqlServerSettings, script: str) -> LoadResult:
    """Run the export's T-SQL script on the configured server, as one batch in its own transaction."""
    import pytds

    probe(server)
    try:
        conn = pytds.connect(
            dsn=server.host,
            port=server.port,
            database=server.database,
            user=server.user,
            password=_password(server),
            login_timeout=server.timeout_seconds,
            timeout=server.timeout_seconds,
            autocommit=True,
        )
    except (OSError, pytds.Error) as exc:
        raise AppError(ErrorCode.SQLSERVER_UNREACHABLE, server=server.label, detail=_reason(exc)) from exc
    try:
        with conn.cursor() as cursor:
            cursor.execute(script)
    except (OSError, pytds.Error) as exc:
        raise AppError(ErrorCode.SQLSERVER_LOAD_FAILED, server=server.label, detail=str(exc)[:300]) from exc
    finally:
        conn.close()
    return LoadResult(server.label, len(script.encode("utf-8")))


def probe(server: SqlServerSettings) -> None:
    """A TCP connection to the server's port, closed at once; refused or silent is SQLSERVER_UNREACHABLE."""
    try:
        with socket.create_connection((server.host, server.port), timeout=server.timeout_seconds):
            pass
    except OSError as exc:
        raise AppError(ErrorCode.SQLSERVER_UNREACHABLE, server=server.label, detail=_reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝，该地址的端口上没有 SQL Server 在监听"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "连接超时，服务器没有应答"
    if isinstance(exc, socket.gaierror):
        return "无法解析服务器地址"
    if isinstance(exc, OSError):
        return f"网络错误（{exc.strerror or exc}）"
    return f"登录或握手失败（{str(exc)[:200]}）"


def _password(server: SqlServerSettings) -> str:
    if server.password_file is None:
        return ""
    try:
        return Path(server.password_file).read_text("utf-8").strip()
    except OSError as exc:
        raise AppError(
            ErrorCode.SETTINGS_INVALID, detail=f"无法读取 sqlserver_password_file {server.password_file}（{exc.strerror}）"
        ) from exc
