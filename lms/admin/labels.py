"""What the admin pages call audit actions, audit details and jobs: the codes stay in the database,
people read names (DESIGN "no internal code is ever shown").

Admin sits above every area, so the enums' own labels are used for the values they record.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "course.create": _l("Course created"),
    "course.edit": _l("Course edited"),
    "course.publish": _l("Course published"),
    "course.unpublish": _l("Course withdrawn"),
    "lesson.add": _l("Lesson added"),
    "lesson.delete": _l("Lesson deleted"),
    "lesson.move": _l("Lesson moved"),
    "quiz.save": _l("Quiz saved"),
    "households.account_create": _l("Learner account created for a member"),
    "households.account_reset": _l("Member's PIN set again"),
    "households.import": _l("Households imported"),
    "households.import_discarded": _l("Household upload discarded"),
    "households.import_expired": _l("Household upload expired"),
    "households.import_lost": _l("Household import interrupted"),
    "households.move": _l("Household moved to another village"),
    "households.remove_member": _l("Member removed from the registry"),
    "households.show_id": _l("Full ID number shown"),
    "keys.data_rotated": _l("Data key changed"),
    "media.delete": _l("Media deleted"),
    "media.ingest": _l("Media loaded from disk"),
    "media.retry": _l("Conversion tried again"),
    "media.storage_alert": _l("Media storage full"),
    "media.storage_alert_resolved": _l("Media storage alert handled"),
    "media.upload": _l("Media uploaded"),
    "media.upload_abandoned": _l("Unfinished upload removed"),
    "search.synonyms": _l("Search synonyms changed"),
    "setting.change": _l("Setting changed"),
    "skills.assess": _l("Hands-on assessment"),
    "skills.attendance": _l("Attendance taken"),
    "skills.award": _l("Skill awarded"),
    "skills.class_create": _l("Offline class created"),
    "skills.import_certificates": _l("Certificates imported"),
    "followup.assign": _l("Training assigned"),
    "followup.cancel": _l("Training assignment withdrawn"),
    "followup.defer": _l("Marked as not suitable for training now (暂缓)"),
    "followup.end_deferral": _l("暂缓 ended"),
    "skills.revoke": _l("Skill withdrawn"),
    "skills.roster_add": _l("Trainees added to a class"),
    "skills.session_add": _l("Class session added"),
    "terminal.register": _l("Village terminal registered"),
    "terminal.retire": _l("Village terminal retired"),
    "user.create": _l("Account created"),
    "user.disable": _l("Account disabled"),
    "user.enable": _l("Account enabled"),
    "user.password_change": _l("Own password or PIN changed"),
    "user.password_reset": _l("Password or PIN reset"),
    "user.sessions_end": _l("Signed out everywhere"),
}

FIELD_LABELS = {
    "after": _l("After"), "awards_created": _l("Awards created"), "before": _l("Before"),
    "course": _l("Course"), "error": _l("Error"), "evidence": _l("Evidence"), "file": _l("File"),
    "free": _l("Free space"), "from": _l("From"), "held_on": _l("Date"), "household": _l("Household"),
    "households_created": _l("Households created"), "households_updated": _l("Households updated"),
    "kind": _l("Kind"), "last_piece": _l("Last piece received"), "lesson": _l("Lesson"), "logins": _l("Sign-ins"),
    "member": _l("Member"), "members": _l("Members"), "members_created": _l("Members created"),
    "members_updated": _l("Members updated"), "name": _l("Name"), "needed": _l("Space needed"),
    "new": _l("New value"), "old": _l("Old value"), "owner_id": _l("Owner"), "pass_mark": _l("Pass mark"),
    "passed": _l("Passed"), "present": _l("Present"), "questions": _l("Questions"), "reason": _l("Reason"),
    "received": _l("Bytes received"), "region": _l("Region"), "regions": _l("Regions"),
    "rejected": _l("Rows rejected"), "role": _l("Role"), "rows": _l("Rows"), "session": _l("Session"),
    "size": _l("Size"), "skill": _l("Skill"), "source": _l("Source"), "title": _l("Title"), "to": _l("To"),
    "trainee": _l("Trainee"), "trainees": _l("Trainees"), "unchanged": _l("Unchanged"), "user": _l("User"),
    "via": _l("Via"), "dry_run": _l("Trial run"), "strict": _l("All or nothing"), "format": _l("Format"),
    "encoding": _l("Encoding"), "header_row": _l("Header row"), "exit_code": _l("Result"),
    "class": _l("Offline class"), "due": _l("Due date"), "review": _l("Review date"),
    "text": _l("Reason in words"),
    "error_count": _l("Errors"), "warning_count": _l("Warnings"), "unknown_columns": _l("Unknown columns"),
}

TARGET_LABELS = {
    "Asset": _l("Media"), "Assignment": _l("Training assignment"), "Course": _l("Course"), "Household": _l("Household"),
    "HouseholdImport": _l("Household import"), "Lesson": _l("Lesson"), "Member": _l("Member"),
    "OfflineClass": _l("Offline class"), "SkillAward": _l("Skill award"), "StorageAlert": _l("Storage alert"),
    "Terminal": _l("Village terminal"), "Trainee": _l("Trainee"), "User": _l("Account"),
    # Targets some services name by hand.
    "course": _l("Course"), "storage_alert": _l("Storage alert"), "terminal": _l("Village terminal"),
}
NAMED_TARGETS = {"search_synonyms": _l("Search synonyms")}

TASK_LABELS = {
    "lms.deploy.tasks.record_worker_heartbeat": _l("Worker check-in"),
    "lms.followup.tasks.advance_followup_day": _l("Moving the follow-up figures to a new day"),
    "lms.households.tasks.run_import": _l("Household import"),
    "lms.households.tasks.sweep_imports": _l("Clearing unconfirmed household uploads"),
    "lms.stats.tasks.refresh_dirty_villages": _l("Recounting skill figures"),
    "lms.stats.tasks.refresh_dirty_villages_periodically": _l("Recounting skill figures"),
    "media.tasks.recover_stale_jobs": _l("Restarting interrupted conversions"),
    "media.tasks.remove_abandoned_uploads": _l("Removing unfinished uploads"),
    "media.tasks.transcode_job": _l("Video conversion"),
    "search.tasks.index_course": _l("Adding a course to search"),
    "search.tasks.rebuild_index": _l("Rebuilding search"),
    "search.tasks.remove_course": _l("Removing a course from search"),
    "search.tasks.verify_index": _l("Checking search"),
}


def _area_labels() -> None:
    """Areas that keep their own names for their audit actions and job (admin sits above them all)."""
    from lms.subsidies.labels import ACTIONS, FIELDS

    ACTION_LABELS.update(ACTIONS)
    for key, label in FIELDS.items():
        FIELD_LABELS.setdefault(key, label)
    TARGET_LABELS["SubsidyBatch"] = _l("Subsidy batch")
    TASK_LABELS["lms.subsidies.tasks.end_subsidy_notices"] = _l("Ending subsidy public notices")


_area_labels()


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action) or _("Other change"))


def task_label(task: str) -> str:
    return str(TASK_LABELS.get(task) or _("Background job"))


def target_label(target: str | None) -> str:
    """``Course:12`` → 课程 #12; a file name or key fingerprint stays as it is."""
    if not target:
        return ""
    kind, sep, ident = target.partition(":")
    if sep and kind in TARGET_LABELS:
        return f"{TARGET_LABELS[kind]} #{ident}"
    return str(NAMED_TARGETS.get(target, target))


