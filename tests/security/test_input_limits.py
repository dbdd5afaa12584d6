"""Limits on every input (issue 11, item 8): zip bombs refused while reading, oversize forms 413,
documents streamed to disk in pieces, household spreadsheets size-limited — and nothing changed."""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.settings import set_setting

MB = 1024 * 1024


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def catalogue(app):
    from courses.services import seed_catalogue

    seed_catalogue()
    db.session.commit()


def manifest(lessons, **extra) -> bytes:
    data = {"format": "xiangxue-course/1", "title": "测试课程", "summary": "", "programme": "yulu-short",
            "skill": "cooking.lamian", "published": False, "lessons": lessons, **extra}
    return json.dumps(data, ensure_ascii=False).encode()


def write_zip(path, entries: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> str:
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return str(path)


def declare_small(path, name: str, declared: int) -> None:
    """Rewrite the zip's local and central headers so ``name`` claims ``declared`` bytes unpacked."""
    with open(path, "rb") as fh:
        raw = bytearray(fh.read())
    encoded = name.encode()
    local = raw.find(b"PK\x03\x04")
    while local != -1:
        n = struct.unpack_from("<H", raw, local + 26)[0]
        if raw[local + 30:local + 30 + n] == encoded:
            struct.pack_into("<I", raw, local + 22, declared)
        local = raw.find(b"PK\x03\x04", local + 4)
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        n = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46:central + 46 + n] == encoded:
            struct.pack_into("<I", raw, central + 24, declared)
        central = raw.find(b"PK\x01\x02", central + 4)
    with open(path, "wb") as fh:
        fh.write(bytes(raw))


