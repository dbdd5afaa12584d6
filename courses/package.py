"""Course packages (课程包) for offline distribution: a zip with ``manifest.json`` and media.

Validation is pure and complete before anything is written, so a bad package is rejected
whole with every problem listed.
"""
from __future__ import annotations

import json
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from lms.inputs import loads

FORMAT = "xiangxue-course/1"
KINDS = ("video", "audio", "document", "text")
MAX_MANIFEST_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 2000


class PackageError(ValueError):
    """The package is rejected; ``problems`` lists every reason, already translatable."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass
class LessonSpec:
    title: str
    kind: str
    body: str = ""
    media: str | None = None
    required: bool = True


@dataclass
class QuestionSpec:
    text: str
    choices: list[str]
    answer: list[int]


@dataclass
class Manifest:
    title: str
    summary: str
    programme: str
    skill: str
    published: bool
    regions: list[str] | None
    lessons: list[LessonSpec]
    pass_mark: float | None = None
    questions: list[QuestionSpec] = field(default_factory=list)

    def as_json(self) -> dict:
        data = {
            "format": FORMAT, "title": self.title, "summary": self.summary,
            "programme": self.programme, "skill": self.skill, "published": self.published,
            "lessons": [
                {k: v for k, v in {"title": ls.title, "kind": ls.kind, "body": ls.body or None,
                                   "media": ls.media, "required": ls.required}.items()
                 if v is not None}
                for ls in self.lessons],
        }
        if self.regions is not None:
            data["regions"] = self.regions
        if self.questions:
            data["quiz"] = {"pass_mark": self.pass_mark, "questions": [
                {"text": q.text, "choices": q.choices, "answer": q.answer} for q in self.questions]}
        return data


def _is_text(value, max_len=None) -> bool:
    return isinstance(value, str) and value.strip() != "" and (max_len is None or len(value) <= max_len)


def validate_manifest(data, names: set[str]) -> Manifest:
    """Check a parsed manifest against the files present in the zip (``names``)."""
    problems = []
    if not isinstance(data, dict):
        raise PackageError([_l("manifest.json must be a JSON object.")])
    if data.get("format") != FORMAT:
        problems.append(_l("Unknown package format %(value)s (expected %(format)s).",
                           value=json.dumps(data.get("format"), ensure_ascii=False), format=FORMAT))
    for key in ("title", "programme", "skill"):
        if not _is_text(data.get(key), 200):
            problems.append(_l("The manifest field \"%(key)s\" is missing or not a text.", key=key))
    summary = data.get("summary", "")
    if summary is None:
        summary = ""
    if not isinstance(summary, str):
        problems.append(_l("The manifest field \"%(key)s\" is missing or not a text.", key="summary"))
    published = data.get("published", False)
    if not isinstance(published, bool):
        problems.append(_l("\"published\" must be true or false."))
    regions = data.get("regions")
    if regions is not None and not (isinstance(regions, list) and all(
            isinstance(r, str) and r.isdigit() and len(r) in (2, 4, 6, 9, 12) for r in regions)):
        problems.append(_l("\"regions\" must be a list of region codes."))

    lessons: list[LessonSpec] = []
    raw_lessons = data.get("lessons")
    if not isinstance(raw_lessons, list) or not raw_lessons:
        problems.append(_l("The package has no lessons."))
        raw_lessons = []
    for n, raw in enumerate(raw_lessons, start=1):
        if not isinstance(raw, dict):
            problems.append(_l("Lesson %(n)d is not an object.", n=n))
            continue
        title, kind = raw.get("title"), raw.get("kind")
        if not _is_text(title, 200):
            problems.append(_l("Lesson %(n)d has no title.", n=n))
        if kind not in KINDS:
            problems.append(_l("Lesson %(n)d has an unknown kind %(kind)s.", n=n,
                               kind=json.dumps(kind, ensure_ascii=False)))
        body = raw.get("body") or ""
        if not isinstance(body, str):
            problems.append(_l("Lesson %(n)d: the body must be text.", n=n))
            body = ""
        media = raw.get("media")
        media_problem = False
        if media is not None:
            media_problem = True
            try:
                norm = entry_name(media) if isinstance(media, str) else None
            except PackageError:
                norm = None
            if norm is None or norm == "manifest.json":
                problems.append(_l("Lesson %(n)d: the media path is not allowed.", n=n))
                media = None
            elif norm not in names:
                problems.append(_l("Lesson %(n)d: the file %(path)s is not in the package.",
                                   n=n, path=media))
            else:
                media, media_problem = norm, False
        if kind in ("video", "audio", "document") and media is None and not media_problem:
            problems.append(_l("Lesson %(n)d (%(kind)s) needs a media file.", n=n, kind=kind))
        if kind == "text" and not body.strip():
            problems.append(_l("Lesson %(n)d is a text lesson without a body.", n=n))
        required = raw.get("required", True)
        if not isinstance(required, bool):
            problems.append(_l("Lesson %(n)d: \"required\" must be true or false.", n=n))
            required = True
        lessons.append(LessonSpec(title=title if isinstance(title, str) else "", kind=kind,
                                  body=body, media=media, required=required))

    pass_mark, questions = None, []
    quiz = data.get("quiz")
    if quiz is not None:
        if not isinstance(quiz, dict):
            problems.append(_l("\"quiz\" must be an object."))
        else:
            pass_mark = quiz.get("pass_mark")
            if (not isinstance(pass_mark, (int, float)) or isinstance(pass_mark, bool)
                    or not 0 < pass_mark <= 1):
                problems.append(_l("The quiz pass mark must be a number above 0 and at most 1."))
            raw_qs = quiz.get("questions")
            if not isinstance(raw_qs, list) or not raw_qs:
                problems.append(_l("The quiz has no questions."))
                raw_qs = []
            for n, q in enumerate(raw_qs, start=1):
                if not isinstance(q, dict) or not _is_text(q.get("text")):
                    problems.append(_l("Question %(n)d has no text.", n=n))
                    continue
                choices, answer = q.get("choices"), q.get("answer")
                if (not isinstance(choices, list) or len(choices) < 2
                        or not all(_is_text(c, 500) for c in choices)):
                    problems.append(_l("Question %(n)d needs at least two choices.", n=n))
                    continue
                if (not isinstance(answer, list) or not answer
                        or not all(isinstance(a, int) and not isinstance(a, bool)
                                   and 0 <= a < len(choices) for a in answer)
                        or len(set(answer)) != len(answer)):
                    problems.append(_l("Question %(n)d: the answer must list valid choice numbers.", n=n))
                    continue
                questions.append(QuestionSpec(text=q["text"], choices=choices, answer=sorted(answer)))
    if problems:
        raise PackageError(problems)
    return Manifest(title=data["title"].strip(), summary=summary.strip(),
                    programme=data["programme"].strip(), skill=data["skill"].strip(),
                    published=published, regions=regions, lessons=lessons,
                    pass_mark=float(pass_mark) if pass_mark is not None else None,
                    questions=questions)


def entry_name(raw: str) -> str:
    """A zip entry's name, normalised (NFC, ``/`` separators, no ``./``), or PackageError when it
    could reach outside the package or cannot be shown: absolute, ``..``, control characters."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise PackageError([_l("The package holds a file whose name has control characters.")])
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts or not parts:
        raise PackageError([_l("The package holds a file with a path that is not allowed: %(path)s",
                               path=name[:200])])
    return "/".join(parts)


