from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from lms.regions.picker import RegionStepsField

PIN = [DataRequired(), Regexp(r"^\d{6}$", message=_l("A PIN is exactly 6 digits."))]


class UploadForm(FlaskForm):
    file = FileField(_l("Member export (CSV or XLSX)"), validators=[
        FileRequired(_l("Choose a file.")),
        FileAllowed(["csv", "xlsx", "txt"], _l("Upload a CSV or XLSX file."))])


class ConfirmForm(FlaskForm):
    strict = BooleanField(_l("All or nothing: import nothing if any row is rejected"))
    create_regions = BooleanField(_l("Create unknown townships and villages given with a 12-digit 村代码"))
    dry_run = BooleanField(_l("Dry run: only report what the import would do"))


class DiscardForm(FlaskForm):
    """Discarding a previewed upload: nothing to fill in but the CSRF token."""


class RemoveForm(FlaskForm):
    reason = StringField(_l("Reason for removal from the registry"),
                         validators=[DataRequired(), Length(max=200)])


class MoveForm(FlaskForm):
    village = RegionStepsField(_l("12-digit code of the new village"), validators=[
        DataRequired(_l("Choose a village of your region.")), Length(max=12)])


class AccountForm(FlaskForm):
    pin = PasswordField(_l("6-digit PIN for the learner"), validators=PIN)


class LinkForm(FlaskForm):
    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])


class PinForm(FlaskForm):
    pin = PasswordField(_l("Choose a 6-digit PIN"), validators=PIN)
    pin_again = PasswordField(_l("The same PIN again"), validators=[
        DataRequired(), EqualTo("pin", message=_l("The two PINs differ."))])


class RegisterForm(PinForm):
    identifier = StringField(_l("Phone or ID number"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])
    village = HiddenField(_l("Village"), validators=[DataRequired(_l("Choose your village."))])
