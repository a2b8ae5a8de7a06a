"""Typed errors with stable codes and Chinese messages.

Every failure a person can see carries an `ErrorCode` (stable: logs, APIs and
tests match on it) and a Chinese message for the screen. Messages are templates
filled from the error's parameters, so the message and the logged fields never
disagree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # settings, home, keys
    SETTINGS_INVALID = "SETTINGS_INVALID"
    HOME_NOT_INITIALISED = "HOME_NOT_INITIALISED"
    HOME_EXISTS = "HOME_EXISTS"
    KEY_MISSING = "KEY_MISSING"
    DECRYPT_FAILED = "DECRYPT_FAILED"
    # case numbers, catalog, calendar (shared domain)
    CASE_NUMBER_INVALID = "CASE_NUMBER_INVALID"
    CASE_NUMBER_UNKNOWN_TYPE = "CASE_NUMBER_UNKNOWN_TYPE"
    CASE_NUMBER_UNKNOWN_COURT = "CASE_NUMBER_UNKNOWN_COURT"
    CASE_CLASSIFIED_REFUSED = "CASE_CLASSIFIED_REFUSED"
    CATALOG_NOT_FOUND = "CATALOG_NOT_FOUND"
    CATALOG_DIR_UNKNOWN = "CATALOG_DIR_UNKNOWN"
    CATALOG_INVALID = "CATALOG_INVALID"
    CALENDAR_YEAR_OUT_OF_RANGE = "CALENDAR_YEAR_OUT_OF_RANGE"
    CALENDAR_IMPORT_INVALID = "CALENDAR_IMPORT_INVALID"
    RECEIVED_IN_FUTURE = "RECEIVED_IN_FUTURE"
    DATETIME_INVALID = "DATETIME_INVALID"
    # device profiles
    PROFILE_NOT_FOUND = "PROFILE_NOT_FOUND"
    PROFILE_INVALID = "PROFILE_INVALID"
    # intake
    INTAKE_ITEM_INVALID = "INTAKE_ITEM_INVALID"
    INTAKE_NOT_FOUND = "INTAKE_NOT_FOUND"
    ITEM_NOT_FOUND = "ITEM_NOT_FOUND"
    ID_INVALID = "ID_INVALID"
    # scanned files
    FILE_UNREADABLE = "FILE_UNREADABLE"
    FILE_TRUNCATED = "FILE_TRUNCATED"
    FILE_UNSUPPORTED = "FILE_UNSUPPORTED"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    FILE_SIZE_TOO_LARGE = "FILE_SIZE_TOO_LARGE"
    FILE_EMPTY = "FILE_EMPTY"
    FILE_TYPE_NOT_ACCEPTED = "FILE_TYPE_NOT_ACCEPTED"
    FILE_NEVER_COMPLETE = "FILE_NEVER_COMPLETE"
    FILE_ENCRYPTED = "FILE_ENCRYPTED"
    FILE_NOT_A_SCAN = "FILE_NOT_A_SCAN"
    FILE_LAYERED_PDF = "FILE_LAYERED_PDF"
    FILE_PDF_LAYOUT = "FILE_PDF_LAYOUT"
    FILE_PIXEL_FORMAT = "FILE_PIXEL_FORMAT"
    FILE_COMPRESSION = "FILE_COMPRESSION"
    FILE_DECODER_MISSING = "FILE_DECODER_MISSING"
    FILE_MEMORY_LIMIT = "FILE_MEMORY_LIMIT"
    INGEST_FAILED = "INGEST_FAILED"
    HOT_FOLDER_NOT_RAM = "HOT_FOLDER_NOT_RAM"
    SWAP_ENABLED = "SWAP_ENABLED"
    APPLIANCE_RUNNING = "APPLIANCE_RUNNING"
    QUARANTINE_NOT_FOUND = "QUARANTINE_NOT_FOUND"
    QUARANTINE_RETRIED = "QUARANTINE_RETRIED"
    # storage
    STORE_VERIFY_FAILED = "STORE_VERIFY_FAILED"
    STORE_WRITE_FAILED = "STORE_WRITE_FAILED"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    LAB_SERVER_FAILED = "LAB_SERVER_FAILED"
    # printing
    PRINTER_OFFLINE = "PRINTER_OFFLINE"
    FONT_MISSING = "FONT_MISSING"
    # sync and central
    SYNC_TARGET_FORBIDDEN = "SYNC_TARGET_FORBIDDEN"
    SYNC_NETWORK_DOWN = "SYNC_NETWORK_DOWN"
    SYNC_REJECTED = "SYNC_REJECTED"
    SYNC_RECEIPT_INVALID = "SYNC_RECEIPT_INVALID"
    SYNC_TLS_REQUIRED = "SYNC_TLS_REQUIRED"
    SYNC_TLS_NOT_PAIRED = "SYNC_TLS_NOT_PAIRED"
    SYNC_TLS_FAILED = "SYNC_TLS_FAILED"
    APPLIANCE_UNKNOWN = "APPLIANCE_UNKNOWN"
    MANIFEST_SCHEMA_INVALID = "MANIFEST_SCHEMA_INVALID"
    MANIFEST_SIGNATURE_INVALID = "MANIFEST_SIGNATURE_INVALID"
    MANIFEST_BLOB_MISSING = "MANIFEST_BLOB_MISSING"
    MANIFEST_CONFLICT = "MANIFEST_CONFLICT"
    BLOB_HASH_MISMATCH = "BLOB_HASH_MISMATCH"
    BLOB_TOO_LARGE = "BLOB_TOO_LARGE"
    # central server
    APPLIANCE_KEY_CONFLICT = "APPLIANCE_KEY_CONFLICT"
    APPLIANCE_IDENTITY_INVALID = "APPLIANCE_IDENTITY_INVALID"
    MANIFEST_SEQ_REUSED = "MANIFEST_SEQ_REUSED"
    MANIFEST_RECORD_FOREIGN = "MANIFEST_RECORD_FOREIGN"
    PAGE_NOT_FOUND = "PAGE_NOT_FOUND"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    REQUEST_INVALID = "REQUEST_INVALID"
    # the command line
    USAGE_INVALID = "USAGE_INVALID"
    INTAKE_SUBMITTER_MISSING = "INTAKE_SUBMITTER_MISSING"
    INTAKE_TEXT_INVALID = "INTAKE_TEXT_INVALID"
    REPLACE_PENDING = "REPLACE_PENDING"
    CONFIG_UNKNOWN = "CONFIG_UNKNOWN"
    CONFIG_FIXED = "CONFIG_FIXED"
    CONFIG_VALUE_INVALID = "CONFIG_VALUE_INVALID"
    ITEM_CLOSED = "ITEM_CLOSED"
    INTAKE_PAGES_ABSURD = "INTAKE_PAGES_ABSURD"
    CASE_YEAR_IN_FUTURE = "CASE_YEAR_IN_FUTURE"
    ITEM_MAYBE_CLASSIFIED = "ITEM_MAYBE_CLASSIFIED"
    PATH_NOT_FOUND = "PATH_NOT_FOUND"
    PATH_NO_PERMISSION = "PATH_NO_PERMISSION"
    PATH_INVALID = "PATH_INVALID"
    DISK_ERROR = "DISK_ERROR"
    DB_INVALID = "DB_INVALID"
    DB_BUSY = "DB_BUSY"
    COMMAND_FAILED = "COMMAND_FAILED"
    # appliance lockdown (OS profile)
    LOCKDOWN_INVALID = "LOCKDOWN_INVALID"
    LOCKDOWN_CHECK_FAILED = "LOCKDOWN_CHECK_FAILED"
    LOCKDOWN_APPLY_FAILED = "LOCKDOWN_APPLY_FAILED"
    # crypto suites, purge, keys
    BLOB_SUITE_MISMATCH = "BLOB_SUITE_MISMATCH"
    KEY_ROTATION_PENDING = "KEY_ROTATION_PENDING"
    KEY_RENEW_BLOCKED = "KEY_RENEW_BLOCKED"
    # hostile input and tampering (issue 9)
    SENDER_MISMATCH = "SENDER_MISMATCH"
    APPLIANCE_REVOKED = "APPLIANCE_REVOKED"
    MANIFEST_SEQ_BACKWARDS = "MANIFEST_SEQ_BACKWARDS"
    AUDIT_HEAD_REGRESSED = "AUDIT_HEAD_REGRESSED"
    FORBIDDEN = "FORBIDDEN"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    CA_INVALID = "CA_INVALID"
    COURT_NETWORK_TOO_WIDE = "COURT_NETWORK_TOO_WIDE"
    PRINTER_TARGET_FORBIDDEN = "PRINTER_TARGET_FORBIDDEN"
    # exports and backups
    BACKUP_RECOVERY_KEY_MISSING = "BACKUP_RECOVERY_KEY_MISSING"
    BACKUP_RECOVERY_KEY_INVALID = "BACKUP_RECOVERY_KEY_INVALID"
    BACKUP_FAILED = "BACKUP_FAILED"
    BACKUP_DAMAGED = "BACKUP_DAMAGED"
    EXPORT_FAILED = "EXPORT_FAILED"
    EXPORT_TARGET_INVALID = "EXPORT_TARGET_INVALID"
    BACKUP_COPIES_TOO_FEW = "BACKUP_COPIES_TOO_FEW"
    SQLSERVER_NOT_CONFIGURED = "SQLSERVER_NOT_CONFIGURED"
    SQLSERVER_UNREACHABLE = "SQLSERVER_UNREACHABLE"
    SQLSERVER_LOAD_FAILED = "SQLSERVER_LOAD_FAILED"
    OFFICE_JOB_NOT_FOUND = "OFFICE_JOB_NOT_FOUND"
    OFFICE_JOB_BUSY = "OFFICE_JOB_BUSY"
    CASE_NOT_FOUND = "CASE_NOT_FOUND"
    # archive office
    OFFICE_USER_INVALID = "OFFICE_USER_INVALID"
    OFFICE_INTERNAL = "OFFICE_INTERNAL"
    OFFICE_USER_EXISTS = "OFFICE_USER_EXISTS"
    OFFICE_USER_NOT_FOUND = "OFFICE_USER_NOT_FOUND"
    OFFICE_PASSWORD_WEAK = "OFFICE_PASSWORD_WEAK"
    API_TOKEN_INVALID = "API_TOKEN_INVALID"
    SAMPLING_INVALID = "SAMPLING_INVALID"
    SAMPLING_NOT_FOUND = "SAMPLING_NOT_FOUND"
    SAMPLING_INCOMPLETE = "SAMPLING_INCOMPLETE"
    SAMPLING_SAME_PERSON = "SAMPLING_SAME_PERSON"
    BATCH_NOT_FOUND = "BATCH_NOT_FOUND"
    # removable media (air-gapped carry)
    MEDIA_REGISTRATION_INVALID = "MEDIA_REGISTRATION_INVALID"
    MEDIA_NOT_REGISTERED = "MEDIA_NOT_REGISTERED"
    MEDIA_WRONG_APPLIANCE = "MEDIA_WRONG_APPLIANCE"
    MEDIA_EXPIRED = "MEDIA_EXPIRED"
    MEDIA_REVOKED = "MEDIA_REVOKED"
    MEDIA_DEVICE_MISMATCH = "MEDIA_DEVICE_MISMATCH"
    MEDIA_UNKNOWN = "MEDIA_UNKNOWN"
    MEDIA_TOC_INVALID = "MEDIA_TOC_INVALID"
    MEDIA_PATH_INVALID = "MEDIA_PATH_INVALID"
    MEDIA_WRITE_FAILED = "MEDIA_WRITE_FAILED"
    MEDIA_VERIFY_FAILED = "MEDIA_VERIFY_FAILED"
    MEDIA_BATCH_DAMAGED = "MEDIA_BATCH_DAMAGED"
    MEDIA_RULES_FAILED = "MEDIA_RULES_FAILED"
    # counter kiosk: operators, sessions, forms, custody, pickup
    OPERATOR_EXISTS = "OPERATOR_EXISTS"
    OPERATOR_NOT_FOUND = "OPERATOR_NOT_FOUND"
    OPERATOR_ID_INVALID = "OPERATOR_ID_INVALID"
    OPERATOR_NAME_REQUIRED = "OPERATOR_NAME_REQUIRED"
    OPERATOR_ROLE_INVALID = "OPERATOR_ROLE_INVALID"
    OPERATOR_PIN_WEAK = "OPERATOR_PIN_WEAK"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGIN_LOCKED = "LOGIN_LOCKED"
    LOGIN_REQUIRED = "LOGIN_REQUIRED"
    SESSION_IDLE = "SESSION_IDLE"
    ROLE_FORBIDDEN = "ROLE_FORBIDDEN"
    CSRF_INVALID = "CSRF_INVALID"
    FIELD_REQUIRED = "FIELD_REQUIRED"
    FIELD_INVALID = "FIELD_INVALID"
    URGENT_REASON_REQUIRED = "URGENT_REASON_REQUIRED"
    CASE_ALREADY_LINKED = "CASE_ALREADY_LINKED"
    SIGNATURE_REQUIRED = "SIGNATURE_REQUIRED"
    SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
    CUSTODY_ITEMS_REQUIRED = "CUSTODY_ITEMS_REQUIRED"
    LOAN_NOT_FOUND = "LOAN_NOT_FOUND"
    PICKUP_NOT_FOUND = "PICKUP_NOT_FOUND"
    PICKUP_ALREADY_HANDED = "PICKUP_ALREADY_HANDED"
    PRINT_JOB_NOT_FOUND = "PRINT_JOB_NOT_FOUND"
    # documents, OCR, filing notices
    DOCUMENT_EMPTY = "DOCUMENT_EMPTY"
    DOCUMENT_BUILD_FAILED = "DOCUMENT_BUILD_FAILED"
    DOCUMENT_NOT_FOUND = "DOCUMENT_NOT_FOUND"
    OCR_MODEL_MISSING = "OCR_MODEL_MISSING"
    OCR_MODEL_INVALID = "OCR_MODEL_INVALID"
    OCR_DOWNLOAD_REFUSED = "OCR_DOWNLOAD_REFUSED"
    OCR_ENGINE_MISSING = "OCR_ENGINE_MISSING"
    OCR_FAILED = "OCR_FAILED"
    # QC station (edge/items.py, edge/web/station.py)
    QC_REASON_REQUIRED = "QC_REASON_REQUIRED"
    QC_ITEM_LOCKED = "QC_ITEM_LOCKED"
    QC_POSITION_INVALID = "QC_POSITION_INVALID"
    QC_COUNT_MISMATCH = "QC_COUNT_MISMATCH"
    QC_SAME_OPERATOR = "QC_SAME_OPERATOR"
    QC_NOT_AWAITING_CHECK = "QC_NOT_AWAITING_CHECK"
    QC_PAGE_NOT_MOVABLE = "QC_PAGE_NOT_MOVABLE"
    QC_FINDING_UNKNOWN = "QC_FINDING_UNKNOWN"
    QC_ITEM_NOT_CLOSED = "QC_ITEM_NOT_CLOSED"


# Chinese message templates; `{name}` fields come from AppError params.
MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.SETTINGS_INVALID: "配置文件有误：{detail}",
    ErrorCode.HOME_NOT_INITIALISED: "目录 {home} 尚未初始化，请先运行 juanzong {side} init",
    ErrorCode.HOME_EXISTS: "目录 {home} 已经初始化过，不能重复初始化",
    ErrorCode.KEY_MISSING: "找不到密钥 {key}，请检查密钥目录",
    ErrorCode.DECRYPT_FAILED: "数据 {blob_id} 解密失败：密文或密钥不匹配，已拒绝",
    ErrorCode.CASE_NUMBER_INVALID: "案号“{text}”格式不正确：{reason}。应为如（2024）京0102民初1234号的格式",
    ErrorCode.CASE_NUMBER_UNKNOWN_TYPE: "案号“{text}”中的类型代字“{type_code}”不在《人民法院案件类型及其代字标准》中，常用的有民初、民终、刑初、行初、执、执恢、执保等",
    ErrorCode.CASE_NUMBER_UNKNOWN_COURT: (
        "案号“{text}”中的法院代字“{court}”无法识别{hint}。法院代字应为“最高法”、高级法院的省级简称"
        "（如京、粤，内蒙古为“内”），或简称加2位数字（中级法院，如粤07）、加4位数字（基层法院，如京0102）"
    ),
    ErrorCode.CASE_CLASSIFIED_REFUSED: "涉密案件材料不得扫描入本系统，请按涉密材料管理规定办理",
    ErrorCode.CATALOG_NOT_FOUND: "没有适用于案件类型“{type_code}”的卷宗目录",
    ErrorCode.CATALOG_DIR_UNKNOWN: "卷宗目录中没有“{name}”这一项",
    ErrorCode.CATALOG_INVALID: "卷宗目录文件 {path} 有误：{detail}",
    ErrorCode.CALENDAR_YEAR_OUT_OF_RANGE: "{year} 年不在可计算办理时限的范围内（{first}–{last} 年），请核对收件时间",
    ErrorCode.CALENDAR_IMPORT_INVALID: "放假安排文件 {path}{where}有误：{detail}。整个文件未导入，请改正后重新导入",
    ErrorCode.RECEIVED_IN_FUTURE: "收件时间 {received} 晚于当前时间 {now}，请核对收件时间或设备时钟",
    ErrorCode.DATETIME_INVALID: "时间“{text}”格式不正确，应为 ISO 8601 格式，如 2026-03-02T10:30",
    ErrorCode.PROFILE_NOT_FOUND: "找不到设备配置“{name}”",
    ErrorCode.PROFILE_INVALID: "设备配置 {path} 有误：{detail}",
    ErrorCode.INTAKE_ITEM_INVALID: "材料“{text}”格式不正确，应为“名称:页数”，页数为正整数",
    ErrorCode.INTAKE_NOT_FOUND: "找不到收取登记 {intake_id}",
    ErrorCode.ITEM_NOT_FOUND: "找不到材料 {item_id}",
    ErrorCode.ID_INVALID: "编号“{text}”无效（校验位不符或格式不对）",
    ErrorCode.FILE_UNREADABLE: "文件 {name} 无法读取：{detail}，已隔离",
    ErrorCode.FILE_TRUNCATED: "文件 {name} 不完整（可能未写完或已损坏），已隔离",
    ErrorCode.FILE_UNSUPPORTED: "文件 {name} 的格式不受支持（{detail}），已隔离",
    ErrorCode.FILE_TOO_LARGE: "文件 {name} 像素数 {pixels} 超过上限 {limit}，已隔离",
    ErrorCode.FILE_SIZE_TOO_LARGE: "文件 {name} 大小 {size} 超过上限 {limit}，内容未读取、未入库；原文件已移到热文件夹的 {kept} 目录，请核对后删除并重新扫描",
    ErrorCode.FILE_EMPTY: "文件 {name} 是空文件，已隔离",
    ErrorCode.FILE_TYPE_NOT_ACCEPTED: "文件 {name} 是{kind}，本扫描仪配置只接受 {accepted}，已隔离；如确需导入，请修改扫描仪配置后用 edge quarantine --retry 隔离编号 重新导入",
    ErrorCode.FILE_NEVER_COMPLETE: "文件 {name} 在 {seconds} 秒内一直没有写完（扫描软件可能中途停止或未改名），已隔离，请重新扫描",
    ErrorCode.FILE_ENCRYPTED: "文件 {name} 是有密码保护的 PDF，无法读取，已隔离；请在扫描软件中关闭 PDF 加密后重新扫描",
    ErrorCode.FILE_NOT_A_SCAN: "文件 {name} 第 {page} 页没有扫描图像（是文字或矢量绘制的电子文档，不是扫描件），已隔离；电子文档不能作为扫描页导入",
    ErrorCode.FILE_LAYERED_PDF: "文件 {name} 第 {page} 页是分层压缩的 PDF（{detail}），拆开会改变图像，已隔离；请在扫描软件中关闭“高压缩/MRC”选项后重新扫描",
    ErrorCode.FILE_PDF_LAYOUT: "文件 {name} 第 {page} 页的图像{detail}，不经重采样无法还原为一张扫描图像，已隔离；请让扫描软件每页只输出一张图像",
    ErrorCode.FILE_PIXEL_FORMAT: "文件 {name} 的像素格式（{detail}）不受支持，已隔离；请用彩色、灰度或黑白模式（8 位或 16 位）重新扫描",
    ErrorCode.FILE_COMPRESSION: "文件 {name} 使用的压缩方式（{detail}）本机无法解码，已隔离；请改用 JPEG、LZW 或 CCITT G4 压缩重新扫描",
    ErrorCode.FILE_DECODER_MISSING: "本机缺少解码 {detail} 所需的程序 {program}，文件 {name} 已加密隔离保存；安装后用 edge quarantine --retry 隔离编号 重新导入",
    ErrorCode.FILE_MEMORY_LIMIT: "文件 {name} 第 {page} 页解码约需 {need} 内存，超过单页上限 {limit}，已隔离；请降低分辨率或改用灰度模式重新扫描",
    ErrorCode.HOT_FOLDER_NOT_RAM: "热文件夹 {path} 位于 {fstype} 文件系统上；按设备配置，明文扫描件只能存放在内存文件系统（tmpfs）中，已拒绝启动",
    ErrorCode.APPLIANCE_RUNNING: "设备程序已在运行（{lock}），同一设备目录不能同时运行两个",
    ErrorCode.QUARANTINE_RETRIED: "隔离文件 {qid} 已于 {at} 放回热文件夹重新导入（{to}），不再重复放回：同一文件会被存成两份；如再次被隔离，请对新的隔离编号重试",
    ErrorCode.QUARANTINE_NOT_FOUND: "隔离区中没有可重新导入的文件 {qid}（编号有误，或该文件因过大未加密保存，请到热文件夹的 .juanzong-oversize 目录处理）",
    ErrorCode.SWAP_ENABLED: "系统启用了交换分区（{devices}），内存中的明文扫描件可能被写入磁盘；按设备配置须关闭交换分区（swapoff -a）后再启动",
    ErrorCode.INGEST_FAILED: "处理文件 {name} 时发生内部错误（{detail}），文件已加密隔离保存，可用 edge quarantine --retry 隔离编号 重新导入",
    ErrorCode.STORE_VERIFY_FAILED: "加密存储校验失败（{blob_id}），页面未入库，原文件保留",
    ErrorCode.STORE_WRITE_FAILED: "写入加密存储失败：{detail}，原文件保留",
    ErrorCode.STORE_UNAVAILABLE: "对象存储暂时无法访问：{detail}，请稍后重试",
    ErrorCode.LAB_SERVER_FAILED: "无法启动本机测试用服务器：{detail}",
    ErrorCode.PRINTER_OFFLINE: "打印机 {printer} 未连接，打印任务已排队，恢复后自动打印",
    ErrorCode.FONT_MISSING: "找不到中文字体（已查找 {paths}），请安装 fonts-wqy-microhei",
    ErrorCode.SYNC_TARGET_FORBIDDEN: "同步地址 {host} 解析为 {address}，不在法院内网地址范围内，已拒绝连接",
    ErrorCode.SYNC_NETWORK_DOWN: "无法连接中心服务器（{detail}），批次已排队，稍后自动重试",
    ErrorCode.SYNC_REJECTED: "中心服务器拒收批次 {batch_id}：{detail}",
    ErrorCode.SYNC_TLS_REQUIRED: "同步地址 {host}（{address}）不是本机回环地址，必须使用 https 双向认证，已拒绝明文连接",
    ErrorCode.SYNC_TLS_NOT_PAIRED: "尚未安装中心签发的客户端证书，请先执行 edge pair --central … --enrolment …",
    ErrorCode.SYNC_TLS_FAILED: "与中心 {host} 的 TLS 双向认证失败（{detail}），批次已排队，请核对证书",
    ErrorCode.SYNC_RECEIPT_INVALID: "中心服务器的回执签名无效，批次 {batch_id} 未标记为已确认",
    ErrorCode.APPLIANCE_UNKNOWN: "扫描设备 {appliance_id} 未登记，请先在中心执行 enroll",
    ErrorCode.MANIFEST_SCHEMA_INVALID: "批次清单格式不正确：{detail}",
    ErrorCode.MANIFEST_SIGNATURE_INVALID: "批次清单签名验证失败，已拒收",
    ErrorCode.MANIFEST_BLOB_MISSING: "批次清单中的 {count} 个数据块尚未上传",
    ErrorCode.MANIFEST_CONFLICT: "批次 {batch_id} 已以不同内容提交过，已拒收",
    ErrorCode.BLOB_HASH_MISMATCH: "数据块内容与其哈希值 {sha256} 不符，已拒收",
    ErrorCode.BLOB_TOO_LARGE: "数据块超过大小上限 {limit} 字节，已拒收",
    ErrorCode.APPLIANCE_KEY_CONFLICT: "扫描设备 {appliance_id} 已用另一把签名密钥登记，已拒绝；如确需换钥，请先撤销原登记",
    ErrorCode.APPLIANCE_IDENTITY_INVALID: "设备身份文件 {path} 有误：{detail}",
    ErrorCode.MANIFEST_SEQ_REUSED: "扫描设备 {appliance_id} 的批次序号 {seq} 已被批次 {other} 使用，已拒收",
    ErrorCode.MANIFEST_RECORD_FOREIGN: "批次清单写入或引用了不属于本设备的记录 {record_id}（共 {count} 条），已拒收，未保存任何内容",
    ErrorCode.PAGE_NOT_FOUND: "找不到页面 {page_id}",
    ErrorCode.REQUEST_TOO_LARGE: "请求内容超过大小上限 {limit} 字节，已拒收",
    ErrorCode.REQUEST_INVALID: "请求无效：{detail}",
    ErrorCode.USAGE_INVALID: "命令用法有误：{detail}。加 --help 查看用法",
    ErrorCode.CONFIG_UNKNOWN: "没有名为“{name}”的设置；常用的有 {known}（edge config show 列出全部）",
    ErrorCode.CONFIG_FIXED: "设置“{name}”在建立设备目录时已确定，不能修改（修改会使设备无法读取自己的数据）",
    ErrorCode.CONFIG_VALUE_INVALID: "设置“{name}”的值不正确：{detail}，未作修改",
    ErrorCode.REPLACE_PENDING: "已有一个待替换的页面：材料 {item_id} 第 {page_no} 页（{page_id}）尚未重扫；请先重扫它，或加 --cancel 取消后再指定",
    ErrorCode.ITEM_CLOSED: "材料 {item_id}（{name}）已结束扫描，不能再{what}；如确需修改，请先 edge reopen {item_id} --reason 原因",
    ErrorCode.INTAKE_TEXT_INVALID: "{what}只能是一行文字（不能含换行、制表、控制或方向字符），最多 {limit} 个字；收到的是“{text}”",
    ErrorCode.INTAKE_SUBMITTER_MISSING: "没有填写提交人：收取登记必须写明是谁递交的材料（姓名或单位），回执上要印",
    ErrorCode.INTAKE_PAGES_ABSURD: "材料“{name}”申报 {pages} 页，超过单件上限 {limit} 页，可能是页数输错了；请核对后重新登记（确有这么多页的，请分为几件登记）",
    ErrorCode.CASE_YEAR_IN_FUTURE: "案号的收案年度 {year} 晚于当前年度 {current}，请核对案号",
    ErrorCode.ITEM_MAYBE_CLASSIFIED: "材料“{name}”的名称含“{word}”，可能是涉密材料；涉密材料不得扫描入本系统。如确认不是涉密材料（如涉及商业秘密的证据），请加 --not-classified 确认后重新登记",
    ErrorCode.PATH_NOT_FOUND: "找不到文件或目录 {path}",
    ErrorCode.PATH_NO_PERMISSION: "没有权限访问 {path}，请检查目录权限，或以设备的服务用户运行",
    ErrorCode.PATH_INVALID: "路径 {path} 无效：{detail}",
    ErrorCode.DISK_ERROR: "读写 {path} 失败：{detail}",
    ErrorCode.DB_INVALID: "数据库文件已损坏，或不是本系统的数据库，请检查 --home 指向的目录",
    ErrorCode.DB_BUSY: "数据库正被另一个程序占用，请稍后重试",
    ErrorCode.COMMAND_FAILED: "程序内部错误（日志编号 {ref}），请联系维护人员；加 -v 重新运行可看到详细信息",
    ErrorCode.LOCKDOWN_INVALID: "无法生成设备加固配置：{detail}",
    ErrorCode.LOCKDOWN_CHECK_FAILED: "设备加固配置未通过检查：{detail}",
    ErrorCode.LOCKDOWN_APPLY_FAILED: "安装设备加固配置失败：{detail}",
    ErrorCode.BLOB_SUITE_MISMATCH: "数据块 {sha256} 的密码套件或 SM3 摘要与批次清单不符，已拒收",
    ErrorCode.KEY_RENEW_BLOCKED: "还有 {count} 个已封包的批次未获中心确认（它们由旧密钥签名），请先完成同步再续期密钥",
    ErrorCode.KEY_ROTATION_PENDING: "上次密钥轮换未完成（{key}），请先运行 juanzong edge keys rotate 完成轮换",
    ErrorCode.SENDER_MISMATCH: "客户端证书属于设备 {tls}，批次清单却由设备 {appliance_id} 签名，已拒收",
    ErrorCode.APPLIANCE_REVOKED: "扫描设备 {appliance_id} 的登记已被撤销，拒绝其连接与批次",
    ErrorCode.MANIFEST_SEQ_BACKWARDS: "扫描设备 {appliance_id} 的批次序号 {seq} 小于已收到的序号 {last}，序号只能递增，已拒收",
    ErrorCode.AUDIT_HEAD_REGRESSED: "扫描设备 {appliance_id} 的审计链头（第 {seq} 条）未延续中心已见证的第 {seen} 条，设备审计日志可能被截断或改写，已拒收",
    ErrorCode.FORBIDDEN: "无权访问：{detail}",
    ErrorCode.INTERNAL_ERROR: "服务器内部错误（{detail}），已记录日志，请联系管理员",
    ErrorCode.CA_INVALID: "法院 CA 证书不可用：{detail}",
    ErrorCode.COURT_NETWORK_TOO_WIDE: "法院内网地址范围 {network} 过宽（IPv4 前缀须至少 /{v4}，IPv6 须至少 /{v6}），不能作为同步或打印的允许范围",
    ErrorCode.PRINTER_TARGET_FORBIDDEN: "打印机 {printer} 的地址 {host} 解析为 {address}，不在法院内网地址范围内，已拒绝连接，打印任务保留在队列中",
    ErrorCode.MEDIA_REGISTRATION_INVALID: "介质登记文件无效：{detail}",
    ErrorCode.MEDIA_NOT_REGISTERED: "{path} 不是为本设备登记的介质（{detail}），已拒绝写入",
    ErrorCode.MEDIA_WRONG_APPLIANCE: "介质 {medium_id} 登记给扫描设备 {owner}，不是 {appliance_id}，已拒绝",
    ErrorCode.MEDIA_EXPIRED: "介质 {medium_id} 的登记已于 {valid_until} 过期，请到中心重新登记",
    ErrorCode.MEDIA_REVOKED: "介质 {medium_id} 的登记已被中心撤销，已拒绝导入",
    ErrorCode.MEDIA_DEVICE_MISMATCH: "介质 {medium_id} 的文件系统标识与登记时不同（登记 {expected}，现为 {actual}），可能被复制或调换，已拒绝",
    ErrorCode.MEDIA_UNKNOWN: "中心没有介质 {medium_id} 的登记记录，已拒绝导入",
    ErrorCode.MEDIA_TOC_INVALID: "介质目录无效：{detail}",
    ErrorCode.MEDIA_PATH_INVALID: "介质路径 {path} 不可用：{detail}",
    ErrorCode.MEDIA_WRITE_FAILED: "写入介质失败（{detail}），介质可能已拔出或已满；已写入的部分不会被中心当作完整批次，重新导出即可续写",
    ErrorCode.MEDIA_VERIFY_FAILED: "介质回读校验失败：{file} 与写入内容不一致，请更换介质后重新导出",
    ErrorCode.MEDIA_BATCH_DAMAGED: "介质上的批次 {batch_id} 不完整或被改动（{detail}），该批次未导入",
    ErrorCode.MEDIA_RULES_FAILED: "登记介质的 udev 规则未能更新（{detail}）；请由管理员执行 juanzong edge media rules",
    ErrorCode.BACKUP_RECOVERY_KEY_MISSING: "找不到备份恢复密钥 {path}：请先运行 central backup keygen，私钥交档案室离线保管",
    ErrorCode.BACKUP_RECOVERY_KEY_INVALID: "备份恢复密钥 {path} 无效或与备份不匹配",
    ErrorCode.BACKUP_FAILED: "备份未完成：{detail}",
    ErrorCode.BACKUP_DAMAGED: "备份 {path} 校验未通过（{count} 处问题），请改用另一份副本；用 central backup verify 查看具体文件",
    ErrorCode.EXPORT_FAILED: "导出未完成：{detail}",
    ErrorCode.EXPORT_TARGET_INVALID: "导出位置 {path} 不可用：{detail}",
    ErrorCode.BACKUP_COPIES_TOO_FEW: "本档案室要求至少 {required} 份备份副本（设置 backup_copies_required），不能只写 {copies} 份",
    ErrorCode.SQLSERVER_NOT_CONFIGURED: "未设置 SQL Server（设置 sqlserver_host 等），无法装载索引；脚本已生成，可交数据库管理员手工装载",
    ErrorCode.SQLSERVER_UNREACHABLE: "无法连接 SQL Server {server}：{detail}；索引脚本已生成，未装载",
    ErrorCode.SQLSERVER_LOAD_FAILED: "SQL Server {server} 装载索引失败，已整体回滚：{detail}",
    ErrorCode.OFFICE_JOB_NOT_FOUND: "没有编号为 {job_id} 的导出或备份任务",
    ErrorCode.OFFICE_JOB_BUSY: "已有导出或备份任务正在进行（{title}），请等它结束后再开始新的任务",
    ErrorCode.CASE_NOT_FOUND: "中心没有案号 {case_number} 的材料",
    ErrorCode.OPERATOR_EXISTS: "工号 {operator_id} 已存在",
    ErrorCode.OPERATOR_NOT_FOUND: "找不到工号 {operator_id}",
    ErrorCode.OPERATOR_ID_INVALID: "工号“{text}”不符合要求：应为 2 至 16 位字母或数字",
    ErrorCode.OPERATOR_NAME_REQUIRED: "请填写操作员姓名",
    ErrorCode.OPERATOR_ROLE_INVALID: "角色“{role}”无效，应为 clerk（窗口收件员）、operator（扫描员）或 supervisor（主管）",
    ErrorCode.OPERATOR_PIN_WEAK: "密码应为 6 至 12 位数字",
    ErrorCode.LOGIN_FAILED: "工号或密码不正确",
    ErrorCode.LOGIN_LOCKED: "连续 5 次密码错误，账号已锁定，请于 {until} 后再试",
    ErrorCode.LOGIN_REQUIRED: "请先登录",
    ErrorCode.SESSION_IDLE: "长时间未操作，已自动退出，请重新登录",
    ErrorCode.ROLE_FORBIDDEN: "您的角色（{role}）无权进行此操作",
    ErrorCode.CSRF_INVALID: "页面已过期或来源不明，请刷新后重新提交",
    ErrorCode.FIELD_REQUIRED: "请填写“{field}”",
    ErrorCode.FIELD_INVALID: "栏目“{field}”填写有误：{reason}",
    ErrorCode.URGENT_REASON_REQUIRED: "选择加急时须填写加急理由",
    ErrorCode.CASE_ALREADY_LINKED: "收取登记 {intake_id} 已关联案号 {case_number}",
    ErrorCode.SIGNATURE_REQUIRED: "请{party}在屏幕上签名，或输入姓名确认",
    ErrorCode.SIGNATURE_MISMATCH: "{party}确认的姓名“{typed}”与登记的“{expected}”不一致",
    ErrorCode.CUSTODY_ITEMS_REQUIRED: "请至少选择一项材料",
    ErrorCode.LOAN_NOT_FOUND: "找不到未归还的借阅记录 {loan_id}",
    ErrorCode.PICKUP_NOT_FOUND: "找不到待领取文书 {pickup_id}",
    ErrorCode.PICKUP_ALREADY_HANDED: "文书 {pickup_id} 已于 {at} 领取",
    ErrorCode.PRINT_JOB_NOT_FOUND: "找不到打印任务 {job_id}",
    ErrorCode.QC_REASON_REQUIRED: "请填写{what}的原因",
    ErrorCode.QC_ITEM_LOCKED: "材料“{name}”已批准，不能再修改页面；如需修改，请先重新打开并填写原因",
    ErrorCode.QC_POSITION_INVALID: "位置 {position} 无效，应在 1 到 {count} 之间",
    ErrorCode.QC_COUNT_MISMATCH: "申报 {declared} 页，实际扫描 {scanned} 页，页数不一致：请补扫、处理，或写明批准原因",
    ErrorCode.QC_SAME_OPERATOR: "双人质检：该材料由 {operator} 批准，复核须由另一名操作员完成",
    ErrorCode.QC_NOT_AWAITING_CHECK: "材料“{name}”不在待复核状态",
    ErrorCode.QC_PAGE_NOT_MOVABLE: "页面 {page_id} 不能进行此操作（{why}）",
    ErrorCode.QC_FINDING_UNKNOWN: "页面 {page_id} 没有待确认的质检问题“{finding}”",
    ErrorCode.QC_ITEM_NOT_CLOSED: "材料“{name}”尚未结束扫描，无需重新打开",
    ErrorCode.OFFICE_INTERNAL: "页面处理出错（已记录），请稍后重试或联系系统管理员",
    ErrorCode.OFFICE_USER_INVALID: "账号信息有误：{detail}",
    ErrorCode.OFFICE_USER_EXISTS: "账号 {user_id} 已存在",
    ErrorCode.OFFICE_USER_NOT_FOUND: "找不到账号 {user_id}",
    ErrorCode.OFFICE_PASSWORD_WEAK: "密码至少 10 位，且须同时包含字母和数字等不同字符",
    ErrorCode.API_TOKEN_INVALID: "接口令牌无效或已停用",
    ErrorCode.SAMPLING_INVALID: "抽检设置有误：{detail}",
    ErrorCode.SAMPLING_NOT_FOUND: "找不到抽检批次 {round_id}",
    ErrorCode.SAMPLING_INCOMPLETE: "抽检批次 {round_id} 还有 {count} 件未检，不能签核",
    ErrorCode.SAMPLING_SAME_PERSON: "抽检须由主管签核，且签核人不能是检查人之一",
    ErrorCode.BATCH_NOT_FOUND: "找不到批次 {batch_id}",
    ErrorCode.DOCUMENT_EMPTY: "材料 {item_id} 还没有扫描页面，无法生成 PDF 文档",
    ErrorCode.DOCUMENT_BUILD_FAILED: "生成 PDF 文档失败：{detail}",
    ErrorCode.DOCUMENT_NOT_FOUND: "材料 {item_id} 还没有已同步的 PDF 文档",
    ErrorCode.OCR_MODEL_MISSING: "文字识别模型文件缺失：{path}。本系统只使用随 rapidocr 安装包提供的模型，不会联网下载；请重新安装 rapidocr（pip install rapidocr=={version}）",
    ErrorCode.OCR_MODEL_INVALID: "文字识别模型文件 {path} 校验失败（SHA-256 不符），可能已损坏或被替换；请重新安装 rapidocr",
    ErrorCode.OCR_DOWNLOAD_REFUSED: "文字识别组件试图联网下载 {url}，已拒绝：本系统只使用本机自带的模型",
    ErrorCode.OCR_ENGINE_MISSING: "文字识别组件未安装（{detail}），请安装 rapidocr 与 onnxruntime",
    ErrorCode.OCR_FAILED: "材料 {item_id} 的文字识别失败：{detail}；图像版 PDF 仍可使用，稍后自动重试",
}

# HTTP status for API responses; anything unlisted is a 400.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.APPLIANCE_UNKNOWN: 403,
    ErrorCode.MANIFEST_SIGNATURE_INVALID: 403,
    ErrorCode.MANIFEST_BLOB_MISSING: 409,
    ErrorCode.MANIFEST_CONFLICT: 409,
    ErrorCode.BLOB_HASH_MISMATCH: 422,
    ErrorCode.BLOB_TOO_LARGE: 413,
    ErrorCode.BLOB_SUITE_MISMATCH: 422,
    ErrorCode.INTAKE_NOT_FOUND: 404,
    ErrorCode.ITEM_NOT_FOUND: 404,
    ErrorCode.APPLIANCE_KEY_CONFLICT: 409,
    ErrorCode.MANIFEST_SEQ_REUSED: 409,
    ErrorCode.MANIFEST_RECORD_FOREIGN: 409,
    ErrorCode.PAGE_NOT_FOUND: 404,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.SENDER_MISMATCH: 403,
    ErrorCode.APPLIANCE_REVOKED: 403,
    ErrorCode.MANIFEST_SEQ_BACKWARDS: 409,
    ErrorCode.AUDIT_HEAD_REGRESSED: 409,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.STORE_UNAVAILABLE: 503,
    ErrorCode.LOGIN_REQUIRED: 401,
    ErrorCode.SESSION_IDLE: 401,
    ErrorCode.ROLE_FORBIDDEN: 403,
    ErrorCode.CSRF_INVALID: 403,
    ErrorCode.LOAN_NOT_FOUND: 404,
    ErrorCode.PICKUP_NOT_FOUND: 404,
    ErrorCode.PRINT_JOB_NOT_FOUND: 404,
    ErrorCode.DOCUMENT_NOT_FOUND: 404,
    ErrorCode.OFFICE_JOB_NOT_FOUND: 404,
    ErrorCode.OFFICE_JOB_BUSY: 409,
    ErrorCode.API_TOKEN_INVALID: 401,
    ErrorCode.QC_ITEM_LOCKED: 409,
    ErrorCode.QC_SAME_OPERATOR: 409,
    ErrorCode.QC_COUNT_MISMATCH: 409,
}


class _SafeDict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class AppError(Exception):
    """A failure with a stable code, a Chinese message and structured params."""

    def __init__(self, code: ErrorCode, **params: Any) -> None:
        self.code = ErrorCode(code)
        self.params = params
        self.message = MESSAGES[self.code].format_map(_SafeDict({k: _shown(v) for k, v in params.items()}))
        self.audited = False  # set once a refusal is already in the audit chain (central's error mapping skips it)
        super().__init__(f"[{self.code}] {self.message}")

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def to_dict(self) -> dict[str, Any]:
        return {"error": str(self.code), "message": self.message, "params": _jsonable(self.params)}


def _shown(value: Any) -> Any:
    """An identifier in a message is printed the one way people see it everywhere
    (``M-4K7Q-9X2M-T``, shared.ids.format_id); params and logs keep the plain form."""
    if not isinstance(value, str) or len(value) != 10:
        return value
    from juanzong.shared.ids import format_id, is_valid_id  # ids imports this module

    return format_id(value) if is_valid_id(value) else value


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in params.items()}
