"""The dossier catalog: ordered 正卷/副卷 lists per case type, court overrides, and suggestions."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from juanzong.shared.caseno import case_types, parse_case_number
from juanzong.shared.catalog import DEFAULT_PATH, Catalog, catalog_for, load_catalogs
from juanzong.shared.errors import AppError, ErrorCode

REQUIRED_TYPES = ("民初", "民终", "刑初", "行初", "执", "执恢", "执保")
INTERNAL = ("合议庭评议笔录、汇报笔录", "审（签）批材料", "本院法律文书签发稿", "结案相关材料")


def names(entries) -> list[str]:
    return [e.name for e in entries]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---- the shipped lists ----


def test_every_required_type_has_a_versioned_sourced_list() -> None:
    catalogs = load_catalogs()
    for code in REQUIRED_TYPES:
        cat = catalogs[code]
        assert cat.version == "2026.1"
        assert code in cat.type_codes
        assert any(mark in cat.source for mark in ("[S]", "[C]", "[I]"))
        assert len(cat.main) >= 10


def test_order_of_the_civil_first_instance_list_is_kept() -> None:
    main = names(catalog_for("民初").main)
    assert main[:4] == ["案件审判流程管理信息表、案件登记表", "诉讼材料收取清单", "案件移送函等表明案件来源的材料", "起诉状及相关材料"]
    assert main.index("起诉状及相关材料") < main.index("反诉状及相关材料") < main.index("答辩状及相关材料")
    assert main.index("本院法律文书正本") < main.index("送达地址确认书、送达回证或其他送达凭证")
    assert main[-1] == "其他与诉讼活动相关的材料"
    assert len(main) == 25


def test_property_preservation_enforcement_list_is_exactly_the_12_items_in_order() -> None:
    assert names(catalog_for("执保").main) == [
        "案件执行流程管理信息表、案件登记表",
        "财产保全申请书",
        "裁定书",
        "申请人主体资格材料",
        "申请人提供的证明材料",
        "询问、调查、听证、执行、谈话笔录及取证材料",
        "财产查询材料",
        "财产处置材料",
        "财产保全清单",
        "结案相关材料",
        "送达地址确认书、送达回证或其他送达凭证",
        "其他与执行工作相关的材料",
    ]


def test_list_sizes_match_the_sources() -> None:
    assert len(catalog_for("刑初").main) == 44
    assert len(catalog_for("执").main) == 31


def test_entries_are_numbered_from_1_without_gaps_in_each_volume() -> None:
    for cat in set(load_catalogs().values()):
        for volume, entries in (("main", cat.main), ("internal", cat.internal)):
            assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
            assert {e.volume for e in entries} == {volume}


def test_every_list_has_the_four_fixed_internal_volume_items() -> None:
    for code in REQUIRED_TYPES:
        assert tuple(names(catalog_for(code).internal)) == INTERNAL


def test_appeal_list_leads_with_the_appeal_and_has_no_complaint() -> None:
    cat = catalog_for("民终")
    main = names(cat.main)
    assert main.index("上诉状及相关材料") < main.index("案件移送函等表明案件来源的材料")
    assert "起诉状及相关材料" not in main and "反诉状及相关材料" not in main
    assert "[I]" in cat.source


def test_enforcement_resumption_list_swaps_the_application_and_adds_preservation() -> None:
    first, resumed = names(catalog_for("执").main), names(catalog_for("执恢").main)
    assert "恢复执行申请书" in resumed and "申请执行书" not in resumed
    assert "委托执行函等案件来源材料" not in resumed
    assert resumed.index("财产保全材料") == resumed.index("询问、调查、听证、执行、谈话、终本约谈笔录及取证材料") + 1
    assert "财产保全材料" not in first


def test_administrative_list_follows_section_2_4() -> None:
    cat = catalog_for("行初")
    main = names(cat.main)
    assert main.index("起诉状及相关材料") + 1 == main.index("被诉行政行为（决定书、复议决定）及送达凭证")
    assert "被告答辩状及作出行政行为的证据和规范性文件" in main
    assert "行政机关负责人出庭应诉材料" in main and "第三人参加诉讼材料" in main
    assert "反诉状及相关材料" not in main
    assert "[I]" in cat.source


def test_every_mapped_type_code_is_a_real_case_type() -> None:
    assert set(load_catalogs()) <= set(case_types())


def test_every_keyword_candidate_names_a_real_entry() -> None:
    all_names = {e.name for cat in load_catalogs().values() for e in cat.main + cat.internal}
    data = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    for rule in data["keyword"]:
        assert set(rule["entries"]) <= all_names, rule


# ---- lookups ----


@pytest.mark.parametrize(
    ("text", "list_name"),
    [
        ("（2024）京0102民初1234号", "民初"),
        ("（2024）京0102民特5号", "民初"),
        ("（2024）粤07民终12号", "民终"),
        ("（2024）京0102刑初8号", "刑初"),
        ("（2024）京0102行赔初2号", "行初"),
        ("（2024）京0102执恢0012号", "执恢"),
        ("（2014）海执字第3号", "执"),
    ],
)
def test_catalog_follows_the_parsed_case_number(text: str, list_name: str) -> None:
    assert catalog_for(parse_case_number(text).type_code).list_name == list_name


@pytest.mark.parametrize("code", ["民申", "刑核", "破", "XYZ", ""])
def test_type_without_a_list_is_refused(code: str) -> None:
    with pytest.raises(AppError) as info:
        catalog_for(code)
    assert info.value.code == ErrorCode.CATALOG_NOT_FOUND
    assert info.value.params["type_code"] == code


def test_entry_by_exact_name_and_volume() -> None:
    cat = catalog_for("执")
    assert cat.entry("结案相关材料").volume == "main"  # in both volumes: main first
    assert cat.entry("结案相关材料", "internal").seq == 4
    assert cat.entry("申请执行书", "main").seq == 3
    with pytest.raises(AppError) as info:
        cat.entry("起诉状")
    assert info.value.code == ErrorCode.CATALOG_DIR_UNKNOWN
    with pytest.raises(AppError):
        cat.entry("申请执行书", "internal")


# ---- suggestions ----


@pytest.mark.parametrize(
    ("code", "typed", "expected"),
    [
        ("民初", "起诉状", "起诉状及相关材料"),
        ("民初", "民事起诉状", "起诉状及相关材料"),
        ("民初", "证据", "诉讼参与人举证材料"),
        ("民初", "证据目录及证据", "诉讼参与人举证材料"),
        ("民初", "身份证复印件", "诉讼参与人主体资格材料"),
        ("民初", "授权委托书", "诉讼参与人主体资格材料"),
        ("民初", "答辩状", "答辩状及相关材料"),
        ("民初", "反诉状", "反诉状及相关材料"),
        ("民初", "送达回证", "送达地址确认书、送达回证或其他送达凭证"),
        ("民初", "判决书", "本院法律文书正本"),
        ("民初", "撤诉申请书", "撤诉申请书、撤诉笔录"),
        ("民初", "财产保全申请书", "保全相关材料"),
        ("民初", "延期开庭申请书", "诉讼参与人提交的申请书及相关材料"),
        ("民初", "诉讼费交费凭证", "交纳诉讼费用相关材料"),
        ("民初", "情况说明", "其他与诉讼活动相关的材料"),
        ("民初", "  借 条 ", "诉讼参与人举证材料"),
        ("民终", "上诉状", "上诉状及相关材料"),
        ("民终", "一审判决书", "原审裁判文书"),
        ("刑初", "起诉书", "起诉书及相关材料"),
        ("刑初", "授权委托书", "委托、指定辩护人材料"),
        ("刑初", "谅解书", "赔偿协议、附带民事诉讼谅解书"),
        ("刑初", "量刑建议书", "量刑建议书"),
        ("行初", "答辩状", "被告答辩状及作出行政行为的证据和规范性文件"),
        ("行初", "行政处罚决定书", "被诉行政行为（决定书、复议决定）及送达凭证"),
        ("执", "执行申请书", "申请执行书"),
        ("执", "判决书", "执行依据"),
        ("执", "身份证复印件", "执行案件参与人主体资格材料"),
        ("执", "评估报告", "财产处置材料"),
        ("执", "情况说明", "其他与执行工作相关的材料"),
        ("执恢", "恢复执行申请书", "恢复执行申请书"),
        ("执保", "财产保全申请书", "财产保全申请书"),
        ("执保", "身份证", "申请人主体资格材料"),
    ],
)
def test_suggest_maps_what_a_clerk_types(code: str, typed: str, expected: str) -> None:
    entry = catalog_for(code).suggest(typed)
    assert (entry.name, entry.volume) == (expected, "main")


def test_suggest_can_land_in_the_internal_volume() -> None:
    entry = catalog_for("民初").suggest("合议庭评议笔录")
    assert (entry.name, entry.volume, entry.seq) == ("合议庭评议笔录、汇报笔录", "internal", 1)


def test_suggest_uses_an_entry_name_fragment_as_last_resort() -> None:
    assert catalog_for("执").suggest("举报财产责任书").name.endswith("申请执行人举报财产责任书")


# ---- per-court overrides ----

OVERRIDE_MINCHU = """
version = "2026.1-京0102.1"
[[list]]
name = "民初"
source = "京0102 档案室 2026 年规定"
main = ["立案材料", "起诉状", "证据", "庭审笔录", "裁判文书", "送达材料", "其他材料"]
"""


def test_court_override_replaces_a_whole_list(tmp_path: Path) -> None:
    write(tmp_path / "京0102.toml", OVERRIDE_MINCHU)
    cat = catalog_for("民初", court="京0102", override_dir=tmp_path)
    assert names(cat.main) == ["立案材料", "起诉状", "证据", "庭审笔录", "裁判文书", "送达材料", "其他材料"]
    assert cat.version == "2026.1-京0102.1"
    assert cat.source == "京0102 档案室 2026 年规定"
    # Inherited: the types that used the list, the 副卷 list, and the keyword table.
    assert catalog_for("民特", court="京0102", override_dir=tmp_path) == cat
    assert tuple(names(cat.internal)) == INTERNAL
    assert cat.fallback == "其他材料"
    assert cat.suggest("授权委托书").name == "其他材料"  # no 主体资格 entry in this court's list
    assert cat.suggest("起诉状").name == "起诉状"


def test_override_leaves_other_courts_and_lists_alone(tmp_path: Path) -> None:
    write(tmp_path / "京0102.toml", OVERRIDE_MINCHU)
    assert len(catalog_for("民初", court="粤0703", override_dir=tmp_path).main) == 25
    assert catalog_for("执", court="京0102", override_dir=tmp_path) == catalog_for("执")
    assert len(catalog_for("民初").main) == 25


def test_override_can_give_a_type_its_own_list(tmp_path: Path) -> None:
    write(
        tmp_path / "京0102.toml",
        """
