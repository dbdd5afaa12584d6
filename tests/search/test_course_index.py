import threading

import pytest

from search import indexer, storage
from search.parsing import Synonyms
from search.searcher import search_index
from search.schema import SCHEMA_VERSION


def test_single_word_finds_title_and_lesson_text(root, ids):
    assert ids(root, "电工") == [5]
    assert ids(root, "打光") == [4]  # only in captions
    assert ids(root, "农村 打光") == [4]  # one word in the title, the other in captions


def test_quoted_phrase_needs_the_words_in_order(root, ids):
    assert ids(root, '"商务运营"') == [1]
    assert ids(root, "“运营商务”") == []
    assert ids(root, "运营 商务") == [1]


def test_pinyin_full_spelling(root, ids):
    assert set(ids(root, "dianshang")) == {1, 4}
    assert ids(root, "yangzhi") == [2]
    assert ids(root, "shengzhuyangzhi") == [2]
    assert ids(root, "jia zheng") == [3]


def test_pinyin_initials(root, ids):
    assert ids(root, "dg") == [5]
    assert ids(root, "jz") == [3]


def test_synonyms_work_both_ways(root, ids):
    # 电商 is only in course 4, 电子商务 in 1 and 4; the synonym joins them both ways.
    assert set(ids(root, "电商", synonyms=Synonyms())) == {4}
    assert set(ids(root, "电商")) == {1, 4}
    assert set(ids(root, "电子商务", skill="ecommerce")) == {1, 4}
    assert ids(root, "网店运营") == [1]
    assert ids(root, "养猪") == [2]
    assert ids(root, "生猪养殖", synonyms=Synonyms([("养猪", "生猪养殖")])) == [2]


def test_synonym_reached_by_its_pinyin(root, ids):
    groups = Synonyms([("月嫂", "家政服务员")])
    assert ids(root, "yuesao", synonyms=groups) == [3]


def test_traditional_and_full_width_input(root, ids):
    assert set(ids(root, "電子商務")) == {1, 4}
    assert ids(root, "家政服務") == [3]
    assert set(ids(root, "ＤＩＡＮＳＨＡＮＧ")) == {1, 4}


def test_one_typo_in_pinyin_is_forgiven(root, ids):
    assert ids(root, "yangzi") == [2]       # a letter missing (z/zh)
    assert ids(root, "jiazhneg") == [3]     # two letters swapped
    assert ids(root, "xyzxyz") == []


def test_ranking_title_over_skill_over_summary_over_lesson_text(tmp_path, ids):
    docs = [
        dict(id=10, title="课程甲", summary="无关", skill="其他", lessons=[{"title": "一", "body": "蔬菜大棚"}]),
        dict(id=11, title="课程乙", summary="蔬菜大棚", skill="其他"),
        dict(id=12, title="课程丙", summary="无关", skill="蔬菜大棚"),
        dict(id=13, title="蔬菜大棚", summary="无关", skill="其他"),
    ]
    indexer.rebuild(tmp_path, docs)
    assert ids(tmp_path, "蔬菜大棚") == [13, 12, 11, 10]


def test_region_filter_prefix_of_the_learners_village(root, ids):
    village = "520102003004"
    assert ids(root, "养殖", region_code=village) == [2]           # offered in 5201
    assert ids(root, "家政", region_code=village) == [3]           # offered in the village
    assert ids(root, "家政", region_code="520102003005") == []     # neighbouring village
    assert ids(root, "电工", region_code=village) == []            # offered in 53 only
    assert set(ids(root, "电商", region_code=village)) == {1, 4}   # offered everywhere
    assert ids(root, "养殖", region_code="") == []                 # no region: everywhere only
    assert ids(root, "养殖") == [2]                                # staff: unrestricted


def test_facets_and_filters(root, ids):
    result = search_index(root, "电商", synonyms=Synonyms([("电商", "电子商务", "网店")]))
    assert result.facets == {"skill_category": {"service": 2}, "skill_code": {"ecommerce": 2},
                             "programme": {"yulu-short": 2}}
    assert ids(root, "培训", programme="tongxin") == [3]
    assert ids(root, "", skill="construction") == [5]


def test_script_tag_in_a_title_is_escaped_in_highlights(tmp_path):
    indexer.rebuild(tmp_path, [dict(id=7, title="<script>alert(1)</script>电商直播", summary="")])
    hit = search_index(tmp_path, "电商").hits[0]
    assert hit["title"] == "<script>alert(1)</script>电商直播"
    assert hit["highlights"][0] == "&lt;script&gt;alert(1)&lt;/script&gt;<mark>电商</mark>直播"


def test_pinyin_match_is_highlighted_in_chinese(root):
    hit = search_index(root, "yangzhi").hits[0]
    assert "生猪<mark>养殖</mark>技术" in hit["highlights"]


def test_removing_a_course_takes_it_out_of_results(root, ids):
    assert ids(root, "电工") == [5]
    assert indexer.apply(root, removals=[5]) == "applied"
    assert ids(root, "电工") == []


def test_update_replaces_the_document(root, ids, docs):
    changed = dict(docs[4], title="高级焊工")
    indexer.apply(root, upserts=[changed])
    assert ids(root, "电工基础") == []
    assert ids(root, "焊工") == [5]


def test_missing_stale_and_corrupt_index_are_detected(tmp_path, docs):
    with pytest.raises(storage.IndexUnavailable) as exc:
        search_index(tmp_path, "电工")
    assert exc.value.status == "missing"

    indexer.rebuild(tmp_path, docs)
    gen = tmp_path / storage.read_pointer(tmp_path)
    meta = storage.read_meta(gen)
    storage.write_meta(gen, dict(meta, schema_version=SCHEMA_VERSION - 1))
    with pytest.raises(storage.IndexUnavailable) as exc:
        search_index(tmp_path, "电工")
    assert exc.value.status == "stale"


def test_corrupt_index_is_rebuilt_by_the_writer(root, ids, docs):
    gen = root / storage.read_pointer(root)
    for f in gen.iterdir():
        if f.suffix in (".seg", ".trm", ".pst", ".toc"):
            f.write_bytes(b"\0garbage" * 10)
    with pytest.raises(storage.IndexUnavailable) as exc:
        search_index(root, "电工")
    assert exc.value.status == "corrupt"
    assert indexer.apply(root, removals=[1], rebuild_source=lambda: docs[1:]) == "rebuilt"
    assert ids(root, "电工") == [5]


def test_rebuild_swaps_atomically_while_searches_run(root, ids, docs):
    errors, seen = [], []
    stop = threading.Event()

    def searching():
        while not stop.is_set():
            try:
                seen.append(tuple(sorted(ids(root, "电商"))))
            except Exception as exc:  # noqa: BLE001 — any failure is the bug under test
                errors.append(exc)

    threads = [threading.Thread(target=searching) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(4):
            indexer.rebuild(root, docs)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert seen and set(seen) == {(1, 4)}
    # the live generation and one previous are kept, older ones removed
    assert len(storage.generations(root)) == 2


def test_only_one_rebuild_request_is_queued(tmp_path, docs):
    assert indexer.request_rebuild(tmp_path) is True
    assert indexer.request_rebuild(tmp_path) is False
    indexer.rebuild(tmp_path, docs)
    assert indexer.request_rebuild(tmp_path) is True
