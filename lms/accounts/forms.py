from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.accounts.models import Role
from lms.regions.picker import RegionStepsField


class StaffSigninForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class LearnerSigninForm(FlaskForm):
    identifier = StringField(_l("ID number or phone"), validators=[DataRequired(), Length(max=32)])
    pin = PasswordField(_l("6-digit PIN"), validators=[
        DataRequired(), Regexp(r"^\d{6}$", message=_l("A PIN is exactly 6 digits."))])


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username (for a learner: phone or ID number)"), validators=[DataRequired()])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[(r.value, r.label) for r in Role])
    region_code = RegionStepsField(_l("Region code (12 digits)"), validators=[Optional(), Regexp(
        r"^\d{12}$", message=_l("A region code has exactly 12 digits."))])
    password = PasswordField(_l("Password (for a learner: 6-digit PIN)"), validators=[DataRequired()])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password or PIN"), validators=[DataRequired()])


class SecretChangeForm(FlaskForm):
    """A signed-in person changes their own PIN (learners) or password (staff)."""
    current = PasswordField(_l("Current PIN or password"), validators=[DataRequired()])
    new = PasswordField(_l("New PIN or password"), validators=[DataRequired(), Length(max=128)])
    again = PasswordField(_l("The same again"), validators=[DataRequired()])