[[list]]
name = "民特"
type_codes = ["民特"]
source = "本院特别程序卷"
main = ["申请书", "证据", "裁定书", "送达回证", "其他与诉讼活动相关的材料"]
internal = ["合议庭评议笔录", "审批材料"]

[[list]]
name = "民申"
type_codes = ["民申"]
main = ["再审申请书", "原审裁判文书", "其他与诉讼活动相关的材料"]
""",
    )
    special = catalog_for("民特", court="京0102", override_dir=tmp_path)
    assert special.list_name == "民特"
    assert names(special.internal) == ["合议庭评议笔录", "审批材料"]
    assert catalog_for("民初", court="京0102", override_dir=tmp_path).type_codes.count("民特") == 0
    retrial = catalog_for("民申", court="京0102", override_dir=tmp_path)
    assert retrial.fallback == "其他与诉讼活动相关的材料"
    assert retrial.suggest("一审判决书").name == "原审裁判文书"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("[[list]\nname = ", ""),
        ('[[list]]\nname = "民初"\nmain = ["起诉状", "起诉状"]\n', "重复"),
        ('[[list]]\nname = "民初"\nmain = ["起诉状"]\nfallback = "其他"\n', "fallback"),
        ('[[list]]\nname = "新表"\nmain = ["其他"]\n', "type_codes"),
        ('[[list]]\nname = "新表"\ntype_codes = ["民出"]\nmain = ["其他"]\n', "民出"),
        ('[[list]]\nname = "民初"\nmain = []\n', "民初.main"),
        ('version = "x"\n', "list"),
    ],
)
def test_broken_override_file_is_refused_with_its_path(tmp_path: Path, text: str, detail: str) -> None:
    path = write(tmp_path / "京0102.toml", text)
    with pytest.raises(AppError) as info:
        catalog_for("民初", court="京0102", override_dir=tmp_path)
    assert info.value.code == ErrorCode.CATALOG_INVALID
    assert str(path) in info.value.message and detail in info.value.message


def test_override_lookup_ignores_court_names_that_are_not_codes(tmp_path: Path) -> None:
    write(tmp_path / "x.toml", OVERRIDE_MINCHU)
    sub = tmp_path / "sub"
    sub.mkdir()
    assert len(catalog_for("民初", court="../x", override_dir=sub).main) == 25


def test_load_catalogs_reads_an_override_file_directly(tmp_path: Path) -> None:
    catalogs = load_catalogs(court_override=write(tmp_path / "京0102.toml", OVERRIDE_MINCHU))
    assert isinstance(catalogs["民初"], Catalog)
    assert catalogs["民初"].main[0].name == "立案材料"
    assert catalogs["刑初"].version == "2026.1"