@pytest.fixture
def inflated(monkeypatch):
    """How many bytes zipfile has inflated (to show a bomb is refused after a few megabytes)."""
    seen = [0]
    original = zipfile.ZipExtFile.read

    def read(self, n=-1):
        data = original(self, n)
        seen[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return seen


def import_package(runner, path):
    return runner.invoke(args=["courses", "import", str(path), "--json"])


def nothing_imported():
    from courses.models import Course, Lesson
    from media.models import Asset

    return count(Course) == 0 and count(Lesson) == 0 and count(Asset) == 0


def test_a_zip_bomb_declared_small_is_refused_after_a_few_megabytes(runner, tmp_path, catalogue, inflated):
    zeros = b"\0" * (200 * MB)  # deflates to about 200 KB
    path = write_zip(tmp_path / "bomb.zip", {"manifest.json": manifest([{"title": "一", "kind": "document",
                                                                       "media": "doc.pdf"}]),
                                             "doc.pdf": b"%PDF-" + zeros})
    assert os.path.getsize(path) < 2 * MB
    declare_small(path, "doc.pdf", 1000)
    result = import_package(runner, path)
    assert result.exit_code != 0 and "doc.pdf" in result.output
    assert inflated[0] < 8 * MB  # not the 200 MB it holds
    assert nothing_imported()


def test_an_entry_larger_than_the_setting_is_refused_while_reading(runner, tmp_path, catalogue, inflated):
    set_setting("courses_package_max_entry_mb", 4)
    db.session.commit()
    path = write_zip(tmp_path / "big.zip", {"manifest.json": manifest([{"title": "一", "kind": "text", "body": "正文"}]),
                                            "extra.bin": b"\0" * (64 * MB)})
    result = import_package(runner, path)
    assert result.exit_code != 0 and "太大" in result.output
    assert inflated[0] < 8 * MB
    assert nothing_imported()


def test_the_total_is_counted_as_it_inflates(tmp_path, app, inflated, monkeypatch):
    """Entries whose headers claim little, each under the per-entry limit, together too large: the
    count of inflated bytes stops the read, not the headers."""
    from courses import package

    entries = {f"media/{n}.bin": os.urandom(16) + b"\0" * (3 * MB) for n in range(10)}
    path = write_zip(tmp_path / "many.zip", {"manifest.json": manifest([{"title": "一", "kind": "text", "body": "x"}]),
                                             **entries})
    monkeypatch.setattr(package, "limits", lambda: (4 * MB, 10 * MB))
    with pytest.raises(package.PackageError) as refused:
        package.read_package(path)
    assert "解压后太大" in str(refused.value.problems[0])
    assert inflated[0] <= 10 * MB + MB  # stopped within one read of the limit


@pytest.mark.parametrize("name", ["../evil.pdf", "/etc/evil.pdf", "media/../../evil.pdf", "C:/evil.pdf",
                                  "media/e\x01vil.pdf", "..\\evil.pdf"])
def test_package_entry_names_that_could_escape_are_refused(runner, tmp_path, catalogue, name):
    path = write_zip(tmp_path / "p.zip", {"manifest.json": manifest([{"title": "一", "kind": "text", "body": "x"}]),
                                          name: b"%PDF-1.4"})
    result = import_package(runner, path)
    assert result.exit_code != 0 and "课程包中有" in result.output
    assert nothing_imported()


def test_package_entry_names_are_normalised(runner, tmp_path, catalogue, app):
    """A Windows zip (backslashes) with a decomposed (NFD) name, referenced in NFC by the manifest."""
    from courses.models import Lesson

    nfd = "资料\\cafe\u0301.pdf"
    path = write_zip(tmp_path / "p.zip", {
        "manifest.json": manifest([{"title": "讲义", "kind": "document", "media": "资料/caf\u00e9.pdf"}]),
        nfd: b"%PDF-1.4 handout"})
    result = import_package(runner, path)
    assert result.exit_code == 0, result.output
    lesson = db.session.scalar(select(Lesson))
    with open(os.path.join(str(app.config["MEDIA_ROOT"]), lesson.document_path), "rb") as fh:
        assert fh.read() == b"%PDF-1.4 handout"


# ---------------------------------------------------------------- forms and documents

@pytest.fixture
def trainer_course(app, catalogue, make_user, login, client):
    from courses import services
    from courses.models import Programme, Skill

    trainer = make_user("trainer")
    programme = db.session.scalar(select(Programme).limit(1))
    skill = db.session.scalar(select(Skill).limit(1))
    course = services.save_course(trainer, None, title="课", summary="", programme_id=programme.id, skill_id=skill.id)
    db.session.commit()
    login(client, trainer)
    return client, course


def test_a_form_over_the_request_limit_is_413_and_nothing_saved(app, trainer_course):
    from courses.models import Lesson

    client, course = trainer_course
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * MB  # LMS_MAX_REQUEST_MB's default
    token = client.csrf_token()
    app.config["MAX_CONTENT_LENGTH"] = 1 * MB
    try:
        response = client.post(f"/teach/courses/{course.id}/lessons", data={
            "csrf_token": token, "title": "大", "kind": "document",
            "document": (io.BytesIO(b"%PDF-" + b"0" * (2 * MB)), "big.pdf")}, content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 64 * MB
    assert response.status_code == 413 and "文件太大" in response.get_data(as_text=True)
    assert count(Lesson) == 0


def test_documents_are_streamed_to_disk_in_pieces(app, trainer_course, monkeypatch):
    from courses import services
    from courses.models import Lesson

    client, course = trainer_course
    received = []
    original = services.store_document

    def spy(source):
        received.append(source)
        return original(source)

    monkeypatch.setattr(services, "store_document", spy)
    data = b"%PDF-1.4\n" + os.urandom(3 * MB)
    response = client.post_form(f"/teach/courses/{course.id}/lessons", {
        "title": "讲义", "kind": "document", "document": (io.BytesIO(data), "a.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert received and not isinstance(received[0], (bytes, bytearray))  # the upload's stream, not its bytes
    lesson = db.session.scalar(select(Lesson))
    with open(os.path.join(str(app.config["MEDIA_ROOT"]), lesson.document_path), "rb") as fh:
        assert fh.read() == data


class Endless(io.RawIOBase):
    """A stream that never ends, recording how much was asked of it at a time."""

    def __init__(self):
        self.reads, self.first = [], True

    def readable(self):
        return True

    def read(self, n=-1):
        assert n is not None and 0 < n <= 1024 * 1024, "asked to read everything at once"
        self.reads.append(n)
        if self.first:
            self.first = False
            return b"%PDF-" + b"0" * (n - 5)
        return b"0" * n


def test_an_endless_document_is_refused_at_the_limit_and_leaves_nothing(app):
    from courses import services

    folder = os.path.join(str(app.config["MEDIA_ROOT"]), "documents")
    before = {f for _d, _s, files in os.walk(folder) for f in files}

    set_setting("courses_max_document_mb", 1)
    db.session.commit()
    stream = Endless()
    with pytest.raises(services.CourseError) as refused:
        services.store_document(stream)
    assert "文档超过 1 MB" in str(refused.value)
    assert sum(stream.reads) <= MB + services.DOCUMENT_CHUNK and len(stream.reads) > 1
    folder = os.path.join(str(app.config["MEDIA_ROOT"]), "documents")
    assert {f for _d, _s, files in os.walk(folder) for f in files} == before


def test_household_spreadsheets_have_a_size_limit(app, client, regions, make_user, login):
    from lms.households.models import HouseholdImport

    set_setting("households_max_upload_mb", 1)
    db.session.commit()
    login(client, make_user("official", "621123100000"))
    big = "户编号,姓名\n".encode() + b"H1,x\n" * (300 * 1024)  # 1.5 MB
    response = client.post_form("/households/import", {"file": (io.BytesIO(big), "名单.csv")},
                                content_type="multipart/form-data")
    assert response.status_code == 413 and "文件超过 1 MB" in response.get_data(as_text=True)
    assert count(HouseholdImport) == 0
    uploads = os.path.join(str(app.config["INSTANCE_PATH"]), "uploads", "households")
    assert not os.path.isdir(uploads) or not os.listdir(uploads)
