"""Search fixtures: course documents (the plain dicts the indexer takes) for the index tests
that need no courses in the database, and an index built from them."""
import copy

import pytest

from search import indexer
from search.parsing import Synonyms
from search.searcher import search_index

DOCS = [
    dict(id=1, title="电子商务运营入门", summary="学习开网店，把农产品卖出去", skill="电子商务",
         skill_code="ecommerce", skill_category="service", programme="yulu-short",
         programme_name="雨露计划·短期技能培训", trainers=["王芳"], regions=[],
         lessons=[{"title": "注册店铺", "body": "手把手教你注册店铺、上架商品"}]),
    dict(id=2, title="生猪养殖技术", summary="猪舍建设与疫病防治", skill="养殖",
         skill_code="livestock", skill_category="agriculture", programme="yulu-short",
         regions=["5201"], lessons=[{"title": "猪舍", "body": "通风与消毒"}]),
    dict(id=3, title="家政服务员培训", summary="保洁、收纳与照护老人", skill="家政",
         skill_code="housekeeping", skill_category="service", programme="tongxin",
         regions=["520102003004"]),
    dict(id=4, title="农村电商直播带货", summary="用手机直播卖土特产", skill="电子商务",
         skill_code="ecommerce", skill_category="service", programme="yulu-short", regions=[],
         lessons=[{"title": "手机拍摄", "body": "用手机拍摄农产品短视频", "captions": "大家好今天教大家打光"}]),
    dict(id=5, title="电工基础", summary="安全用电与线路敷设", skill="电工",
         skill_code="electrician", skill_category="construction", programme="yulu-vocational",
         regions=["53"]),
]

SYNONYMS = [("电商", "电子商务", "网店"), ("养猪", "生猪养殖"), ("家政", "家政服务")]


@pytest.fixture
def docs():
    return copy.deepcopy(DOCS)


@pytest.fixture
def root(tmp_path, docs):
    """An index folder holding ``DOCS``."""
    indexer.rebuild(tmp_path, docs)
    return tmp_path


@pytest.fixture
def ids():
    """Course ids found for a query, best first (with the test synonym groups by default)."""

    def find(root, q, **kw):
        kw.setdefault("synonyms", Synonyms(SYNONYMS))
        return [h["course"] for h in search_index(root, q, **kw).hits]

    return find