def _codes() -> dict[str, str]:
    """Every code an audit detail may carry, with its name."""
    from courses.models import LessonKind
    from lms.accounts.models import Role
    from lms.followup.models import DEFERRAL_LABELS
    from lms.skills.models import EVIDENCE_LABELS, SOURCE_LABELS

    names = {r.value: str(r.label) for r in Role}
    names.update({k.value: str(k.label) for k in LessonKind})
    names.update({e.value: label for e, label in EVIDENCE_LABELS.items()})
    names.update({s.value: label for s, label in SOURCE_LABELS.items()})
    names.update({r.value: label for r, label in DEFERRAL_LABELS.items()})
    from lms.subsidies.labels import code_names

    for code, label in code_names().items():
        names.setdefault(code, label)
    names["cli"] = _("command line")
    return names


def _value(key: str, value, codes: dict[str, str], regions: dict[str, str]) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "、".join(_value(key, v, codes, regions) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(k, v, codes, regions)}" for k, v in value.items())
    text = str(value)
    if text in regions:
        return regions[text]
    return codes.get(text, text)


def detail_lines(details: dict | None) -> list[tuple[str, str]]:
    """Audit details as (field, value) lines a person reads: names, not codes or JSON."""
    if not details:
        return []
    from lms.regions.queries import region_names

    codes = _codes()
    candidates = [v for v in details.values() if isinstance(v, str) and len(v) == 12 and v.isdigit()]
    candidates += [c for v in details.values() if isinstance(v, list) for c in v
                   if isinstance(c, str) and len(c) == 12 and c.isdigit()]
    regions = region_names(candidates)
    return [(str(FIELD_LABELS.get(key, key)), _value(key, value, codes, regions)) for key, value in details.items()]
