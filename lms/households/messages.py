"""The messages of import errors and warnings, by code (English msgids; the
households catalog holds the Chinese)."""
from __future__ import annotations

from lms.spreadsheets.report import SHEET_MESSAGES, Messages, N_

MESSAGES = {
    # the file (the shared reader's codes, and its header as the household file has it)
    **SHEET_MESSAGES,
    "no_header": N_("No header row found: the first rows must include the column titles 户编号, 姓名, 证件号码."),
    "data_key_rotating": N_("The data key is being changed: an administrator must first run "
                            "“flask keys rotate-data”. Please import again after that."),
    # values
    "required": N_("This value is required."),
    "too_long": N_("Too long: at most %(limit)s characters."),
    "invalid_value": N_("“%(value)s” is not one of the values of this column."),
    "invalid_year": N_("“%(value)s” is not a year."),
    "too_many_causes": N_("At most two other causes of poverty."),
    "work_months_range": N_("“%(value)s” is not a number of months from 0 to 12."),
    "work_together": N_("务工所在地 and 务工时间（月） go together: fill both or neither (months above 0 when a place is given)."),
    "education_and_student": N_("文化程度 and 在校生状况 exclude each other: leave 文化程度 empty for a current student."),
    "sex_mismatch": N_("性别 “%(sex)s” does not match the ID number (its 17th digit)."),
    "birth_mismatch": N_("出生日期 does not match the birth date in the ID number."),
    "village_code_format": N_("“%(value)s” is not a 12-digit village code."),
    "unknown_region": N_("Unknown village “%(value)s”: add it to the regions first, or import with --create-regions and a 12-digit 村代码."),
    # Without the code: a village given by name must not be resolved for someone outside it.
    "out_of_scope": N_("This row's village is outside your region."),
    # ID numbers
    "id_missing": N_("The ID number is missing."),
    "id_format": N_("The ID number contains characters other than digits and X."),
    "id_length": N_("An ID number has 18 characters (or 15 for old numbers; 20 or 22 for a disability certificate), not %(length)s."),
    "id_checksum": N_("The ID number's check character is wrong: check the number for a typing error."),
    "id_birth_date": N_("The ID number holds no valid birth date (%(date)s)."),
    "id_excel_float": N_("Excel has turned this ID number into a number and lost its last digits. Format the 证件号码 column as text and export the file again."),
    "id_duplicate": N_("This ID number is also on row %(other)s of this file."),
    "id_registered": N_("This ID number is already registered in household %(household)s."),
    # Said of a household number or ID number registered outside the importer's region: it names
    # nothing there, not even which of the two it is beyond the column.
    "registered_elsewhere": N_("Already registered in another region: please contact the higher-level office."),
    "id_upgraded": N_("Old 15-digit ID number upgraded to 18 digits."),
    "id_area_unknown": N_("Unknown area code %(area)s in the ID number (accepted)."),
    "id_area_historical": N_("Area code %(area)s in the ID number is historical (%(name)s, until %(year)s); accepted."),
    # households
    "no_head": N_("Household %(household)s has no 户主."),
    "many_heads": N_("Household %(household)s has more than one 户主."),
    "many_spouses": N_("Household %(household)s has more than one 配偶."),
    "spouse_same_sex": N_("户主 and 配偶 have the same sex according to their ID numbers."),
    "household_rejected": N_("Not imported because another row of this household has an error."),
    "household_moved": N_("Household %(household)s is registered in village %(village)s: to move it, use “Move to another village” on its page, then import again."),
    "household_split": N_("The rows of household %(household)s are not together: sort the file by 户编号."),
}


# One code, another wording when the params differ: a duplicate found in an earlier chunk of a large
# file is known by its household, not its row.
VARIANTS = {("id_duplicate", "household"): N_("This ID number is also in household %(household)s, earlier in this file.")}


HOUSEHOLD_MESSAGES = Messages(MESSAGES, VARIANTS)
message = HOUSEHOLD_MESSAGES
issue_dict = HOUSEHOLD_MESSAGES.issue_dict
