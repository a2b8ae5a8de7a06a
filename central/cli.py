"""`juanzong central …`: the court server's commands.

init, enroll, serve, report, verify, export-page. Every command takes
`--home DIR` (or `JUANZONG_CENTRAL_HOME`). Heavy libraries (Litestar,
SQLAlchemy, uvicorn) are imported inside the command functions so that the
other `juanzong` sub-commands start instantly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juanzong.shared import clock
from juanzong.shared.audit import Action
from juanzong.shared.ids import format_id

if TYPE_CHECKING:
    from juanzong.central.config import CentralSettings


def _settings(args: argparse.Namespace) -> CentralSettings:
    from juanzong.central.config import load_settings, resolve_home

    return load_settings(resolve_home(args.home))


def _emit(args: argparse.Namespace, data: Any, *lines: str) -> None:
    """The JSON with --json, else the Chinese lines (point 5 of issue 8: a short summary by default)."""
    from juanzong.shared.cli import print_json

    if getattr(args, "json", False):
        print_json(data)
        return
    for line in lines:
        print(line)


def cmd_init(args: argparse.Namespace) -> int:
    from juanzong.central.config import resolve_home
    from juanzong.central.home import init_home
    from juanzong.shared.cli import print_json

    extra = {name: getattr(args, name) for name in INIT_SETTINGS if getattr(args, name) is not None}
    court_ca = (Path(args.ca_cert), Path(args.ca_key)) if args.ca_cert or args.ca_key else None
    if court_ca and not (args.ca_cert and args.ca_key):
        from juanzong.shared.errors import AppError, ErrorCode

        raise AppError(ErrorCode.CA_INVALID, detail="--ca-cert 与 --ca-key 须同时给出")
    out = init_home(resolve_home(args.home), args.host, args.port, tls=not args.no_tls, extra=extra, court_ca=court_ca)
    if args.json:
        print_json(out)
    else:
        print(f"中心目录已建立：{resolve_home(args.home)}，中心编号 {out.get('central_id', '')}，地址 {out.get('url', '')}")
        print(f"把 {resolve_home(args.home)}/central-identity.json 交给各扫描点（edge init --central 或 edge pair --central）")
    return 0


def cmd_orphans(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from juanzong.central.home import open_central
    from juanzong.central.orphans import find_orphans, remove_orphans
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    try:
        if args.remove:
            removed, kept = remove_orphans(central, timedelta(hours=args.grace_hours))
            out = {"removed": [o.to_dict() for o in removed], "kept_in_grace": [o.to_dict() for o in kept]}
        else:
            out = {"orphans": [o.to_dict() for o in find_orphans(central)]}
    finally:
        central.close()
    if args.json:
        print_json(out)
    elif args.remove:
        print(f"已删除孤立数据块 {len(out['removed'])} 个（已记入审计），保留期内暂不删除 {len(out['kept_in_grace'])} 个")
    else:
        print(f"孤立数据块 {len(out['orphans'])} 个：")
        for o in out["orphans"]:
            print(f"  {o['sha256']}  {o['size']} 字节  存入 {o['stored_at']}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from juanzong.central.home import open_central
    from juanzong.central.repository import utc_now
    from juanzong.central.tls import revoke
    from juanzong.shared.errors import AppError, ErrorCode
    from juanzong.shared.ids import normalise_id

    settings = _settings(args)
    central = open_central(settings)
    try:
        appliance_id = normalise_id(args.appliance_id)
        if central.repo.appliance(appliance_id) is None:
            raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=appliance_id)
        appliance = central.repo.revoke(appliance_id, args.reason, utc_now())
    finally:
        central.close()
    serials = [int(s, 16) for s in appliance.cert_serials.split()]
    listed = revoke(settings.keys_dir, serials) if settings.tls else 0
    _emit(
        args,
        {
            "appliance_id": appliance.appliance_id,
            "revoked_at": appliance.revoked_at,
            "reason": appliance.revoked_reason,
            "certificates_revoked": len(serials),
            "crl_entries": listed,
        },
        f"扫描设备 {format_id(appliance.appliance_id)} 已撤销（原因：{appliance.revoked_reason}）：吊销证书 {len(serials)} 张，"
        f"此后其连接与批次清单一律拒收（已记入审计）",
    )
    return 0


def cmd_renew_server(args: argparse.Namespace) -> int:
    from juanzong.central.tls import public, renew_server
    from juanzong.shared.durable import write_durable

    settings = _settings(args)
    fingerprint = renew_server(settings.keys_dir, settings.host)
    ident = {**json.loads(settings.identity_path.read_text("utf-8")), **public(settings.keys_dir)}
    write_durable(settings.identity_path, (json.dumps(ident, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    _emit(
        args,
        {
            "tls_fingerprint": fingerprint,
            "identity": str(settings.identity_path),
            "next": "每台扫描设备执行 edge pair --central central-identity.json 以更新固定的证书指纹",
        },
        f"已签发新的服务器证书（指纹 {fingerprint[:16]}…），{settings.identity_path} 已更新",
        "下一步：每台扫描设备执行 edge pair --central central-identity.json 以更新固定的证书指纹",
    )
    return 0


# settings `central init` can write (a province: the database URL and the S3 store; keys never)
INIT_SETTINGS = {
    "database_url": "数据库地址（SQLAlchemy URL），如 postgresql+psycopg://central@db.court/juanzong（默认：data/ 中的 SQLite）",
    "blob_backend": "数据块存储：local（默认）或 s3",
    "s3_endpoint_url": "S3 服务地址（Ceph RGW、SeaweedFS 等）",
    "s3_bucket": "存放加密页面的 S3 存储桶",
    "s3_region": "S3 区域名",
    "s3_prefix": "存储桶内的键前缀（默认 blobs/）",
    "s3_credentials_file": "含 S3 密钥的 INI 文件（默认取 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY）",
}


def client_certificate(keys_dir: Path, identity: Path, appliance_id: str) -> str:
    from juanzong.central.tls import issue_client
    from juanzong.shared.errors import AppError, ErrorCode

    csr = json.loads(identity.read_text("utf-8")).get("tls_csr")
    if not isinstance(csr, str):
        raise AppError(ErrorCode.APPLIANCE_IDENTITY_INVALID, path=str(identity), detail="缺少 TLS 证书申请 tls_csr")
    return issue_client(keys_dir, csr, appliance_id)


def cmd_keys_rotate_hpke(args: argparse.Namespace) -> int:
    from juanzong.central import audit, keys
    from juanzong.central.home import open_central
    from juanzong.shared.durable import write_durable

    settings = _settings(args)
    old_id, new_id = keys.rotate_hpke(settings.keys_dir)
    ident = json.loads(settings.identity_path.read_text("utf-8"))
    ident["hpke_public"] = crypto_b64_public(keys.load_keys(settings.keys_dir).hpke)
    write_durable(settings.identity_path, (json.dumps(ident, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    central = open_central(settings)
    try:
        audit.record(central.repo.engine, actor=args.actor, action=Action.KEY_ROTATE, target="hpke", old_key=old_id, new_key=new_id)
    finally:
        central.close()
    _emit(
        args,
        {
            "old_key": old_id,
            "new_key": new_id,
            "identity": str(settings.identity_path),
            "next": "每台扫描设备执行 edge pair --central <新的 central-identity.json>；旧密钥保留用于读取旧数据",
        },
        f"已启用新的加密密钥 {new_id}（旧密钥 {old_id} 保留，用于读取旧数据；已记入审计）",
        f"下一步：每台扫描设备执行 edge pair --central {settings.identity_path}",
    )
    return 0


def crypto_b64_public(key) -> str:
    from juanzong.shared import crypto

    return crypto.b64(crypto.public_bytes(key.public_key()))


def cmd_enroll(args: argparse.Namespace) -> int:
    from juanzong.central.appliances import enroll, read_identity
    from juanzong.central.home import open_central
    from juanzong.shared.cli import print_json
    from juanzong.shared.durable import write_durable

    settings = _settings(args)
    candidate = read_identity(Path(args.identity))
    if args.renew:
        return _enroll_renew(args, settings, candidate)
    # the certificate request is checked before anything is stored
    cert = client_certificate(settings.keys_dir, Path(args.identity), candidate.appliance_id) if settings.tls else None
    central = open_central(settings)
    try:
        known = central.repo.appliance(candidate.appliance_id)
        if known is not None and known.revoked_at:
            from juanzong.shared.errors import AppError, ErrorCode

            raise AppError(ErrorCode.APPLIANCE_REVOKED, appliance_id=candidate.appliance_id)
        out = enroll(central.repo, candidate).to_dict()
        if cert:  # enrolling again renews the client certificate; every serial is kept for revocation
            from juanzong.central.tls import serial_of

            central.repo.add_cert_serial(candidate.appliance_id, serial_of(cert))
    finally:
        central.close()
    if cert:
        out["client_cert"] = cert
    if args.out:
        write_durable(Path(args.out), json.dumps(out, ensure_ascii=False, indent=2).encode("utf-8"))
    if args.json:
        print_json(out)
    else:
        handed = f"，登记文件写在 {args.out}，交扫描点执行 edge pair --enrolment" if args.out else ""
        print(f"扫描设备 {format_id(candidate.appliance_id)} 已登记{handed}")
    return 0


def _enroll_renew(args: argparse.Namespace, settings, candidate) -> int:
    """A new signing key (and client certificate) for an enrolled appliance; its batches and
    sequence stay. The request must be signed by the key on record (edge/renew.py)."""
    from juanzong.central.appliances import renew
    from juanzong.central.home import open_central
    from juanzong.shared.durable import write_durable

    raw = json.loads(Path(args.identity).read_text("utf-8"))
    central = open_central(settings)
    try:
        out = renew(central.repo, raw, args.identity).to_dict()  # verified before any certificate is issued
        if settings.tls:
            from juanzong.central.tls import serial_of

            cert = client_certificate(settings.keys_dir, Path(args.identity), candidate.appliance_id)
            central.repo.add_cert_serial(candidate.appliance_id, serial_of(cert))
            out["client_cert"] = cert
    finally:
        central.close()
    out["renewed"] = True
    if args.out:
        write_durable(Path(args.out), json.dumps(out, ensure_ascii=False, indent=2).encode("utf-8"))
    handed = f"，登记文件写在 {args.out}，交扫描点执行 edge pair --enrolment" if args.out else ""
    _emit(args, out, f"扫描设备 {format_id(candidate.appliance_id)} 的新密钥已登记（设备编号与批次序号不变）{handed}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from juanzong.central import db

    engine = db.make_engine(_settings(args).database_url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
        _emit(
            args,
            {"from": before, "to": after, "head": db.head_revision()},
            f"数据库结构已是最新版本（{after}）" if before == after else f"数据库结构已从 {before or '空'} 升级到 {after}",
        )
    finally:
        engine.dispose()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from juanzong.central.office.serve import start_child, stop_child
    from juanzong.central.serve import run

    settings = _settings(args)
    office = None if args.no_office else start_child(settings)
    try:
        run(settings, args.host or settings.host, args.port or settings.port, args.workers or settings.workers)
    finally:
        stop_child(office)
    return 0


def cmd_serve_office(args: argparse.Namespace) -> int:
    from juanzong.central.office.serve import run

    settings = _settings(args)
    run(settings, args.host or settings.office_host, args.port or settings.office_port)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from juanzong.central.home import open_central
    from juanzong.central.reconcile.report import build_report, render_text
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    try:
        report = build_report(central.repo)
    finally:
        central.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print(render_text(report))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from juanzong.central.home import open_central
    from juanzong.central.reconcile.verify import render_text, verify_store
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    try:
        result = verify_store(central)
    finally:
        central.close()
    if args.json:
        print_json(result.to_dict())
    else:
        print(render_text(result))
    return 0 if result.ok else 1


def cmd_export_page(args: argparse.Namespace) -> int:
    from juanzong.central.home import open_central
    from juanzong.central.pages import open_page
    from juanzong.shared.durable import write_durable
    from juanzong.shared.ids import normalise_id

    central = open_central(_settings(args))
    try:
        plain = open_page(central, normalise_id(args.page_id))
    finally:
        central.close()
    write_durable(Path(args.out).resolve(), plain, mode=0o600)  # plaintext: owner-only
    print(f"已导出页面 {format_id(normalise_id(args.page_id))} 到 {args.out}（{len(plain)} 字节）", file=sys.stderr)
    return 0


def _operator(args: argparse.Namespace) -> str:
    import getpass
    import os

    return args.operator or os.environ.get("SUDO_USER") or getpass.getuser()


def cmd_media_register(args: argparse.Namespace) -> int:

    from juanzong.central.home import open_central
    from juanzong.central.media import register, registration_file_bytes
    from juanzong.shared.cli import print_json
    from juanzong.shared.durable import write_durable

    central = open_central(_settings(args))
    try:
        signed = register(central, args.appliance, args.label, days=args.days, actor=_operator(args), now=clock.now())
    finally:
        central.close()
    write_durable(Path(args.out), registration_file_bytes(signed))
    doc = json.loads(signed.body)
    if args.json:
        print_json(doc)
    else:
        print(
            f"已登记介质 {doc['medium_id']}（{doc['label']}），仅供扫描设备 {doc['appliance_id']} 使用，"
            f"有效期至 {doc['valid_until']}；登记文件 {args.out}"
        )
    return 0


def cmd_media_import(args: argparse.Namespace) -> int:

    from juanzong.central.home import open_central
    from juanzong.central.media import import_medium
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    try:
        report = import_medium(central, Path(args.source), actor=_operator(args), now=clock.now())
    finally:
        central.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print(
            f"介质 {report.medium_id}（扫描设备 {format_id(report.appliance_id)}）：新导入 {len(report.new)} 个批次，"
            f"已导入过 {len(report.replayed)} 个，拒收 {len(report.refused)} 个；回执已写回介质"
        )
        for r in report.refused:
            print(f"  拒收 {r['batch_id']}：{r['message']}（{r['code']}）")
    return 0 if not report.refused else 1


def cmd_export(args: argparse.Namespace) -> int:

    from juanzong.central.export.jobs import Scope, run_export
    from juanzong.central.home import open_central
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    try:
        result = run_export(
            central,
            args.format,
            Path(args.out),
            Scope(args.case, args.since),
            actor=_operator(args),
            now=clock.now(),
            ascii_names=getattr(args, "ascii", False),
            xml=getattr(args, "xml", False),
            utf16=getattr(args, "utf16", False),
            bcp=getattr(args, "bcp", False),
            load=getattr(args, "load", False),
        )
    finally:
        central.close()
    if args.json:
        print_json(result)
    else:
        print(_export_summary(args.format, result))
    return 0


def _export_summary(fmt: str, r: dict) -> str:
    if fmt == "dossier":
        head = f"已导出 {r['cases']} 个案件、{r['items']} 件材料、{r['pages']} 页到 {r['out']}"
        head += f"；{r['stored_documents']} 件用扫描点生成的可检索文档"
        notes = [f"  材料 {a['item_id']}：{a['note']}" for a in r.get("assembled", [])]
        notes += [f"  材料 {item_id}：待扫描，尚无页面，只列入索引" for item_id in r.get("unscanned", [])]
        assembled = len(r.get("assembled", []))
        return "\n".join([head + (f"，{assembled} 件由页面原图组成" if assembled else "") + ("：" if notes else ""), *notes])
    if fmt == "sql":
        rows = r["rows"]
        loaded = f"；已装载到 SQL Server {r['loaded']['server']}" if r.get("loaded") else ""
        return (
            f"已生成 SQL Server 索引 {r['out']}/index.sql：案件 {rows['jz_cases']} 个，材料 {rows['jz_items']} 件，"
            f"页面 {rows['jz_pages']} 页，挂接文件 {r['files']} 个{loaded}"
        )
    if fmt == "excel":
        return f"已生成 Excel 目录 {r['out']}：{r['rows']} 行"
    return f"已生成 {r['count']} 个材料压缩包到 {r['out']}"


def cmd_backup(args: argparse.Namespace) -> int:

    from juanzong.central.backup import RECOVERY_PUBLIC_FILE, backup, load_recovery_public
    from juanzong.central.home import open_central
    from juanzong.shared.cli import print_json
    from juanzong.shared.errors import AppError, ErrorCode

    settings = _settings(args)
    if not args.to:
        raise AppError(ErrorCode.USAGE_INVALID, detail="central backup 需要 --to 备份位置（或子命令 verify / keygen）")
    public = load_recovery_public(Path(args.recovery_public) if args.recovery_public else settings.home / RECOVERY_PUBLIC_FILE)
    central = open_central(settings)
    try:
        report = backup(central, Path(args.to), args.copies, public, actor=_operator(args), now=clock.now())
    finally:
        central.close()
    if args.json:
        print_json(report.to_dict())
    else:
        state = "全部校验通过" if report.ok else "校验未通过"
        print(f"已写入 {len(report.copies)} 份备份（数据块 {report.blobs} 个，数据库 {report.rows} 行），回读{state}：")
        for c in report.copies:
            print(f"  {c.path}：{'通过' if c.ok else '未通过'}，{c.files} 个文件")
    return 0 if report.ok else 1


def cmd_backup_verify(args: argparse.Namespace) -> int:
    from juanzong.central.backup import bags_under, verify_bag
    from juanzong.shared.cli import print_json
    from juanzong.shared.errors import AppError, ErrorCode

    bags = bags_under(Path(args.path))
    if not bags:
        raise AppError(ErrorCode.BACKUP_DAMAGED, path=args.path, count=1)
    checks = [verify_bag(b) for b in bags]
    if args.json:
        print_json([c.to_dict() for c in checks])
    for c in checks if not args.json else ():
        print(f"{c.path}：{'通过' if c.ok else '未通过'}（{c.files} 个文件）")
        for label, names in (("缺失", c.missing), ("被改动", c.changed), ("多出", c.extra), ("问题", c.problems)):
            for name in names:
                print(f"  {label}：{name}")
    return 0 if all(c.ok for c in checks) else 1


def cmd_backup_keygen(args: argparse.Namespace) -> int:
    from juanzong.central.backup import keygen

    home = _settings(args).home if args.home or os.environ.get("JUANZONG_CENTRAL_HOME") else None
    fp = keygen(Path(args.out), home)
    where = f"，公钥已放入中心目录 {home}" if home else ""
    print(f"备份恢复密钥已写入 {args.out}（指纹 {fp}）{where}。请将私钥交档案室离线保管，不要留在中心服务器上。")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from juanzong.central.backup import bags_under, restore
    from juanzong.central.config import resolve_home
    from juanzong.shared.cli import print_json
    from juanzong.shared.errors import AppError, ErrorCode

    bags = bags_under(Path(args.source))
    if not bags:
        raise AppError(ErrorCode.BACKUP_DAMAGED, path=args.source, count=1)
    out = restore(bags[0], Path(args.recovery_key), resolve_home(args.home))
    if args.json:
        print_json(out)
    else:
        print(f"已从 {bags[0]} 恢复到 {out['home']}：数据库 {out['rows']} 行，数据块 {out['blobs']} 个。请运行 central verify 核对。")
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    import getpass

    from juanzong.central.home import open_central
    from juanzong.central.office.repository import OfficeRepository
    from juanzong.central.office.users import ROLE_LABELS, Role, add_user, disable_user
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    repo, now, actor = OfficeRepository(central.repo.engine), clock.now(), _operator(args)
    try:
        if args.user_command == "add":
            password = None
            if args.role != Role.CASE_SYSTEM:
                password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("密码：")
            token = add_user(repo, central.repo.engine, args.id, args.name, args.role, password, actor=actor, now=now)
            print(f"已添加账号 {args.id}（{args.name}，{ROLE_LABELS[Role(args.role)]}）")
            if token:
                print(f"接口令牌（只显示这一次，请交案件系统管理员保存）：{token}")
        elif args.user_command == "disable":
            disable_user(repo, central.repo.engine, args.id, actor=actor, now=now)
            print(f"已停用账号 {args.id}")
        else:
            users = [{"user_id": u.user_id, "name": u.name, "role": u.role, "disabled": bool(u.disabled_at)} for u in repo.users()]
            if args.json:
                print_json(users)
            for u in users if not args.json else ():
                state = "已停用" if u["disabled"] else "正常"
                print(f"{u['user_id']}\t{u['name']}\t{ROLE_LABELS[Role(str(u['role']))]}\t{state}")
    finally:
        central.close()
    return 0


def cmd_document(args: argparse.Namespace) -> int:
    from juanzong.central.documents import open_document
    from juanzong.central.home import open_central
    from juanzong.shared.durable import write_durable
    from juanzong.shared.ids import Kind, require_id

    central = open_central(_settings(args))
    try:
        ref, pdf = open_document(central, require_id(args.item_id, Kind.ITEM))
    finally:
        central.close()
    write_durable(Path(args.out).resolve(), pdf, mode=0o600)  # plaintext: owner-only
    kind = "可检索（双层）" if ref.searchable else "图像版（文字识别尚未完成）"
    print(
        f"已导出材料 {format_id(ref.item_id)} 的 PDF 文档 {ref.file_name}（第 {ref.version} 版，{kind}，{len(ref.page_ids)} 页）到 {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_notices(args: argparse.Namespace) -> int:
    from juanzong.central.documents import notices
    from juanzong.central.home import open_central
    from juanzong.central.notices import normalise_since
    from juanzong.shared.cli import print_json

    central = open_central(_settings(args))
    try:
        found = notices(central, normalise_since(args.since))
    finally:
        central.close()
    if args.json:
        print_json(found)
        return 0
    from juanzong.shared.manifest import NoticeKind, Volume

    volumes = {Volume.MAIN: "正卷", Volume.INTERNAL: "副卷"}
    for n in found:
        place = n["place"]
        print(
            f"{n['received_at']}  {n['case_number']}  {n['item_name']}：{volumes.get(place['volume'], place['volume'])}"
            f" {place['catalog_dir'] or '未编目'} 第{place['order']}件，{n['pages']} 页，已入电子卷宗（{'更新' if n['kind'] == NoticeKind.UPDATED else '新入卷'}）"
        )
    print(f"共 {len(found)} 条入卷提醒")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    central = sub.add_parser("central", help="中心档案服务器", description="中心档案服务器的命令")
    commands = central.add_subparsers(dest="central_command", required=True, title="子命令", metavar="命令")

    def command(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--home", help="中心目录（默认取 $JUANZONG_CENTRAL_HOME）")
        p.set_defaults(func=func)
        return p

    p = command("init", cmd_init, "建立中心目录：配置、密钥、数据库和数据块存储")
    p.add_argument("--host", default="127.0.0.1", help="监听地址")
    p.add_argument("--port", type=int, default=8470, help="监听端口")

    p.add_argument("--no-tls", action="store_true", help="不用 TLS 的明文 HTTP：只用于本机回环的实验环境")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--ca-cert", help="法院现有的 CA 证书（PEM），代替自动生成的 CA")
    p.add_argument("--ca-key", help="该 CA 的私钥（PEM，不加密；保存在 keys/，权限 0600）")
    for name, help_text in INIT_SETTINGS.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, default=None, help=help_text)

    keys = commands.add_parser("keys", help="中心的密钥", description="中心的密钥").add_subparsers(
        dest="keys_command", required=True, title="子命令", metavar="命令"
    )
    p = keys.add_parser("rotate-hpke", help="生成新的 HPKE 密钥用于加密；旧密钥保留以读取旧数据（记入审计）")
    p.add_argument("--home", help="中心目录（默认取 $JUANZONG_CENTRAL_HOME）")
    p.add_argument("--actor", default="admin", help="经办人")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_keys_rotate_hpke)

    p = command("enroll", cmd_enroll, "按扫描设备的身份文件登记设备")
    p.add_argument("identity", metavar="身份文件", help="扫描设备的 appliance-identity.json")
    p.add_argument("--out", help="写出登记文件（含 TLS 客户端证书），供 edge pair 使用")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--renew", action="store_true", help="身份文件是 edge keys renew 生成的换钥申请：新密钥，设备编号与批次序号不变")

    p = command("migrate", cmd_migrate, "把数据库结构升级到最新版本（每次启动时也会自动执行）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("orphans", cmd_orphans, "列出没有任何批次清单引用的数据块；加 --remove 删除超过宽限期的（记入审计）")
    p.add_argument("--remove", action="store_true", help="删除超过宽限期的孤立数据块")
    p.add_argument("--grace-hours", type=float, default=24.0, help="宽限期（小时，默认 24），更新的孤立数据块保留")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("revoke", cmd_revoke, "撤销一台扫描设备：拒绝其 TLS 证书（吊销列表）和批次清单，记入审计")
    p.add_argument("appliance_id", metavar="设备编号")
    p.add_argument("--reason", required=True, help="撤销原因（记入审计）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("renew-server", cmd_renew_server, "由 CA 签发新的服务器证书（扫描设备需重新固定指纹）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("serve", cmd_serve, "运行中心服务（同步接口与档案室页面）")
    p.add_argument("--host", default=None, help="覆盖配置中的监听地址")
    p.add_argument("--port", type=int, default=None, help="覆盖配置中的监听端口")
    p.add_argument("--workers", type=int, default=None, help="同一端口上的工作进程数（默认取配置 workers）")
    p.add_argument("--no-office", action="store_true", help="不启动档案室页面（office_host/office_port）")
    p.set_defaults(log_info=True)

    p = command("serve-office", cmd_serve_office, "只运行档案室页面（central serve 也会启动它）")
    p.add_argument("--host", default=None, help="覆盖 office_host")
    p.add_argument("--port", type=int, default=None, help="覆盖 office_port")

    p.set_defaults(log_info=True)

    p = command("report", cmd_report, "对账：申报页数与收到页数、批次序号缺口")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("verify", cmd_verify, "完整性检查：重新计算数据块哈希并解密每一页")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    media = commands.add_parser("media", help="移动介质：登记与导入（无网络的扫描点）").add_subparsers(
        dest="media_command", required=True, title="子命令", metavar="命令"
    )
    for name, func, text in (
        ("register", cmd_media_register, "为一台扫描设备登记一个移动介质，生成签名的登记文件"),
        ("import", cmd_media_import, "导入介质上的批次（与网络同步相同的检查），并写回中心回执"),
    ):
        p = media.add_parser(name, help=text, description=text)
        p.add_argument("--home", help="中心目录（默认取 $JUANZONG_CENTRAL_HOME）")
        p.add_argument("--operator", help="经办人（默认取系统登录名）")
        p.add_argument("--json", action="store_true", help="以 JSON 输出")
        p.set_defaults(func=func)
        if name == "register":
            p.add_argument("--appliance", required=True, help="扫描设备编号")
            p.add_argument("--label", required=True, help="介质标签（贴在介质上的文字）")
            p.add_argument("--days", type=int, default=365, help="有效天数（默认 365）")
            p.add_argument("--out", required=True, help="登记文件的输出路径")
        else:
            p.add_argument("--from", dest="source", required=True, help="介质的挂载目录")

    export = commands.add_parser("export", help="导出案件系统与档案系统读取的格式（解密内容只写到指定位置）")
    formats = export.add_subparsers(dest="format", required=True, title="格式", metavar="格式")
    for name, text in (
        ("dossier", "按正卷/副卷与卷宗目录顺序导出每件材料的 PDF 与索引"),
        ("sql", "生成 SQL Server 索引（T-SQL 脚本，可选 bcp 文件）及其挂接文件"),
        ("excel", "生成 Excel 卷内目录（DA/T 18 著录项）"),
        ("zip", "每件材料一个 ZIP 包（ASCII 成员名，中文在清单内）"),
    ):
        p = formats.add_parser(name, help=text, description=text)
        p.add_argument("--home", help="中心目录（默认取 $JUANZONG_CENTRAL_HOME）")
        p.add_argument("--operator", help="经办人（默认取系统登录名）")
        p.add_argument("--json", action="store_true", help="以 JSON 输出")
        p.add_argument("--case", help="只导出这个案号")
        p.add_argument("--since", help="只导出此时间（ISO）之后收取的材料")
        p.add_argument("--out", required=True, help="导出位置（空文件夹；excel 为 .xlsx 文件）")
        p.set_defaults(func=cmd_export)
        if name == "dossier":
            p.add_argument("--ascii", action="store_true", help="文件夹与文件名只用 ASCII（中文在索引内）")
            p.add_argument("--xml", action="store_true", help="另写 index.xml")
        if name == "sql":
            p.add_argument("--utf16", action="store_true", help="脚本用 UTF-16LE（带 BOM）编码")
            p.add_argument("--bcp", action="store_true", help="另写 bcp 数据文件与格式文件")
            p.add_argument(
                "--load", action="store_true", help="生成后装载到设置中的 SQL Server（sqlserver_host 等；整体一个事务，失败即回滚）"
            )

    p = command("backup", cmd_backup, "离线备份：写 N 份 BagIt 备份并逐份回读校验")
    p.add_argument("--to", help="备份位置（每份一个子文件夹）")
    p.add_argument("--copies", type=int, default=None, help="副本数（默认取设置 backup_copies_required，通常 2；不得少于该设置）")
    p.add_argument("--recovery-public", help="恢复公钥文件（默认取中心目录的 backup-recovery.pub）")
    p.add_argument("--operator", help="经办人（默认取系统登录名）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    backup_sub = p.add_subparsers(dest="backup_command", required=False)
    v = backup_sub.add_parser(
        "verify", help="校验备份，逐个列出缺失、被改动、多出的文件", description="校验备份，逐个列出缺失、被改动、多出的文件"
    )
    v.add_argument("path", metavar="备份目录")
    v.add_argument("--json", action="store_true", help="以 JSON 输出")
    v.set_defaults(func=cmd_backup_verify)
    k = backup_sub.add_parser("keygen", help="生成备份恢复密钥（私钥离线保管，公钥留在中心）", description="生成备份恢复密钥")
    k.add_argument("--out", required=True, help="私钥文件")
    k.add_argument("--home", help="中心目录（公钥写入这里）")
    k.set_defaults(func=cmd_backup_keygen)

    p = command("restore", cmd_restore, "从备份恢复到一个空的中心目录")
    p.add_argument("--from", dest="source", required=True, help="备份（一份的文件夹，或含多份的文件夹）")
    p.add_argument("--recovery-key", required=True, help="备份恢复私钥文件")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    users = commands.add_parser("user", help="档案室账号：添加、停用、列出").add_subparsers(
        dest="user_command", required=True, title="子命令", metavar="命令"
    )
    for name, text in (("add", "添加账号（密码从标准输入读取；案件系统接口账号生成令牌）"), ("disable", "停用账号"), ("list", "列出账号")):
        p = users.add_parser(name, help=text, description=text)
        p.add_argument("--home", help="中心目录（默认取 $JUANZONG_CENTRAL_HOME）")
        p.add_argument("--operator", help="经办人（默认取系统登录名）")
        p.set_defaults(func=cmd_user)
        if name in ("add", "disable"):
            p.add_argument("--id", required=True, help="账号")
        if name == "add":
            p.add_argument("--name", required=True, help="姓名")
            p.add_argument(
                "--role",
                required=True,
                choices=["clerk", "supervisor", "auditor", "case_system"],
                help="clerk 档案员 / supervisor 档案室主管 / auditor 审计员 / case_system 案件系统接口",
            )
        if name == "list":
            p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("document", cmd_document, "把一件材料当前的 PDF（已加页码章，文字识别完成后可检索）解密到文件；记入审计")
    p.add_argument("item_id", metavar="材料编号")
    p.add_argument("--out", required=True, help="输出文件")

    p = command("notices", cmd_notices, "各扫描点送来的入卷提醒")
    p.add_argument("--since", help="只列此时间（ISO）及之后收到的提醒")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = command("export-page", cmd_export_page, "把一页解密到文件（抽查用）")
    p.add_argument("page_id", metavar="页面编号")
    p.add_argument("--out", required=True, help="输出文件")
