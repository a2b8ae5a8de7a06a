"""Intake refuses what a clerk would regret (issue 8, point 7), at an injected clock.

Real intakes on a real appliance home: each refusal has its stable code and the
rule in Chinese, nothing is stored for a refused handover, a possibly classified
name needs the explicit confirmation (which is on record), and the catalog
directory and volume can be chosen when the automatic mapping is wrong.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from juanzong.edge import audit, intake
from juanzong.edge.intake import ItemSpec, parse_item
from juanzong.shared.errors import AppError

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
CASE = "（2026）京0102民初1234号"


def register(db, settings, items, *, case=CASE, submitter="张三", **kw):
    return intake.register(db, settings, case_text=case, submitter=submitter, items=items, received_at=NOW, now=NOW, **kw)


def refused(db, settings, items, **kw) -> AppError:
    with pytest.raises(AppError) as info:
        register(db, settings, items, **kw)
    assert db.execute("SELECT COUNT(*) FROM intakes").fetchone()[0] == 0  # nothing stored
    return info.value


@pytest.mark.parametrize("submitter", ["", "   ", "\u3000"])
def test_a_handover_without_a_submitter_is_refused(settings, db, submitter):
    err = refused(db, settings, [ItemSpec("起诉状", 3)], submitter=submitter)
    assert err.code == "INTAKE_SUBMITTER_MISSING" and "提交人" in err.message


@pytest.mark.parametrize(
    "submitter, name, what",
    [
        ("张\n三", "起诉状", "提交人"),
        ("张三", "起诉状\n（第二份）", "材料名称"),  # a newline broke the cover sheet's centred title
        ("张三", "起诉状\u202e", "材料名称"),  # a direction override hides what is printed
        ("北京某某律师事务所" * 12, "起诉状", "提交人"),
        ("张三", "证据" * 51, "材料名称"),
    ],
)
def test_printed_names_are_one_line_of_at_most_100_characters(settings, db, submitter, name, what):
    err = refused(db, settings, [ItemSpec(name, 3)], submitter=submitter)
    assert err.code == "INTAKE_TEXT_INVALID" and what in err.message and "一行文字" in err.message
    assert "\n" not in err.message and "\u202e" not in err.message


def test_a_long_but_real_item_name_is_accepted_and_its_cover_sheet_renders(settings, db):
    from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet

    name = "北京某某科技有限公司与北京某某贸易有限公司买卖合同纠纷一案原告提交的补充证据材料（第二组）"
    registered = register(db, settings, [ItemSpec(name, 3)])
    item = registered.items[0]
    sheet = render_cover_sheet(
        CoverSheetInfo(item_id=item.item_id, intake_id=registered.intake_id, case_number=CASE, item_name=item.name, declared_pages=3)
    )
    assert sheet.size == (2480, 3508)


def test_zero_pages_never_parse_and_absurd_counts_are_refused_with_the_limit(settings, db):
    for text in ("起诉状:0", "起诉状:-3", "起诉状:三"):
        with pytest.raises(AppError) as info:
            parse_item(text)
        assert info.value.code == "INTAKE_ITEM_INVALID"
    err = refused(db, settings, [ItemSpec("证据材料", 30000)])
    assert err.code == "INTAKE_PAGES_ABSURD" and "30000" in err.message and "5000" in err.message
    assert register(db, settings, [ItemSpec("证据材料", 5000)]).items[0].declared_pages == 5000


def test_the_page_limit_is_a_setting(tmp_path, central_keys):
    from edge_kit import make_home

    from juanzong.edge import repo
    from juanzong.edge.config import load_settings

    settings = load_settings(make_home(tmp_path, central_keys, max_declared_pages=200))
    db = repo.connect(settings)
    assert refused(db, settings, [ItemSpec("证据材料", 201)]).params["limit"] == 200


def test_a_case_year_after_the_current_year_is_refused_at_the_injected_clock(settings, db):
    err = refused(db, settings, [ItemSpec("起诉状", 3)], case="（2027）京0102民初1号")
    assert err.code == "CASE_YEAR_IN_FUTURE" and "2027" in err.message and "2026" in err.message
    assert register(db, settings, [ItemSpec("起诉状", 3)], case="（2026）京0102民初1号")


@pytest.mark.parametrize("name, word", [("涉密文件", "涉密"), ("机密材料", "机密"), ("绝密电报", "绝密"), ("商业秘密鉴定报告", "秘密")])
def test_a_name_suggesting_classified_material_needs_an_explicit_confirmation(settings, db, name, word):
    err = refused(db, settings, [ItemSpec(name, 3)])
    assert err.code == "ITEM_MAYBE_CLASSIFIED" and f"“{word}”" in err.message and "--not-classified" in err.message
    refusal = [r for r in audit.records(db) if r.action == "intake" and r.outcome == "refused"]
    assert refusal and refusal[-1].detail["reason"] == "maybe_classified"

    registered = register(db, settings, [ItemSpec(name, 3)], confirmed_not_classified=True)
    assert any("已确认不是涉密材料" in w for w in registered.to_dict()["warnings"])
    accepted = [r for r in audit.records(db) if r.action == "intake" and r.outcome != "refused"][-1]
    assert any(name in note for note in accepted.detail["notes"])


def test_the_clerk_chooses_catalog_directory_and_volume(settings, db):
    """A 副卷 “证据” item has no 副卷 directory of that name: it is placed with a note,
    and the clerk can name the directory explicitly."""
    auto = register(db, settings, [parse_item("证据:3:副卷")])
    assert auto.items[0].volume == "internal"
    assert any(":目录=" in w for w in auto.to_dict()["warnings"])
    chosen = register(db, settings, [parse_item("证据:3:副卷:目录=合议庭评议笔录、汇报笔录")])
    assert (chosen.items[0].volume, chosen.items[0].catalog_dir) == ("internal", "合议庭评议笔录、汇报笔录")
    assert not any(":目录=" in w for w in chosen.to_dict()["warnings"])
    main = register(db, settings, [parse_item("庭审笔录:8:目录=庭前会议笔录、法庭笔录及相关材料")])
    assert (main.items[0].volume, main.items[0].catalog_dir) == ("main", "庭前会议笔录、法庭笔录及相关材料")
    with pytest.raises(AppError) as info:  # a 正卷 directory is not in the 副卷
        register(db, settings, [parse_item("证据:3:副卷:目录=诉讼参与人举证材料")])
    assert info.value.code == "CATALOG_DIR_UNKNOWN"


def test_item_syntax_accepts_full_width_colons_and_digits(settings, db):
    spec = parse_item("起诉状：１２：副卷：复印件：黑白")
    assert (spec.name, spec.pages, spec.volume, spec.original, spec.colour) == ("起诉状", 12, "internal", False, False)


def test_refusals_on_the_command_line_are_chinese_with_their_code(settings):
    import subprocess
    import sys

    base = [
        sys.executable,
        "-P",
        "-m",
        "juanzong.shared.cli",
        "edge",
        "intake",
        "add",
        "--home",
        str(settings.home),
        "--no-print",
        "--case",
        CASE,
        "--received",
        NOW.isoformat(),
    ]
    run = subprocess.run([*base, "--submitter", " ", "--item", "起诉状:3"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr.startswith("错误 INTAKE_SUBMITTER_MISSING: ")
    run = subprocess.run([*base, "--submitter", "王五", "--item", "商业秘密证据:3"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr.startswith("错误 ITEM_MAYBE_CLASSIFIED: ")
    run = subprocess.run(
        [*base, "--submitter", "王五", "--item", "商业秘密证据:3", "--not-classified", "--json"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert any("已确认不是涉密材料" in w for w in json.loads(run.stdout)["warnings"])
