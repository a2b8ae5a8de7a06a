"""Case numbers as clerks type them, as barcodes carry them, and as the rules refuse them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from juanzong.shared.caseno import CaseNumber, case_types, normalise_text, parse_case_number
from juanzong.shared.errors import AppError, ErrorCode

REPO = Path(__file__).resolve().parents[2]


def refused(text: str) -> AppError:
    with pytest.raises(AppError) as info:
        parse_case_number(text)
    return info.value


# ---- normalisation ----


@pytest.mark.parametrize(
    "text",
    [
        "（2024）京0102民初1234号",
        "(2024)京0102民初1234号",
        "〔2024〕京0102民初1234号",
        "[2024]京0102民初1234号",
        "【2024】京0102民初1234号",
        "（2024)京0102民初1234号",  # mixed, as pasted from two sources
        "［2024］京0102民初1234号",
    ],
)
def test_every_bracket_variant_is_stored_with_full_width_brackets(text: str) -> None:
    assert parse_case_number(text).canonical == "（2024）京0102民初1234号"


def test_full_width_digits_become_ascii() -> None:
    case = parse_case_number("（２０２４）京０１０２民初１２３４号")
    assert case.canonical == "（2024）京0102民初1234号"
    assert (case.year, case.seq) == (2024, 1234)


@pytest.mark.parametrize(
    "text",
    [
        " （2024） 京0102 民初 1234 号 ",
        "（2024）\u3000京0102民初1234号",  # full-width space
        "（2024）京0102\u00a0民初1234号",  # NBSP from a web page
        "（2024）京0102民初\t1234\n号",
        "\ufeff（2024）京0102民初12\u200b34号",  # BOM and zero-width space from a copied cell
    ],
)
def test_white_space_of_every_kind_is_removed(text: str) -> None:
    assert parse_case_number(text).canonical == "（2024）京0102民初1234号"


def test_normalise_text_leaves_chinese_alone() -> None:
    assert normalise_text("( ２０２４ )京 民终") == "（2024）京民终"


# ---- court levels ----


@pytest.mark.parametrize(
    ("text", "court", "level", "province", "court_name"),
    [
        ("（2019）最高法民终1号", "最高法", "supreme", None, "最高人民法院"),
        ("（2024）京民终5号", "京", "high", "京", "北京市高级人民法院"),
        ("（2024）粤07民终12号", "粤07", "intermediate", "粤", "广东省江门市中级人民法院"),
        ("（2024）京0102民初1234号", "京0102", "basic", "京", "北京市西城区人民法院"),
        ("（2024）沪0118民初7号", "沪0118", "basic", "沪", "上海市青浦区人民法院"),
        ("（2024）内民终3号", "内", "high", "内", "内蒙古自治区高级人民法院"),
        ("（2024）兵民初1号", "兵", "high", "兵", "新疆维吾尔自治区高级人民法院生产建设兵团分院"),
        ("（2024）军刑终2号", "军", "high", "军", "中国人民解放军军事法院"),
        ("（2024）内0102民初3号", "内0102", "basic", "内", None),  # valid shape, not in the table
    ],
)
def test_court_code_gives_level_province_and_known_name(
    text: str, court: str, level: str, province: str | None, court_name: str | None
) -> None:
    case = parse_case_number(text)
    assert (case.court, case.court_level, case.province) == (court, level, province)
    assert case.court_name == court_name
    assert case.to_dict()["court_name"] == court_name


def test_ip_special_code_sits_between_court_and_type() -> None:
    case = parse_case_number("（2019）最高法知民终1号")
    assert (case.court, case.special, case.type_code, case.type_name) == ("最高法", "知", "民终", "民事二审")
    assert case.canonical == "（2019）最高法知民终1号"
    assert case.warnings == ()


def test_ip_special_code_before_2019_is_flagged() -> None:
    case = parse_case_number("（2017）最高法知民终1号")
    assert any("专门审判代字“知”" in w for w in case.warnings)


# ---- type codes ----


@pytest.mark.parametrize(
    ("text", "type_code", "type_name", "category"),
    [
        ("（2024）京0102民特监5号", "民特监", "民事特别程序监督", "民事"),
        ("（2024）京0102民特5号", "民特", "民事特别程序", "民事"),
        ("（2024）京0102执恢88号", "执恢", "恢复执行", "执行"),
        ("（2024）京0102执88号", "执", "首次执行", "执行"),
        ("（2024）京0102执保9号", "执保", "财产保全执行", "执行"),
        ("（2024）京0102行赔初2号", "行赔初", "行政赔偿一审", "国家赔偿与司法救助"),
        ("（2024）京0102行初2号", "行初", "行政一审", "行政"),
        ("（2024）沪03破152号", "破", "破产（清算、重整、和解）", "强制清算与破产"),
        ("（2024）京0102司救民1号", "司救民", "民事司法救助", "国家赔偿与司法救助"),
    ],
)
def test_type_code_is_read_whole_longest_first(text: str, type_code: str, type_name: str, category: str) -> None:
    case = parse_case_number(text)
    assert (case.type_code, case.type_name, case.category) == (type_code, type_name, category)


def test_unknown_type_is_refused_with_the_code_it_saw() -> None:
    err = refused("（2024）京0102民哈12号")
    assert err.code == ErrorCode.CASE_NUMBER_UNKNOWN_TYPE
    assert err.params["type_code"] == "民哈"
    assert "民初" in err.message  # says what would be expected


def test_bare_sijiu_is_not_a_type() -> None:
    # 司法救助 always names its origin (司救民, 司救刑 …).
    assert refused("（2024）京0102司救1号").code == ErrorCode.CASE_NUMBER_UNKNOWN_TYPE


def test_pre_suit_mediation_numbers_pass_with_a_warning() -> None:
    case = parse_case_number("（2024）鲁0203民诉前调5号")
    assert case.type_code == "民诉前调"
    assert any("不在《人民法院案件类型及其代字标准》中" in w for w in case.warnings)


# ---- sequence number and suffix ----


def test_sub_document_suffix_is_kept() -> None:
    case = parse_case_number("（2024）京0102民初1234号之一")
    assert case.suffix == "之一"
    assert case.canonical == "（2024）京0102民初1234号之一"
    assert parse_case_number("（2024）京0102民初1234号之十二").suffix == "之十二"


def test_leading_zeros_are_dropped_with_a_warning() -> None:
    case = parse_case_number("（2024）京0102民初0012号")
    assert case.seq == 12
    assert case.canonical == "（2024）京0102民初12号"
    assert any("前导零" in w for w in case.warnings)


def test_criminal_review_numbers_are_eight_digits() -> None:
    case = parse_case_number("（2024）最高法刑核05123456号")
    assert case.seq == 5123456
    assert case.canonical == "（2024）最高法刑核05123456号"  # fixed width, not a padding mistake
    assert case.warnings == ()
    assert any("应为8位" in w for w in parse_case_number("（2024）最高法刑核123号").warnings)


# ---- legacy ----


def test_legacy_form_is_accepted_with_a_warning() -> None:
    case = parse_case_number("（2014）海民初字第123号")
    assert case.legacy is True
    assert (case.court, case.court_level, case.province) == ("海", "unknown", None)
    assert (case.type_code, case.seq) == ("民初", 123)
    assert case.canonical == "（2014）海民初字第123号"
    assert case.court_name is None
    assert case.warnings and "旧式案号" in case.warnings[0]


def test_legacy_type_is_the_longest_code_ending_the_run() -> None:
    assert parse_case_number("（2012）海民特监字第3号").type_code == "民特监"
    assert parse_case_number("(2010)浙执恢字第1号").type_code == "执恢"


def test_legacy_form_after_2016_gets_a_second_warning() -> None:
    case = parse_case_number("（2017）海民初字第1号")
    assert len(case.warnings) == 2


def test_legacy_code_outside_todays_table_is_refused() -> None:
    # 民四终 (SPC 4th civil division, pre-2016) has no 类型代字 today.
    assert refused("（2010）民四终字第1号").code == ErrorCode.CASE_NUMBER_UNKNOWN_TYPE


# ---- refusals ----


@pytest.mark.parametrize(
    ("text", "court", "hint"),
    [
        ("（2024）蒙01民初1号", "蒙01", "内"),
        ("（2024）贵民终1号", "贵", "黔"),
        ("（2024）京010民初1号", "京010", "现为3位"),
        ("（2024）京01021民初1号", "京01021", "现为5位"),
        ("（2024）最高法01民终1号", "最高法01", "不带数字"),
        ("（2024）海淀民初1号", "海淀", ""),
    ],
)
def test_bad_court_code_is_refused_saying_what_is_expected(text: str, court: str, hint: str) -> None:
    err = refused(text)
    assert err.code == ErrorCode.CASE_NUMBER_UNKNOWN_COURT
    assert err.params["court"] == court
    assert hint in err.message
    assert "京0102" in err.message and "最高法" in err.message


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "案号为空"),
        ("\u3000 ", "案号为空"),
        ("（2024）京0102民初1234", "缺少“号”字"),
        ("（2024）京0102民初号", "缺少案件编号"),
        ("2024京0102民初1号", "收案年度缺少括号"),
        ("（2024京0102民初1号", "括号不完整"),
        ("（二〇二四）京0102民初1号", "4位阿拉伯数字"),
        ("（1900）京民初1号", "不在1949年至2100年之间"),
        ("（2024）民初12号", "缺少法院代字"),
        ("（2024）京0102民初第12号", "不写“第”字"),
        ("（2024）京0102民初0号", "不能为0"),
        ("（2024）京0102民初123456789号", "超过8位"),
        ("（2024）京0102民初12号之1", "之一"),
        ("（2024）1234号", "缺少法院代字和类型代字"),
        ("（2024）京0102号", "缺少类型代字"),
        ("hello world", "收案年度开头"),
        ("案号：京0102民初12号", "收案年度开头"),
    ],
)
def test_malformed_numbers_are_refused_with_a_specific_reason(text: str, reason_part: str) -> None:
    err = refused(text)
    assert err.code == ErrorCode.CASE_NUMBER_INVALID
    assert err.params["text"] == text
    assert reason_part in err.params["reason"]
    assert err.message.endswith("应为如（2024）京0102民初1234号的格式")


# ---- round trip and serialisation ----

ROUND_TRIP = [
    "（2024）京0102民初1234号",
    "（2019）最高法知民终1号",
    "（2024）粤07民终12号之二",
    "（2024）内民终3号",
    "（2024）兵民初1号",
    "（2024）京0102民特监5号",
    "（2024）京0102执恢0012号",
    "（2024）最高法刑核05123456号",
    "（2024）京0491行赔初2号",
    "（2014）海民初字第123号",
    "（2013）民申字第1号",
    "（2024）鲁0203民诉前调5号",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_reparsing_the_canonical_form_gives_the_same_case(text: str) -> None:
    case = parse_case_number(text)
    again = parse_case_number(case.canonical)
    assert again == case
    assert again.canonical == case.canonical


def test_every_type_code_in_the_table_round_trips() -> None:
    for code in case_types():
        text = f"（2024）京0102{code}12345678号"
        case = parse_case_number(text)
        assert case.type_code == code
        assert parse_case_number(case.canonical) == case


def test_to_dict_is_json_ready_and_complete() -> None:
    case = parse_case_number("（2024）京0102执恢0012号之一")
    d = case.to_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert d["canonical"] == "（2024）京0102执恢12号之一"
    assert isinstance(d["warnings"], list) and d["warnings"]
    assert set(d) >= {f for f in CaseNumber.__dataclass_fields__} | {"canonical", "court_name"}


# ---- the CLI ----


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "juanzong.shared.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_cli_prints_the_parsed_number_in_chinese_and_as_json() -> None:
    assert run_cli("case-number", "(2024)京0102民初１２３４号").stdout.startswith("规范案号：（2024）京0102民初1234号")
    result = run_cli("case-number", "(2024)京0102民初１２３４号", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["canonical"] == "（2024）京0102民初1234号"
    assert out["court_level"] == "basic" and out["type_name"] == "民事一审"


def test_cli_refuses_with_exit_code_1_and_a_chinese_message() -> None:
    result = run_cli("case-number", "（2024）蒙01民初1号")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "CASE_NUMBER_UNKNOWN_COURT" in result.stderr
    assert "内蒙古" in result.stderr
