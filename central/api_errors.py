"""How refusals are documented in the published OpenAPI: one body shape for every error status.

Every error the sync API gives is `{error, message, params}` (shared/errors.py
`AppError.to_dict`): `error` the stable code, `message` the Chinese text, `params`
its fields. Handlers list the statuses they can answer with `error_responses(...)`,
so the document and the real answers agree (tests/central/test_openapi_fuzz.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.datastructures import ResponseSpec


@dataclass
class ErrorBody:
    """A refusal: stable code, Chinese message, the message's fields."""

    error: str
    message: str
    params: dict[str, Any]


_DESCRIPTION = {
    400: "请求无效（格式、类型或字段不符）",
    403: "无权访问：设备未登记、已撤销、签名或证书不符，或该资源不向扫描设备提供",
    404: "不存在",
    405: "不支持的请求方法（Allow 头列出支持的方法）",
    409: "与已存数据冲突（重放内容不同、序号、所有权、数据块缺失）",
    413: "请求内容超过大小上限",
    422: "数据块内容与其哈希值不符",
    500: "服务器内部错误（已记录日志）",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {s: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTION[s]) for s in (*statuses, 500)}
