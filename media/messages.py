"""What a trainer reads when an upload is refused or a transcode fails (the detail stays for admins)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MESSAGES = {
    "empty": _l("The file is empty. Please choose the recording again and upload it once more."),
    "not_media": _l("This file is not a video or audio recording. Please choose a video (such as MP4) "
                    "or a sound recording."),
    "no_streams": _l("The file contains neither pictures nor sound."),
    "truncated": _l("The file is incomplete: the upload or copy was cut off. Please upload the whole "
                    "file again."),
    "undecodable": _l("The file is damaged and cannot be played. Please copy it again from the phone "
                      "or camera and upload it."),
    "transcode_failed": _l("Converting the recording failed. Press Retry; if it fails again, please "
                           "tell the administrator."),
    "timeout": _l("Converting the recording took too long and was stopped. Press Retry later."),
    "stalled": _l("Converting the recording stopped making progress. Press Retry later."),
    "no_space": _l("The server is out of storage space. Please tell the administrator."),
}


def error_message(code: str) -> str:
    if code == "too_long":
        from lms.settings import get_setting

        return _("The recording is longer than %(minutes)s minutes. Please split it into shorter "
                 "lessons.", minutes=get_setting("media_max_minutes"))
    message = MESSAGES.get(code) or MESSAGES["transcode_failed"]
    return str(message)
