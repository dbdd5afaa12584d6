import random

import pytest
from stdnum.cn import ric

from lms.households.categories import DocType, Sex
from lms.crypto import IdCipher
from lms.households.idnumbers import IdError, area_warning, digest_input, lookup_digests, parse_id, upgrade15

from .records import make_id


def error_code(raw):
    with pytest.raises(IdError) as info:
        parse_id(raw)
    return info.value.code


def test_check_character_agrees_with_python_stdnum():
    rng = random.Random(7)
    for _ in range(300):
        number = make_id(f"{rng.randint(1930, 2020)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}",
                         rng.randint(1, 999), "110101")
        assert ric.is_valid(number), number
        assert parse_id(number).number == number


def test_a_clean_number_gives_birth_date_and_sex():
    ident = parse_id(make_id("19800101", 3))
    assert (ident.birth_ymd, ident.sex, ident.doc_type) == (19800101, Sex.MALE, DocType.RESIDENT_ID)
    assert parse_id(make_id("19800101", 4)).sex is Sex.FEMALE


@pytest.mark.parametrize("mangle", [
    lambda n: n.lower(),
    lambda n: "'" + n,
    lambda n: n[:6] + " " + n[6:14] + " " + n[14:],
    lambda n: n.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")),
    lambda n: "  " + n + "\u3000",
])
def test_spreadsheet_spellings_are_normalised(mangle):
    # A number ending in X: the lowercase x case matters.
    number = next(make_id("19800101", s) for s in range(1, 999) if make_id("19800101", s)[-1] == "X")
    assert parse_id(mangle(number)).number == number


def test_wrong_check_character():
    number = make_id()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert error_code(wrong) == "id_checksum"


def test_impossible_birth_date():
    body = "62112319800230001"  # 30 February
    assert error_code(body + ric.calc_check_digit(body + "0")) == "id_birth_date"


def test_legacy_15_digit_number_is_upgraded():
    old = "110101800101001"
    ident = parse_id(old)
    assert ident.upgraded and ident.number == upgrade15(old) == "11010119800101001" + ident.number[17]
    assert ric.is_valid(ident.number)
    assert ident.birth_ymd == 19800101


@pytest.mark.parametrize("raw", ["6.21123E+17", "6.21123e17", "621123198001011000"])
def test_excel_mangled_numbers_ask_for_a_text_export(raw):
    assert error_code(raw) == "id_excel_float"


@pytest.mark.parametrize("raw,code", [("", "id_missing"), ("12345", "id_length"),
                                      ("62112319800101ABCD", "id_format"), ("身份证", "id_format")])
def test_malformed_numbers(raw, code):
    assert error_code(raw) == code


@pytest.mark.parametrize("suffix", ["41", "41B1"])
def test_disability_certificate_numbers_are_their_own_document_type(suffix):
    person = make_id("19700505", 5)
    ident = parse_id(person + suffix)
    assert ident.doc_type is DocType.DISABILITY_CERT
    assert ident.person_id == person and ident.number == person + suffix
    assert ident.birth_ymd == 19700505


def test_disability_certificate_with_a_bad_id_inside_is_rejected():
    person = make_id()
    bad = person[:17] + ("0" if person[17] != "0" else "1")
    assert error_code(bad + "41") == "id_checksum"


def test_area_codes_current_historical_unknown():
    assert area_warning(make_id(area="621123")) is None
    code, params = area_warning(make_id(area="622426"))  # 渭源县 before 2003
    assert code == "id_area_historical" and params["year"] == 2003
    assert area_warning(make_id(area="999999"))[0] == "id_area_unknown"
    assert area_warning(make_id(area="999999"), {"999999"}) is None


def test_cipher_round_trip_and_keyed_hash():
    number = make_id()
    one, two = IdCipher("key one"), IdCipher("key two")
    sealed = one.encrypt(number)
    assert number.encode() not in sealed and one.decrypt(sealed) == number
    assert one.encrypt(number) != sealed  # random nonce
    assert one.digest(number) == one.digest(number) != two.digest(number)
    assert digest_input(one, " " + number.lower()) == one.digest(number)
    assert digest_input(one, "not an id") is None and lookup_digests(one, "not an id") == []
    rotating = IdCipher("key two", fallbacks=("key one",))
    assert lookup_digests(rotating, number) == [two.digest(number), one.digest(number)]
    with pytest.raises(Exception):
        two.decrypt(sealed)


def test_sealing_and_hashing_a_chunk_at_once_agree_with_one_at_a_time():
    numbers = [make_id(seq=k) for k in range(1, 6)] + [None]
    cipher = IdCipher("key one")
    assert cipher.digest_many(numbers) == [cipher.digest(n) for n in numbers[:-1]] + [None]
    sealed = cipher.encrypt_many(numbers)
    assert [cipher.decrypt(s) for s in sealed[:-1]] == numbers[:-1] and sealed[-1] is None
    assert len({s[:12] for s in sealed[:-1]}) == 5  # a nonce each
