import io
import json
import zipfile

import pytest

from courses.package import PackageError, read_package, validate_manifest

GOOD = {
    "format": "xiangxue-course/1", "title": "牛肉拉面", "summary": "", "programme": "雨露计划·短期技能培训",
    "skill": "烹饪", "published": True,
    "lessons": [
        {"title": "和面", "kind": "video", "media": "media/1.mp4", "required": True},
        {"title": "要点", "kind": "text", "body": "水要分三次加", "required": False},
    ],
    "quiz": {"pass_mark": 0.6, "questions": [{"text": "加几次水?", "choices": ["一", "三"], "answer": [1]}]},
}


def test_good_manifest():
    m = validate_manifest(GOOD, {"manifest.json", "media/1.mp4"})
    assert m.title == "牛肉拉面" and m.regions is None and len(m.lessons) == 2
    assert m.questions[0].answer == [1] and m.pass_mark == 0.6


@pytest.mark.parametrize("change,fragment", [
    ({"format": "other/2"}, "格式"),
    ({"title": ""}, "title"),
    ({"lessons": []}, "没有课时"),
    ({"regions": ["abc"]}, "regions"),
    ({"published": "yes"}, "published"),
    ({"quiz": {"pass_mark": 1.5, "questions": [{"text": "q", "choices": ["a", "b"], "answer": [0]}]}},
     "及格线"),
    ({"quiz": {"pass_mark": 0.5, "questions": [{"text": "q", "choices": ["a", "b"], "answer": [2]}]}},
     "答案"),
])
def test_bad_manifest_fields(change, fragment):
    with pytest.raises(PackageError) as err:
        validate_manifest({**GOOD, **change}, {"media/1.mp4"})
    assert fragment in str(err.value)


def test_missing_media_file_and_traversal_are_reported_together():
    bad = {**GOOD, "lessons": [
        {"title": "a", "kind": "video", "media": "nope.mp4"},
        {"title": "b", "kind": "audio", "media": "../etc/passwd"},
        {"title": "c", "kind": "document"},
        {"title": "d", "kind": "slides"},
    ]}
    with pytest.raises(PackageError) as err:
        validate_manifest(bad, set())
    assert len(err.value.problems) == 4


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def test_read_package_rejects_non_zip_and_missing_manifest_and_bad_json():
    for data, fragment in ((io.BytesIO(b"not a zip"), "不是 zip"),
                           (_zip({"a.txt": "x"}), "没有 manifest.json"),
                           (_zip({"manifest.json": "{nope"}), "不是有效的 JSON")):
        with pytest.raises(PackageError) as err:
            read_package(data)
        assert fragment in str(err.value)


def test_read_package_good():
    manifest, zf = read_package(_zip({"manifest.json": json.dumps(GOOD), "media/1.mp4": b"x"}))
    with zf:
        assert manifest.lessons[0].media == "media/1.mp4"
