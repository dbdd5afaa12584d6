import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from lms.audit.models import AuditEntry
from search.models import DEFAULT_SYNONYMS, SynonymGroup
from search.queries import current_synonyms
from search.services import parse_synonyms


def test_dictionaries_load_on_the_first_search_not_when_the_app_starts(tmp_path):
    # A fresh process: creating the app leaves jieba, pypinyin and zhconv unloaded (every web
    # worker and the job worker would otherwise hold a copy at rest); analysing a query loads them.
    code = (
        "import sys\n"
        "from lms import create_app\n"
        f"create_app({{'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x',"
        f" 'DATA_KEY': 'x', 'SEARCH_INDEX': {str(tmp_path)!r}}})\n"
        "print(sorted(m for m in ('jieba', 'pypinyin', 'zhconv') if m in sys.modules))\n"
        "from search.analysis import pinyin_full, query_words\n"
        "print(query_words('電子商務培训'), pinyin_full('电商'))\n"
        "import jieba; print(jieba.dt.initialized)\n"
    )
    env = dict(os.environ, LMS_INSTANCE_PATH=str(tmp_path / "instance"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "['电子商务', '培训'] dianshang", "True"]


def test_parse_accepts_spaces_commas_and_normalises():
    assert parse_synonyms("電商，电子商务、网店\n\n养猪 生猪养殖") == [["电商", "电子商务", "网店"], ["养猪", "生猪养殖"]]


def test_admin_edits_the_synonym_table(client, make_user, login, db):
    admin = make_user("admin")
    login(client, admin)
    page = client.get("/admin/search/synonyms")
    assert page.status_code == 200
    response = client.post_form("/admin/search/synonyms", {"groups": "电商 电子商务 网店\n养羊 肉羊养殖"})
    assert response.status_code == 302
    assert [g.terms for g in db.session.scalars(db.select(SynonymGroup))] == ["电商 电子商务 网店", "养羊 肉羊养殖"]
    assert current_synonyms().variants("养羊") == ["养羊", "肉羊养殖"]
    assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "search.synonyms")) is not None


def test_a_lonely_word_is_refused_with_a_message_and_nothing_changes(client, make_user, login, db):
    login(client, make_user("admin"))
    client.post_form("/admin/search/synonyms", {"groups": "电商 网店"})
    response = client.post_form("/admin/search/synonyms", {"groups": "家政 家政服务\n月嫂"},
                                headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 400
    assert "第 2 行：每组至少需要两个词。" in response.get_data(as_text=True)
    assert ">家政 家政服务\n月嫂</textarea>" in response.get_data(as_text=True)  # what was typed comes back
    assert [g.terms for g in db.session.scalars(db.select(SynonymGroup))] == ["电商 网店"]


def test_only_admins_edit_synonyms(client, make_user, login):
    login(client, make_user("trainer"))
    assert client.get("/admin/search/synonyms").status_code == 403


def test_migration_seeds_the_default_groups():
    path = next((Path(__file__).resolve().parents[2] / "migrations" / "versions").glob("*search_0001*.py"))
    spec = importlib.util.spec_from_file_location("search_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert list(module.SEED) == [" ".join(group) for group in DEFAULT_SYNONYMS]
