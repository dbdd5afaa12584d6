"""ID numbers from cells: parse_id raises only IdError (its documented codes); what it accepts is
a well-formed 18-character number whose check character is right."""
from hypothesis import given
from hypothesis import strategies as st

from lms.households.idnumbers import IdError, area_warning, check_character, parse_id

from .strategies import cell_text

digits = st.text(alphabet="0123456789", min_size=14, max_size=23)
shaped = st.builds(lambda d, tail: d + tail, digits, st.sampled_from(["", "X", "x", ".0", "E+17", " ", "B1", "11"]))
CODES = {"id_missing", "id_format", "id_excel_float", "id_checksum", "id_birth_date", "id_length"}


@given(raw=cell_text | shaped | st.from_regex(r"\A[1-6]\d{5}(19|20)\d{2}[01]\d[0-3]\d{4}[0-9Xx]\Z"))
def test_parse_id_accepts_or_says_why(raw):
    try:
        number = parse_id(raw)
    except IdError as exc:
        assert exc.args and exc.args[0] in CODES, exc.args
        return
    person = number[1]
    assert len(person) == 18 and person[:17].isdigit() and person[17] == check_character(person[:17])
    assert area_warning(person) is None or area_warning(person)[0] in ("id_area_unknown", "id_area_historical")
