"""The command line in Chinese: argparse's own words, usage errors, and failures.

argparse speaks English ("usage:", "the following arguments are required") and
exits 2 with its own message; Python prints a traceback for anything uncaught
and a `BrokenPipeError` when a reader such as `| head -1` closes the pipe.
This module gives every one of those a Chinese form for court staff:

- argparse's strings are translated through its module-level `_`/`ngettext`
  (it looks them up at call time), so help pages and usage errors are Chinese;
- a usage error prints `错误 USAGE_INVALID: …` after the usage line and exits 2;
- an OS or database failure the user can fix (a missing file, a directory
  without permission, a full disk) becomes an `AppError` with a stable code;
- anything else is a bug: one Chinese line with a reference, the traceback
  only with `-v`.
"""

from __future__ import annotations

import argparse
import errno
import os
import sqlite3
import sys

from juanzong.shared.errors import AppError, ErrorCode

_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "subcommands": "子命令",
    "show this help message and exit": "显示本帮助并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项 %(value)r（可选：%(choices)s）",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多只能有一个值",
    "expected at least one argument": "至少需要一个值",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
    "invalid %(type)s value: %(value)r": "%(value)r 不是有效的%(type)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是 %(matches)s",
    "one of the arguments %s is required": "参数 %s 必须提供其中一个",
    "ignored explicit argument %r": "参数值 %r 无效",
    "unexpected option string: %s": "多余的选项 %s",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "没有子命令 %(parser_name)r（可选：%(choices)s）",
    "can't open '%(filename)s': %(error)s": "无法打开文件“%(filename)s”",
}
_TYPES = {"int": "整数", "float": "数字", "str": "文字"}


def _zh(text: str | None) -> str | None:
    return _ZH.get(text, text) if text else text


def _zh_n(single: str, plural: str, n: int) -> str:
    return _ZH.get(single if n == 1 else plural, single if n == 1 else plural)


argparse._ = _zh  # type: ignore[attr-defined]  # argparse calls its module-level gettext at use time
argparse.ngettext = _zh_n  # type: ignore[attr-defined]  # likewise


class ChineseParser(argparse.ArgumentParser):
    """Usage errors as `错误 USAGE_INVALID: …` (exit 2); sub-parsers are the same class."""

    def error(self, message: str) -> None:  # type: ignore[override]  # exits like argparse's, typed None
        for name, zh in _TYPES.items():
            message = message.replace(f"有效的{name}", f"有效的{zh}")
        self.print_usage(sys.stderr)
        print(f"错误 {ErrorCode.USAGE_INVALID}: {AppError(ErrorCode.USAGE_INVALID, detail=message).message}", file=sys.stderr)
        sys.exit(2)


# --------------------------------------------------------------------------- failures

_ERRNO = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "文件系统只读",
    errno.EIO: "读写出错（磁盘或介质故障）",
    errno.EDQUOT: "超出磁盘配额",
    errno.EMFILE: "打开的文件过多",
    errno.ENAMETOOLONG: "路径过长",
    errno.ELOOP: "路径中的符号链接循环",
    errno.EXDEV: "不能跨文件系统移动",
}


def os_failure(exc: OSError) -> AppError:
    """A filesystem failure as the person at the screen can act on it."""
    path = exc.filename or ""
    if isinstance(exc, FileNotFoundError):
        return AppError(ErrorCode.PATH_NOT_FOUND, path=path)
    if isinstance(exc, PermissionError):
        return AppError(ErrorCode.PATH_NO_PERMISSION, path=path)
    if isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
        kind = {IsADirectoryError: "是一个目录，不是文件", NotADirectoryError: "路径中有一段不是目录", FileExistsError: "已经存在"}[
            type(exc)
        ]
        return AppError(ErrorCode.PATH_INVALID, path=path, detail=kind)
    return AppError(ErrorCode.DISK_ERROR, path=path, detail=_ERRNO.get(exc.errno or 0, f"错误号 {exc.errno}"))


def db_failure(exc: sqlite3.Error) -> AppError:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return AppError(ErrorCode.DB_BUSY)
    return AppError(ErrorCode.DB_INVALID)


def quiet_broken_pipe() -> None:
    """The reader went away (`| head -1`): say nothing more, and let Python's exit flush find /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
