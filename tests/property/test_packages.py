"""Package manifests and entry names: validate_manifest raises only PackageError; entry_name
returns a safe normalised name (NFC, '/', no '..', not absolute, no control characters) or
raises PackageError."""
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from courses.package import KINDS, PackageError, entry_name, validate_manifest

from .strategies import json_values

names = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.from_regex(
    r"\A(\.\.|\.|/|\\|[a-z]|资料|e\u0301){0,8}\Z")
lesson = st.fixed_dictionaries({}, optional={
    "title": json_values, "kind": st.sampled_from(KINDS) | json_values, "body": json_values,
    "media": names | json_values, "required": json_values})
manifests = st.fixed_dictionaries({}, optional={
    "format": st.just("xiangxue-course/1") | json_values, "title": json_values, "summary": json_values,
    "programme": json_values, "skill": json_values, "published": json_values,
    "regions": json_values | st.lists(st.text(alphabet="0123456789", max_size=12), max_size=3),
    "lessons": st.lists(lesson, max_size=4) | json_values,
    "quiz": json_values | st.fixed_dictionaries({}, optional={
        "pass_mark": json_values, "questions": st.lists(json_values, max_size=3)})})


@given(raw=names)
def test_entry_names_are_safe_or_refused(raw):
    try:
        name = entry_name(raw)
    except PackageError as exc:
        assert exc.problems
        return
    assert name and not name.startswith("/") and ".." not in name.split("/") and "\\" not in name
    assert name == unicodedata.normalize("NFC", name)
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in name)
    assert entry_name(name) == name  # normalising twice changes nothing


@given(data=manifests | json_values, files=st.sets(names, max_size=4))
def test_manifests_are_accepted_or_refused_with_reasons(app, data, files):
    try:
        manifest = validate_manifest(data, files)
    except PackageError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
        return
    assert manifest.lessons and manifest.title
    assert all(ls.media is None or ls.media in files for ls in manifest.lessons)
