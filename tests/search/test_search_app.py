"""Search through the app: courses indexed by the worker's tasks, the API, the page, the CLI."""
import json
import shutil
import threading

import pytest

from lms.extensions import db
from search import storage
from search.services import seed_synonyms
from search.storage import index_root
from search.tasks import index_course, rebuild_index

VILLAGE = "621123100201"       # 示例一村, 清源镇, 渭源县
OTHER_VILLAGE = "621102100201"  # 示例五村, 安定区


@pytest.fixture
def courses(app, regions, make_course, make_user):
    """Four published courses (indexed on publish, as in production) and one draft."""
    shutil.rmtree(index_root(app), ignore_errors=True)
    seed_synonyms()
    db.session.commit()
    trainer = make_user("trainer", display_name="王老师")
    made = {
        "ecommerce": make_course(trainer, title="电子商务运营入门", skill="ecommerce"),
        "pig": make_course(trainer, title="生猪养殖技术", skill="breeding.pig", regions=["621123000000"]),
        "home": make_course(trainer, title="家政服务员培训", skill="housekeeping.service", regions=[VILLAGE]),
        "live": make_course(trainer, title="农村电商直播带货", skill="ecommerce", regions=["621102000000"]),
        "draft": make_course(trainer, title="电商草稿课程", skill="ecommerce", published=False),
    }
    return made