def _index_entries(zf: zipfile.ZipFile) -> set[str]:
    """Rename the zip's entries to their normalised names (zipfile opens an entry by the name in
    its index and still checks the original against the local header); returns the file names."""
    index = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = entry_name(info.filename)
        if name in index:
            raise PackageError([_l("The package holds the file %(path)s twice.", path=name[:200])])
        info.filename = name
        index[name] = info
    zf.NameToInfo = index
    return set(index)


def limits() -> tuple[int, int]:
    """(per entry, in total) uncompressed bytes a package may hold (settings)."""
    from lms.settings import get_setting

    mb = 1024 * 1024
    return int(get_setting("courses_package_max_entry_mb")) * mb, int(get_setting("courses_package_max_total_mb")) * mb


def check_sizes(zf: zipfile.ZipFile, max_entry: int, max_total: int, chunk: int = 1024 * 1024) -> None:
    """Inflate every entry once, counting the bytes as they come (the header's sizes are not
    trusted), and refuse the package as soon as an entry or the total passes its limit: a zip
    that inflates to gigabytes is refused after a few megabytes, and nothing is written."""
    total = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        if info.file_size > max_entry:
            raise PackageError([_l("The file %(path)s in the package is too large.", path=info.filename[:200])])
        size = 0
        try:
            with zf.open(info) as fh:
                while block := fh.read(chunk):
                    size += len(block)
                    total += len(block)
                    if size > max_entry:
                        raise PackageError([_l("The file %(path)s in the package is too large.",
                                               path=info.filename[:200])])
                    if total > max_total:
                        raise PackageError([_l("The package is too large once unpacked.")])
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
            # A bad CRC, a cut-off entry, an unknown compression or an encrypted entry.
            raise PackageError([_l("The file %(path)s in the package is damaged.", path=info.filename[:200])]) from None


def read_package(path) -> tuple[Manifest, zipfile.ZipFile]:
    """Open a package and validate its manifest; the caller closes the zip."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise PackageError([_l("The file is not a zip archive.")]) from None
    try:
        names = _index_entries(zf)
        if len(names) > MAX_ENTRIES:
            raise PackageError([_l("The package holds too many files.")])
        check_sizes(zf, *limits())
        if "manifest.json" not in names:
            raise PackageError([_l("The package has no manifest.json.")])
        info = zf.getinfo("manifest.json")
        if info.file_size > MAX_MANIFEST_BYTES:
            raise PackageError([_l("manifest.json is too large.")])
        try:
            data = loads(zf.read("manifest.json").decode("utf-8-sig"))
        except ValueError as exc:  # not UTF-8, not JSON, lone surrogates, nested too deeply
            raise PackageError([_l("manifest.json is not valid JSON: %(error)s", error=str(exc)[:200])]) from None
        return validate_manifest(data, names), zf
    except Exception:
        zf.close()
        raise
