"""An import's upload is kept under LMS_IMPORT_ROOT (shared storage: the worker may be another machine)."""
import os

from sqlalchemy import select

from lms.households.models import HouseholdImport

from .records import family


def test_uploaded_export_and_its_progress_live_under_the_import_root(
        app, client, regions, make_user, login, export, db, tmp_path, monkeypatch):
    shared = tmp_path / "shared-imports"
    monkeypatch.setitem(app.config, "IMPORT_ROOT", shared)
    login(client, make_user("official", region_code="621123100000"))
    with open(export(family("H1", 1)), "rb") as fh:
        preview = client.post_form("/households/import", {"file": (fh, "名单.csv")},
                                   content_type="multipart/form-data")
    assert preview.status_code == 200
    rec = db.session.scalar(select(HouseholdImport))
    assert os.path.commonpath([rec.stored_path, str(shared)]) == str(shared)
    assert os.path.exists(rec.stored_path)
    local = app.config["INSTANCE_PATH"] / "uploads"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))  # nothing host-local
    done = client.post_form(f"/households/import/{rec.id}/confirm", {})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "done"