def api(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def found(client, q, **params):
    return [h["course"] for h in api(client, q=q, **params).get_json()["hits"]]


@pytest.fixture
def staff(client, make_user, login):
    login(client, make_user("admin"))
    return client


def test_api_answers_with_the_issue_shape(courses, staff):
    body = api(staff, q="电商").get_json()
    assert set(body) == {"total", "hits", "facets"}
    assert body["total"] == 2
    assert {h["course"] for h in body["hits"]} == {courses["ecommerce"].id, courses["live"].id}
    hit = body["hits"][0]
    assert set(hit) == {"course", "title", "highlights", "score"}
    assert any("<mark>" in h for h in hit["highlights"])
    assert body["facets"] == {"skill_category": {"commerce": 2}, "skill_code": {"ecommerce": 2},
                              "programme": {"yulu-short": 2}}


def test_draft_is_not_found_and_filters_apply(courses, staff):
    assert courses["draft"].id not in found(staff, "草稿")
    assert found(staff, "培训", skill="housekeeping") == [courses["home"].id]  # parent skill code
    assert found(staff, "", skill="agriculture") == [courses["pig"].id]        # category
    assert found(staff, "电商", programme="tongxin") == []


def test_pinyin_initials_synonyms_and_traditional_through_the_api(courses, staff):
    assert found(staff, "yangzhu") == [courses["pig"].id]           # pinyin of the synonym 养猪
    assert found(staff, "szyz") == [courses["pig"].id]              # initials of 生猪养殖
    assert found(staff, "養豬") == [courses["pig"].id]               # traditional 养猪 → 生猪养殖
    assert set(found(staff, "网店")) == {courses["ecommerce"].id, courses["live"].id}


def test_learner_sees_only_courses_offered_in_their_region(courses, client, make_user, login):
    login(client, make_user("learner", region_code=VILLAGE))
    assert found(client, "养猪") == [courses["pig"].id]               # offered in the county
    assert found(client, "家政") == [courses["home"].id]             # offered in the village
    assert found(client, "直播") == []                                # offered in 安定区 only
    assert found(client, "电商") == [courses["ecommerce"].id]        # everywhere + not 安定区


def test_learner_elsewhere_does_not_see_them(courses, client, make_user, login):
    login(client, make_user("learner", region_code=OTHER_VILLAGE))
    assert found(client, "养猪") == []
    assert found(client, "直播") == [courses["live"].id]


def test_unpublish_removes_a_course_and_republish_brings_it_back(courses, staff, make_user):
    from courses import services

    pig = courses["pig"]
    assert found(staff, "养殖") == [pig.id]
    trainer = pig.trainers[0]
    services.publish(trainer, pig, False)
    db.session.commit()  # the courses area queues remove_course after commit
    assert found(staff, "养殖") == []
    services.publish(trainer, pig, True)
    db.session.commit()
    assert found(staff, "养殖") == [pig.id]


def test_an_edit_is_searchable_after_the_task(courses, staff):
    course = courses["ecommerce"]
    course.summary = "教你把土特产卖到全国"
    db.session.commit()
    index_course(course.id)
    assert found(staff, "土特产") == [course.id]


def test_script_in_a_title_is_escaped_on_the_page_and_in_the_api(courses, staff, make_course):
    course = make_course(courses["pig"].trainers[0], title="<script>alert(1)</script>电商秘籍", skill="ecommerce")
    hit = next(h for h in api(staff, q="秘籍").get_json()["hits"] if h["course"] == course.id)
    assert hit["highlights"][0] == "&lt;script&gt;alert(1)&lt;/script&gt;电商<mark>秘籍</mark>"
    page = staff.get("/search", query_string={"q": "秘籍"}).get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;电商<mark>秘籍</mark>" in page


def test_results_page_shows_skill_and_duration_and_zero_results_suggest_skills(courses, client, make_user,
                                                                               login):
    login(client, make_user("learner", region_code=VILLAGE))
    page = client.get("/search", query_string={"q": "养猪"}, headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<mark>生猪养殖</mark>技术" in html   # found through the synonym 养猪
    assert "生猪养殖 · 2 分钟" in html   # skill and duration (one 100 s lesson)
    empty = client.get("/search", query_string={"q": "火箭发射"}, headers={"Accept-Language": "zh-CN"})
    html = empty.get_data(as_text=True)
    assert "没有找到课程" in html
    assert "search?skill=breeding" in html and "养殖" in html


def test_learner_home_has_the_search_box(courses, client, make_user, login):
    login(client, make_user("learner", region_code=VILLAGE))
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'role="search"' in html and 'action="/search"' in html and 'name="q"' in html


def test_api_needs_a_signed_in_user(courses, client):
    assert client.get("/api/v1/search?q=电商").status_code == 401


def test_corrupt_index_falls_back_to_the_database_and_recovers(courses, staff, app):
    root = index_root(app)
    gen = root / storage.read_pointer(root)
    for f in gen.iterdir():
        if f.suffix in (".toc", ".seg"):
            f.write_bytes(b"\0not an index")
    # The request is answered from the database; in tests the queued rebuild runs at once.
    response = api(staff, q="电子商务")
    assert response.headers.get("X-Search-Fallback") == "1"
    # title words and synonyms still work; pinyin needs the index
    assert {h["course"] for h in response.get_json()["hits"]} == {courses["ecommerce"].id, courses["live"].id}
    assert response.get_json()["facets"]["skill_code"] == {"ecommerce": 2}  # the index's facets, from SQL
    after = api(staff, q="dianzishangwu")
    assert "X-Search-Fallback" not in after.headers
    assert after.get_json()["hits"][0]["course"] == courses["ecommerce"].id


def test_missing_index_is_rebuilt(courses, staff, app):
    shutil.rmtree(index_root(app))
    response = api(staff, q="家政")
    assert response.headers.get("X-Search-Fallback") == "1"
    assert found(staff, "jiazheng") == [courses["home"].id]


def test_rebuild_task_swaps_while_api_searches_run(courses, app):
    errors, seen = [], []
    stop = threading.Event()

    def searching():
        from search.parsing import Synonyms
        from search.searcher import search_index

        with app.app_context():
            while not stop.is_set():
                try:
                    seen.append(search_index(index_root(app), "电商", synonyms=Synonyms([("电商", "电子商务")])).total)
                except Exception as exc:  # noqa: BLE001 — any failure is the bug under test
                    errors.append(exc)

    thread = threading.Thread(target=searching)
    thread.start()
    try:
        for _ in range(3):
            rebuild_index()
    finally:
        stop.set()
        thread.join()
    assert errors == [] and seen and set(seen) == {2}


def test_cli_rebuild_and_query_json(courses, runner, app):
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "indexed 4 courses" in result.output
    result = runner.invoke(args=["search", "query", "dianshang", "--json"])
    body = json.loads(result.output)
    assert body["total"] == 2 and set(body) == {"total", "hits", "facets"}
    result = runner.invoke(args=["search", "query", "养猪", "--region", OTHER_VILLAGE, "--json"])
    assert json.loads(result.output)["total"] == 0


def test_verify_repairs_changes_whose_job_was_lost(courses, runner, staff):
    courses["home"].title = "高级家政服务员"
    courses["pig"].lessons[0].body = "冬季保温要点"  # a lesson edit does not touch the course row
    db.session.commit()  # changed without index jobs
    assert found(staff, "保温") == []
    result = runner.invoke(args=["search", "verify", "--no-repair"])
    assert result.exit_code == 1 and '"outdated": 2' in result.output
    assert runner.invoke(args=["search", "verify"]).exit_code == 0
    assert runner.invoke(args=["search", "verify", "--no-repair"]).exit_code == 0
    assert found(staff, "保温") == [courses["pig"].id]
    assert found(staff, "高级家政") == [courses["home"].id]


def _facet_names(html: str) -> list[str]:
    import re

    nav = re.search(r'<nav class="facets".*?</nav>', html, re.S).group(0)
    return re.findall(r'<a class="btn(?: primary)?" href="/search\?[^"]*skill=[^"&]+[^"]*">([^<（]+)（\d+）</a>', nav)


def test_skill_facets_use_the_home_tiles_names(courses, client, make_user, login, make_course):
    import re

    dishes = make_course(courses["pig"].trainers[0], title="家常菜培训", skill="cooking.chinese", regions=[VILLAGE])
    login(client, make_user("learner", region_code=VILLAGE))
    home = client.get("/learn").get_data(as_text=True)
    tiles = re.findall(r'<span class="tile-name">([^<]+)</span>', home)
    html = client.get("/search", query_string={"q": "培训"}).get_data(as_text=True)
    facets = _facet_names(html)
    # Every course here says 培训 (its programme's name): the facets are the home's tiles, by the
    # same names in the same order (家常菜培训 is 中式烹调, under 烹饪; 家政服务员培训 under 家政).
    assert facets == tiles == ["养殖", "家政", "烹饪", "电子商务"]
    assert "家政（1）" in html and "href=\"/search?q=%E5%9F%B9%E8%AE%AD&amp;skill=housekeeping\"" in html
    narrowed = client.get("/search", query_string={"q": "培训", "skill": "housekeeping"}).get_data(as_text=True)
    assert f'href="/learn/courses/{courses["home"].id}"' in narrowed
    assert f'href="/learn/courses/{dishes.id}"' not in narrowed
