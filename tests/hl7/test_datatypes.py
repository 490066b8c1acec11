"""Typed HL7 values on UK-shaped samples: three-state leaves, escapes, delimiters, dates, NM."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eprlink.errors import ErrorCode
from eprlink.hl7 import datatypes, timestamps
from eprlink.hl7.datatypes import (
    CE,
    CWE,
    CX,
    HD,
    NM,
    PL,
    XAD,
    XCN,
    XPN,
    HL7Date,
    HL7DateTime,
    Precision,
)
from eprlink.hl7.delimiters import Delimiters
from eprlink.hl7.errors import ParseError

CUSTOM = Delimiters(field="#", component="$", repetition="*", escape="/", subcomponent="%")
NO_SUB = Delimiters(subcomponent=None)


def test_public_api_is_pinned() -> None:
    expected = {"CE", "CWE", "CX", "HD", "NM", "PL", "XAD", "XCN", "XPN", "HL7Date"}
    expected |= {"HL7DateTime", "Precision"}
    assert set(datatypes.__all__) == expected
    assert len(datatypes.__all__) == len(expected)
    assert set(timestamps.__all__) == {"HL7Date", "HL7DateTime", "Precision"}


# --- CX ---------------------------------------------------------------------------------------


def test_cx_nhs_number() -> None:
    cx = CX.parse("9990000018^^^NHS^NH")
    assert cx.id == "9990000018"
    assert cx.check_digit is None and cx.check_digit_scheme is None
    assert cx.assigning_authority == "NHS"
    assert cx.assigning_authority_hd == HD("NHS", "NHS")
    assert cx.identifier_type_code == "NH"
    assert cx.assigning_facility is None
    assert cx.is_nhs_number
    assert not cx.is_null
    assert cx.raw == "9990000018^^^NHS^NH"


def test_cx_itk_nhs_number_without_type_code() -> None:
    assert CX.parse("3333333333^^^NHS").is_nhs_number


@pytest.mark.parametrize(
    "raw",
    ["RX1234567^^^RXX^PI", "1234567890^^^CHI^NH", "9990000018^^^NHS^MR", "9990000018", ""],
)
def test_cx_not_nhs_number(raw: str) -> None:
    assert not CX.parse(raw).is_nhs_number


def test_cx_hospital_number() -> None:
    cx = CX.parse("RX1234567^^^RXX^PI")
    assert (cx.id, cx.assigning_authority, cx.identifier_type_code) == ("RX1234567", "RXX", "PI")


def test_cx_full_hd_and_dates() -> None:
    cx = CX.parse("A1^7^M11^RXX&2.16.840.1.113883.2.1.4&ISO^MR^RXX01&&L^20200101^20301231")
    assert cx.check_digit == "7" and cx.check_digit_scheme == "M11"
    assert cx.assigning_authority == "RXX"
    assert cx.assigning_authority_hd == HD(
        "RXX&2.16.840.1.113883.2.1.4&ISO", "RXX", "2.16.840.1.113883.2.1.4", "ISO"
    )
    assert cx.assigning_facility == HD("RXX01&&L", "RXX01", None, "L")
    assert (cx.effective_date, cx.expiration_date) == ("20200101", "20301231")


def test_cx_ignores_components_from_later_versions() -> None:
    cx = CX.parse("1^^^A^MR^^^^JUR^AGENCY")
    assert cx.id == "1" and cx.identifier_type_code == "MR"


def test_cx_null_and_absent() -> None:
    null = CX.parse('""')
    assert null.is_null and null.id == "" and null.assigning_authority is None
    absent = CX.parse("")
    assert not absent.is_null and absent.id is None and absent.assigning_authority_hd is None
    deleted_authority = CX.parse('123^^^""^MR')
    assert deleted_authority.assigning_authority == ""
    assert deleted_authority.assigning_authority_hd is not None
    assert deleted_authority.assigning_authority_hd.is_null


def test_cx_escapes_are_decoded_in_leaves() -> None:
    cx = CX.parse(r"AB\S\12\T\3^^^R\E\X")
    assert cx.id == "AB^12&3"
    assert cx.assigning_authority == "R\\X"
    assert cx.raw == r"AB\S\12\T\3^^^R\E\X"


def test_cx_custom_delimiters() -> None:
    cx = CX.parse("9990000018$$$NHS%2.16%ISO$NH", CUSTOM)
    assert cx.id == "9990000018"
    assert cx.assigning_authority_hd == HD("NHS%2.16%ISO", "NHS", "2.16", "ISO")
    assert cx.is_nhs_number
    assert CX.parse("A/S/B$$$X", CUSTOM).id == "A$B"


def test_cx_without_subcomponent_delimiter_keeps_hd_whole() -> None:
    cx = CX.parse("1^^^NHS&X^NH", NO_SUB)
    assert cx.assigning_authority == "NHS&X"
    assert not cx.is_nhs_number


# --- HD ---------------------------------------------------------------------------------------


def test_hd_as_a_field_splits_components() -> None:
    hd = HD.parse("RCB^2.16.840.1.113883.2.1.3.2.4.18.48^ISO")
    assert hd.namespace_id == "RCB"
    assert hd.universal_id == "2.16.840.1.113883.2.1.3.2.4.18.48"
    assert hd.universal_id_type == "ISO"
    assert HD.parse("RCB") == HD("RCB", "RCB")
    assert HD.parse('""').is_null
    assert HD.parse("RCB^1.2^ISO^EXTRA^MORE") == HD("RCB^1.2^ISO^EXTRA^MORE", "RCB", "1.2", "ISO")


@pytest.mark.parametrize("kind", [CE, CWE, CX, HD, PL, XAD, XCN, XPN])
def test_extra_components_and_subcomponents_are_ignored(kind: type[CX]) -> None:
    raw = "^".join(["A&B&C&D&E"] * 30)
    assert kind.parse(raw).raw == raw


# --- XPN --------------------------------------------------------------------------------------


def test_xpn_uk_name() -> None:
    name = XPN.parse("SMITH^JOHN^PAUL^^MR^^L")
    assert name.family_name == "SMITH"
    assert name.given_name == "JOHN"
    assert name.further_given_names == "PAUL"
    assert name.suffix is None
    assert name.prefix == "MR"
    assert name.degree is None
    assert name.name_type_code == "L"
    assert name.name_representation_code is None


def test_xpn_family_name_is_first_subcomponent() -> None:
    name = XPN.parse("VAN DER BERG&VAN DER&BERG^ANNA")
    assert name.family_name == "VAN DER BERG"
    assert name.given_name == "ANNA"


def test_xpn_uk_delete_form_and_null() -> None:
    name = XPN.parse('""^""^""^""^""^""')
    assert not name.is_null
    assert name.family_name == "" and name.degree == "" and name.name_type_code is None
    assert XPN.parse('""').is_null
    assert XPN.parse('""').family_name == ""


def test_xpn_escapes_and_custom_delimiters() -> None:
    assert XPN.parse(r"O\S\BRIEN^MARY").family_name == "O^BRIEN"
    name = XPN.parse("SMITH%SMI$JOHN$$$MR", CUSTOM)
    assert (name.family_name, name.given_name, name.prefix) == ("SMITH", "JOHN", "MR")
    assert XPN.parse("A/T/B$C", CUSTOM).family_name == "A%B"


# --- XAD --------------------------------------------------------------------------------------


def test_xad_uk_home_address() -> None:
    address = XAD.parse("1 HIGH STREET^^LEEDS^WEST YORKSHIRE^LS1 1AA^GBR^H")
    assert address.street == "1 HIGH STREET"
    assert address.other_designation is None
    assert address.city == "LEEDS"
    assert address.state_or_province == "WEST YORKSHIRE"
    assert address.postcode == "LS1 1AA"
    assert address.country == "GBR"
    assert address.address_type == "H"
    assert address.census_tract is None


def test_xad_all_components() -> None:
    raw = (
        "1 HIGH ST&HIGH ST&1^FLAT 2^LEEDS^WY^LS1 1AA^GBR^PST^OGD^E08000035^CT^A^R^20200101^20301231"
    )
    address = XAD.parse(raw)
    assert (address.street, address.street_name, address.dwelling_number) == (
        "1 HIGH ST",
        "HIGH ST",
        "1",
    )
    assert address.other_designation == "FLAT 2"
    assert address.address_type == "PST"
    assert address.other_geographic_designation == "OGD"
    assert address.county_parish_code == "E08000035"
    assert address.census_tract == "CT"
    assert address.address_representation_code == "A"
    assert address.address_validity_range == "R"
    assert (address.effective_date, address.expiration_date) == ("20200101", "20301231")


def test_xad_nulls_escapes_and_custom_delimiters() -> None:
    address = XAD.parse(r'""^^LEEDS^^LS1 1AA')
    assert address.street == "" and address.other_designation is None
    assert XAD.parse(r"FLAT 1\T\2 HIGH ST").street == "FLAT 1&2 HIGH ST"
    custom = XAD.parse("1 HIGH STREET%HIGH STREET$$LEEDS$$LS1 1AA$GBR$H", CUSTOM)
    assert (custom.street, custom.street_name, custom.city, custom.address_type) == (
        "1 HIGH STREET",
        "HIGH STREET",
        "LEEDS",
        "H",
    )
    assert XAD.parse("1 HIGH&STREET^^LEEDS", NO_SUB).street == "1 HIGH&STREET"


# --- XCN --------------------------------------------------------------------------------------


def test_xcn_gp_with_practice_in_assigning_facility() -> None:
    gp = XCN.parse("G1234567^JONES^ANNA^^^DR^^^^^^^^Y06601")
    assert gp.id == "G1234567"
    assert gp.family_name == "JONES"
    assert gp.given_name == "ANNA"
    assert gp.further_given_names is None and gp.suffix is None
    assert gp.prefix == "DR"
    assert gp.assigning_authority is None and gp.assigning_authority_hd is None
    assert gp.identifier_type_code is None
    assert gp.assigning_facility == HD("Y06601", "Y06601")


def test_xcn_all_components() -> None:
    raw = "C1234567^BROWN&BR^ALAN^B^JR^PROF^MD^0010^GMC&1.2&ISO^L^5^M11^CONS^RXX&&L^A^IGNORED"
    doctor = XCN.parse(raw)
    assert doctor.family_name == "BROWN"
    assert (doctor.further_given_names, doctor.suffix, doctor.degree) == ("B", "JR", "MD")
    assert doctor.source_table == "0010"
    assert doctor.assigning_authority == "GMC"
    assert doctor.assigning_authority_hd == HD("GMC&1.2&ISO", "GMC", "1.2", "ISO")
    assert doctor.name_type_code == "L"
    assert (doctor.check_digit, doctor.check_digit_scheme) == ("5", "M11")
    assert doctor.identifier_type_code == "CONS"
    assert doctor.assigning_facility == HD("RXX&&L", "RXX", None, "L")
    assert doctor.name_representation_code == "A"


def test_xcn_samples_with_gmc_authority_and_custom_delimiters() -> None:
    gp = XCN.parse("G5612908^^^^^^^^GMP")
    assert gp.id == "G5612908" and gp.family_name is None and gp.assigning_authority == "GMP"
    custom = XCN.parse("G1234567$JONES$ANNA$$$DR$$$$$$$$Y06601", CUSTOM)
    assert custom.family_name == "JONES" and custom.assigning_facility == HD("Y06601", "Y06601")
    assert XCN.parse('""').is_null
    assert XCN.parse(r"G1^O\S\NEIL").family_name == "O^NEIL"


# --- CE / CWE ---------------------------------------------------------------------------------


def test_ce_icd10_and_alternate() -> None:
    ce = CE.parse("N39.3^Stress Incontinence^ICD10^N393^Stress incont.^L")
    assert (ce.identifier, ce.text, ce.coding_system) == (
        "N39.3",
        "Stress Incontinence",
        "ICD10",
    )
    assert (ce.alternate_identifier, ce.alternate_text, ce.alternate_coding_system) == (
        "N393",
        "Stress incont.",
        "L",
    )


def test_ce_text_only_null_and_escapes() -> None:
    assert CE.parse('^""').text == ""
    assert CE.parse('^""').identifier is None
    assert CE.parse('""').is_null
    assert CE.parse(r"X^Fish \T\ chips^L").text == "Fish & chips"
    assert CE.parse("U19.2$24 hour ECG$OPCS4", CUSTOM).coding_system == "OPCS4"


def test_cwe_adds_versions_and_original_text() -> None:
    cwe = CWE.parse("C22^Church of England^L^^^^v1^^Church of England (Anglican)")
    assert (cwe.identifier, cwe.text, cwe.coding_system) == ("C22", "Church of England", "L")
    assert cwe.coding_system_version_id == "v1"
    assert cwe.alternate_coding_system_version_id is None
    assert cwe.original_text == "Church of England (Anglican)"
    assert CWE.parse("").identifier is None


# --- PL ---------------------------------------------------------------------------------------


def test_pl_itk_location() -> None:
    pl = PL.parse("RCB^OBS1^BAY2-6^RCB55")
    assert (pl.point_of_care, pl.room, pl.bed) == ("RCB", "OBS1", "BAY2-6")
    assert pl.facility == HD("RCB55", "RCB55")
    assert pl.location_status is None


def test_pl_all_components_and_custom_delimiters() -> None:
    pl = PL.parse("W1^R2^B3^RCB55&1.2&ISO^O^N^MAIN^2^Ward 1 \\T\\ 2")
    assert pl.facility == HD("RCB55&1.2&ISO", "RCB55", "1.2", "ISO")
    assert (pl.location_status, pl.person_location_type) == ("O", "N")
    assert (pl.building, pl.floor) == ("MAIN", "2")
    assert pl.location_description == "Ward 1 & 2"
    custom = PL.parse("W1$R2$$RCB55", CUSTOM)
    assert custom.bed is None and custom.facility == HD("RCB55", "RCB55")
    assert PL.parse('^^""').bed == ""


# --- NM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0", Decimal("0")),
        ("01.20", Decimal("1.20")),
        ("-1.23", Decimal("-1.23")),
        ("+1.23", Decimal("1.23")),
        ("1.", Decimal("1")),
        (".5", Decimal("0.5")),
        ("123456789012345678901234567890", Decimal("123456789012345678901234567890")),
    ],
)
def test_nm_valid(raw: str, value: Decimal) -> None:
    nm = NM.parse(raw)
    assert nm.value == value and nm.raw == raw and not nm.is_null


def test_nm_keeps_written_precision() -> None:
    assert str(NM.parse("1.50").value) == "1.50"


def test_nm_null_and_absent() -> None:
    null = NM.parse('""')
    assert null.is_null and null.value is None
    absent = NM.parse("")
    assert not absent.is_null and absent.value is None


@pytest.mark.parametrize(
    "raw",
    [
        "1e3",
        "1E3",
        " 1",
        "1 ",
        "1.2.3",
        ".",
        "+",
        "-",
        "+-1",
        "NaN",
        "Infinity",
        "1,5",
        "١٢",
        "1^2",
        "0x1F",
        "1_000",
    ],
)
def test_nm_invalid(raw: str) -> None:
    with pytest.raises(ParseError) as info:
        NM.parse(raw)
    assert info.value.code is ErrorCode.DATA_TYPE_ERROR


# --- TS / DTM ---------------------------------------------------------------------------------


def test_ts_itk_minute_precision() -> None:
    ts = HL7DateTime.parse("201010101418")
    assert ts.precision is Precision.MINUTE
    assert (ts.year, ts.month, ts.day, ts.hour, ts.minute) == (2010, 10, 10, 14, 18)
    assert ts.second is None and ts.microsecond is None and ts.offset is None
    assert ts.to_datetime() == datetime(2010, 10, 10, 14, 18)
    assert ts.to_date() == date(2010, 10, 10)


def test_ts_fraction_and_offset() -> None:
    ts = HL7DateTime.parse("20250101120000.1234+0100")
    assert ts.precision is Precision.FRACTION
    assert ts.microsecond == 123400
    assert ts.offset == timezone(timedelta(hours=1))
    assert ts.to_datetime() == datetime(
        2025, 1, 1, 12, 0, 0, 123400, tzinfo=timezone(timedelta(hours=1))
    )
    assert ts.raw == "20250101120000.1234+0100"


@pytest.mark.parametrize(
    ("raw", "precision", "expected"),
    [
        ("2025", Precision.YEAR, datetime(2025, 1, 1)),
        ("202503", Precision.MONTH, datetime(2025, 3, 1)),
        ("20250315", Precision.DAY, datetime(2025, 3, 15)),
        ("2025031509", Precision.HOUR, datetime(2025, 3, 15, 9)),
        ("202503150930", Precision.MINUTE, datetime(2025, 3, 15, 9, 30)),
        ("20250315093015", Precision.SECOND, datetime(2025, 3, 15, 9, 30, 15)),
        ("20250315093015.1", Precision.FRACTION, datetime(2025, 3, 15, 9, 30, 15, 100000)),
        ("20250315093015.123456", Precision.FRACTION, datetime(2025, 3, 15, 9, 30, 15, 123456)),
        ("20240229", Precision.DAY, datetime(2024, 2, 29)),
        ("20251231235959", Precision.SECOND, datetime(2025, 12, 31, 23, 59, 59)),
        ("202501010000", Precision.MINUTE, datetime(2025, 1, 1)),
    ],
)
def test_ts_precision(raw: str, precision: Precision, expected: datetime) -> None:
    ts = HL7DateTime.parse(raw)
    assert ts.precision is precision
    assert ts.to_datetime() == expected
    assert ts.to_datetime().tzinfo is None  # type: ignore[union-attr]


def test_ts_precision_is_ordered() -> None:
    assert HL7DateTime.parse("2025").precision < Precision.DAY  # type: ignore[operator]
    assert Precision.FRACTION > Precision.SECOND > Precision.MINUTE


def test_ts_zero_offset_is_not_no_offset() -> None:
    utc = HL7DateTime.parse("202501011200+0000")
    local = HL7DateTime.parse("202501011200")
    assert utc.offset == UTC and local.offset is None
    assert utc.to_datetime().tzinfo is not None  # type: ignore[union-attr]
    assert local.to_datetime().tzinfo is None  # type: ignore[union-attr]
    assert HL7DateTime.parse("2025-0530").offset == timezone(-timedelta(hours=5, minutes=30))
    assert HL7DateTime.parse("2025+0000").to_datetime() == datetime(2025, 1, 1, tzinfo=UTC)


def test_ts_to_date_keeps_the_written_day() -> None:
    ts = HL7DateTime.parse("202501010030+0100")
    assert ts.to_date() == date(2025, 1, 1)
    assert HL7DateTime.parse("2025").to_date() == date(2025, 1, 1)


def test_ts_v24_degree_of_precision_component_is_ignored() -> None:
    ts = HL7DateTime.parse("20250101^D")
    assert ts.precision is Precision.DAY and ts.raw == "20250101^D"
    assert HL7DateTime.parse("20250101$D", CUSTOM).precision is Precision.DAY


def test_ts_null_and_absent() -> None:
    null = HL7DateTime.parse('""')
    assert null.is_null and null.precision is None
    assert null.to_datetime() is None and null.to_date() is None
    absent = HL7DateTime.parse("")
    assert not absent.is_null and absent.precision is None and absent.to_datetime() is None


@pytest.mark.parametrize(
    "raw",
    [
        "20250230",  # no 30 February
        "20250229",  # not a leap year
        "20251301",
        "20250001",
        "20250100",
        "00000101",
        "2025010124",  # midnight is 00, never 24
        "202501012400",
        "202501011260",
        "20250101120060",
        "202501011200+2500",
        "202501011200+0160",
        "202501011200+01",
        "20250101120000.",
        "20250101120000.1234567",
        "202501011200.5",  # a fraction needs seconds
        "20250101 1200",
        "2025-01-01",
        "25",
        "202",
        "2025011",
        "unknown",
        "２０２５",
        "20250101Z",
        r"2025\S\01",
    ],
)
def test_ts_invalid(raw: str) -> None:
    with pytest.raises(ParseError) as info:
        HL7DateTime.parse(raw)
    assert info.value.code is ErrorCode.DATA_TYPE_ERROR


def test_ts_error_does_not_quote_the_value() -> None:
    with pytest.raises(ParseError) as info:
        HL7DateTime.parse("19800230")
    assert "19800230" not in str(info.value)


@pytest.mark.parametrize(
    ("precision", "text"),
    [
        (Precision.YEAR, "2025"),
        (Precision.MONTH, "202503"),
        (Precision.DAY, "20250315"),
        (Precision.HOUR, "2025031509"),
        (Precision.MINUTE, "202503150930"),
        (Precision.SECOND, "20250315093015"),
        (Precision.FRACTION, "20250315093015.1234"),
    ],
)
def test_ts_from_datetime_truncates_to_precision(precision: Precision, text: str) -> None:
    value = datetime(2025, 3, 15, 9, 30, 15, 123456)
    ts = HL7DateTime.from_datetime(value, precision)
    assert ts.raw == text and ts.precision is precision


def test_ts_from_datetime_writes_offsets() -> None:
    aware = datetime(2025, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert HL7DateTime.from_datetime(aware).raw == "20250701090000+0100"
    west = datetime(2025, 7, 1, 9, 0, tzinfo=timezone(-timedelta(hours=3, minutes=30)))
    assert HL7DateTime.from_datetime(west, Precision.MINUTE).raw == "202507010900-0330"
    assert HL7DateTime.from_datetime(datetime(2025, 1, 1, tzinfo=UTC)).raw == "20250101000000+0000"
    assert HL7DateTime.from_datetime(datetime(2025, 1, 1)).raw == "20250101000000"
    with pytest.raises(ValueError, match="whole minutes"):
        HL7DateTime.from_datetime(datetime(2025, 1, 1, tzinfo=timezone(timedelta(seconds=30))))


_naive = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
_offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(_naive)
def test_ts_round_trip_naive(value: datetime) -> None:
    value = value.replace(microsecond=0)
    ts = HL7DateTime.parse(HL7DateTime.from_datetime(value, Precision.SECOND).raw)
    result = ts.to_datetime()
    assert result == value and result is not None and result.tzinfo is None


@given(_naive, _offsets)
def test_ts_round_trip_aware(value: datetime, offset: timezone) -> None:
    value = value.replace(microsecond=0, tzinfo=offset)
    ts = HL7DateTime.parse(HL7DateTime.from_datetime(value, Precision.SECOND).raw)
    result = ts.to_datetime()
    assert result == value and result is not None and result.utcoffset() == value.utcoffset()


@given(_naive)
def test_ts_round_trip_fraction(value: datetime) -> None:
    value = value.replace(microsecond=value.microsecond // 100 * 100)
    ts = HL7DateTime.parse(HL7DateTime.from_datetime(value, Precision.FRACTION).raw)
    assert ts.to_datetime() == value


# --- DT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "precision", "expected"),
    [
        ("1980", Precision.YEAR, date(1980, 1, 1)),
        ("198006", Precision.MONTH, date(1980, 6, 1)),
        ("19800615", Precision.DAY, date(1980, 6, 15)),
    ],
)
def test_dt_precision(raw: str, precision: Precision, expected: date) -> None:
    dt = HL7Date.parse(raw)
    assert dt.precision is precision and dt.to_date() == expected and dt.raw == raw


@pytest.mark.parametrize(
    "raw", ["20250230", "198013", "1980061", "19800615120000", "1980-06-15", "x", "2025+0100"]
)
def test_dt_invalid(raw: str) -> None:
    with pytest.raises(ParseError) as info:
        HL7Date.parse(raw)
    assert info.value.code is ErrorCode.DATA_TYPE_ERROR


def test_dt_null_absent_and_from_date() -> None:
    assert HL7Date.parse('""').is_null and HL7Date.parse('""').to_date() is None
    assert HL7Date.parse("").precision is None and not HL7Date.parse("").is_null
    day = date(2025, 3, 5)
    assert HL7Date.from_date(day).raw == "20250305"
    assert HL7Date.from_date(day, Precision.MONTH).raw == "202503"
    assert HL7Date.from_date(day, Precision.YEAR).raw == "2025"
    assert HL7Date.from_date(day, Precision.SECOND).raw == "20250305"


# --- shared behaviour ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [CE, CWE, CX, HD, NM, PL, XAD, XCN, XPN, HL7Date, HL7DateTime])
def test_every_type_is_frozen_and_keeps_raw(kind: type[CX]) -> None:
    value = kind.parse('""')
    assert value.is_null and value.raw == '""'
    with pytest.raises(AttributeError):
        value.raw = "x"  # type: ignore[misc]
    assert not kind.parse("").is_null
