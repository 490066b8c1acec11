"""Each journey sends the expected events with the HL7 UK fields that matter."""

from __future__ import annotations

import pytest

from eprlink.hl7 import Message
from eprlink.sim.hospital import (
    MEDICALLY_FIT_V1,
    WAITING_LIST_V1,
    ContactMapping,
    DischargeDisposition,
    Feed,
    Hospital,
    MedicallyFitPlugin,
    TrustSettings,
)
from eprlink.sim.hospital.codes import (
    DISCHARGE_DESTINATION,
    ED_DISPOSAL,
    INPATIENT_DISPOSAL,
    RTT_STATUS,
    SOURCE_OF_ADMISSION,
)


def _codes(table: tuple[tuple[str, str, float], ...]) -> set[str]:
    return {code for code, _, _ in table}


def _adt(messages: tuple[Message, ...], trigger: str) -> list[Message]:
    return [m for m in messages if m.get("MSH-9.2") == trigger]


def _ids(message: Message) -> list[str]:
    return [segment.id for segment in message.segments()]


def _zu_last(message: Message) -> None:
    ids = _ids(message)
    first = next((i for i, sid in enumerate(ids) if sid.startswith("Z")), len(ids))
    assert all(sid.startswith("Z") for sid in ids[first:]), ids


def test_emergency_admission_end_to_end() -> None:
    hospital = Hospital(1, beds=50)
    journey = hospital.emergency_admission(
        transfers=2, home_leave=True, medically_fit=True,
        cancel_admission=False, cancel_transfer=False, cancel_discharge=False,
    )  # fmt: skip
    triggers = journey.triggers
    assert triggers[:3] == ("A04", "A03", "A01")
    assert triggers[-1] == "A03"
    assert triggers.count("A02") == 2
    assert triggers.index("A21") < triggers.index("A22")
    assert "A08" in triggers
    adt = journey.on(Feed.ADT)
    ed, ed_end, admit = adt[0], adt[1], adt[2]
    assert ed.get("PV1-2") == "E" and ed.get("PV1-10") == "180"
    assert ed.get("PV2-38") is not None and ed.get("PV1-44") is not None
    assert ed_end.get("PV1-36") == "1"  # ITK 0112: admitted
    assert admit.get("PV1-2") == "I" and admit.get("PV1-4") == "21"
    assert admit.get("PV1-14") in _codes(SOURCE_OF_ADMISSION)
    assert admit.get("PV1-44") is not None and admit.get("PV1-45") is None
    assert admit.get("PV1-19.1") != ed.get("PV1-19.1")  # a new spell number
    previous = admit
    for transfer in _adt(adt, "A02"):
        assert transfer.raw("PV1-6") == previous.raw("PV1-3")
        assert transfer.get("EVN-6") is not None
        assert transfer.get("PV1-44") == admit.get("PV1-44")
        previous = transfer
    for leave in _adt(adt, "A21") + _adt(adt, "A22"):
        assert leave.get("EVN-6") is not None
    fit = _adt(adt, "A08")[0]
    assert fit.get("ZU1-22") == "Y"
    assert fit.get("ZU1-24") is not None  # the default plug-in is v2
    discharge = adt[-1]
    assert discharge.get("PV1-45") is not None
    assert discharge.get("PV1-36") in _codes(INPATIENT_DISPOSAL)
    assert discharge.get("PV1-37") in _codes(DISCHARGE_DESTINATION)
    assert discharge.get("ZU1-5") is not None  # the episode ends
    for message in adt:
        _zu_last(message)
        assert message.get("PID-3") is not None


def test_ed_attendance_without_admission() -> None:
    journey = Hospital(2, beds=50).ed_attendance()
    assert journey.triggers == ("A04", "A03")
    departure = journey.on(Feed.ADT)[1]
    assert departure.get("PV1-2") == "E"
    assert departure.get("PV1-36") in _codes(ED_DISPOSAL)
    assert departure.get("PV1-45") is not None


@pytest.mark.parametrize(
    ("plugin", "ready"), [(MEDICALLY_FIT_V1, False), (MedicallyFitPlugin(), True)]
)
def test_medically_fit_plugin_shapes_the_a08(plugin: MedicallyFitPlugin, ready: bool) -> None:
    hospital = Hospital(3, beds=50, trust=TrustSettings(medically_fit=plugin))
    fits = _adt(hospital.emergency_admission(medically_fit=True).messages, "A08")
    assert fits[0].get("ZU1-22") == "Y"
    assert (fits[0].get("ZU1-24") is not None) is ready
    if ready:
        assert len(fits[0].get("ZU1-24") or "") == 12  # v2: to the minute


def test_withdrawn_fitness_deletes_the_ready_date() -> None:
    trust = TrustSettings(medically_fit=MedicallyFitPlugin(withdrawal_rate=1.0))
    fits = _adt(Hospital(4, beds=50, trust=trust).emergency_admission(medically_fit=True)
                .messages, "A08")  # fmt: skip
    assert [m.get("ZU1-22") for m in fits] == ["Y", "N", "Y"]
    assert fits[1].get("ZU1-24") == ""  # the explicit null
    assert fits[1].raw("ZU1-24") == '""'


def test_cancel_admission_transfer_and_discharge() -> None:
    hospital = Hospital(5, beds=50)
    cancelled = hospital.emergency_admission(cancel_admission=True)
    assert cancelled.triggers[-2:] == ("A01", "A11")
    a01, a11 = _adt(cancelled.messages, "A01")[0], _adt(cancelled.messages, "A11")[0]
    assert a11.get("PV1-19.1") == a01.get("PV1-19.1")
    assert a11.get("MSH-9.3") == "ADT_A09"

    moved = hospital.emergency_admission(
        cancel_admission=False, cancel_transfer=True, cancel_discharge=False
    )
    triggers = moved.triggers
    wrong = triggers.index("A12") - 1
    assert triggers[wrong] == "A02"
    a02, a12 = moved.on(Feed.ADT)[wrong], moved.on(Feed.ADT)[wrong + 1]
    assert a12.raw("PV1-3") == a02.raw("PV1-6")  # back where the patient was
    assert a12.raw("PV1-6") == a02.raw("PV1-3")  # the location keyed in error

    undone = hospital.emergency_admission(
        cancel_admission=False, cancel_transfer=False, cancel_discharge=True
    )
    assert undone.triggers[-3:] == ("A03", "A13", "A03")
    a13 = _adt(undone.messages, "A13")[0]
    assert a13.get("PV1-45") == ""  # the discharge date is deleted
    assert a13.get("MSH-9.3") == "ADT_A01"


@pytest.mark.parametrize("method", ["11", "12", "13"])
def test_elective_waiting_list_to_admission(method: str) -> None:
    hospital = Hospital(6, beds=50)
    journey = hospital.elective_admission(
        tci_cancelled=True, day_case=False, removed=False, admission_method=method
    )
    triggers = journey.triggers
    assert triggers[:5] == ("A05", "A14", "A27", "A14", "A01")
    assert triggers[-1] == "A03"
    adt = journey.on(Feed.ADT)
    for message in adt[:4]:
        assert message.get("PV1-2") == "W"
        assert message.segment("ZU4") is not None
        assert message.get("ZU4-13") == "1"
        assert message.get("ZRT-1") is not None and message.get("ZRT-2") == "RZZ"
        assert message.get("ZRT-3.1") in {code for code, _, _ in RTT_STATUS}
        assert message.get("PV1-44") is None
        _zu_last(message)
        ids = _ids(message)
        assert ids.index("ZU4") < ids.index("ZRT")
    assert adt[0].get("PV2-8") is not None and adt[1].get("PV2-8") is not None
    assert adt[0].get("ZU4-2") is not None
    assert adt[1].get("ZU4-6") is not None  # TCI date
    assert adt[2].get("ZU4-11") == "6"  # cancelled by the hospital before the day
    assert adt[3].get("PV2-8") != adt[1].get("PV2-8")  # a new date offered
    admit = adt[4]
    assert admit.get("PV1-2") == "I" and admit.get("PV1-4") == method
    assert admit.get("PV1-44") is not None
    assert admit.get("ZRT-3.1") == "30" and admit.get("ZRT-6") is not None  # clock stop
    assert admit.get("ZU4-9") == "1"


def test_waiting_list_removal_and_plugin_v1() -> None:
    removed = Hospital(7, beds=50).elective_admission(removed=True)
    assert removed.triggers == ("A05", "A38")
    assert removed.on(Feed.ADT)[1].get("ZU4-9") == "4"
    v1 = Hospital(7, beds=50, trust=TrustSettings(waiting_list=WAITING_LIST_V1))
    for message in v1.elective_admission().on(Feed.ADT):
        assert message.segment("ZRT") is None and message.segment("ZCF") is None
    custom = Hospital(7, beds=50, trust=TrustSettings(rtt_segment="ZPW"))
    first = custom.elective_admission().on(Feed.ADT)[0]
    assert first.segment("ZPW") is not None and first.segment("ZRT") is None


@pytest.mark.parametrize(
    ("outcome", "trigger", "status"),
    [("attended", "S14", "Complete"), ("dna", "S26", "Noshow"), ("cancelled", "S15", "Cancelled")],
)
def test_outpatient_referral_and_appointment(outcome: str, trigger: str, status: str) -> None:
    journey = Hospital(8, beds=50).outpatient_referral(
        outcome=outcome, register=True, rescheduled=True
    )
    assert journey.triggers[:4] == ("A28", "I12", "S12", "S13")
    assert journey.triggers[-1] == trigger
    adt = journey.on(Feed.ADT)
    referral = adt[1]
    assert referral.get("MSH-9") == "REF^I12^REF_I12"
    ids = _ids(referral)
    assert ids[:5] == ["MSH", "RF1", "PRD", "PRD", "PID"] and ids[-1] == "PV1"
    assert referral.get("RF1-6.1") is not None
    assert [s.get(1, None, 1) for s in referral.segments("PRD")] == ["RP", "RT"]
    booking, moved, last = adt[2], adt[3], adt[-1]
    for message in (booking, moved, last):
        ids = _ids(message)
        assert ids[:5] == ["MSH", "SCH", "PID", "PD1", "PV1"]
        assert ids[-3:] == ["RGS", "AIL", "AIP"]
        assert message.get("MSH-9.3") == "SIU_S12"
        assert message.get("SCH-1.1") == referral.get("RF1-6.1")
        assert message.get("PV1-2") == "O"
    assert booking.get("SCH-25.1") == "Booked"
    assert moved.get("SCH-11.4") != booking.get("SCH-11.4")
    assert last.get("SCH-25.1") == status
    assert last.get("SCH-6.3") == "ZU007"  # attended / did not attend code
    if outcome == "attended":
        assert last.get("OBX-3.1") == "ZU022"  # outcome of attendance
        assert last.get("OBX-5.1") in ("1", "2", "3")


def test_demographic_update_sends_nulls_and_leaves_the_rest_out() -> None:
    hospital = Hospital(9, beds=50)
    patient = next(p for p in iter(hospital.patient, None) if p.phones)
    update = hospital.update_demographics(patient, change="phones_removed").messages[0]
    assert update.get("MSH-9") == "ADT^A31^ADT_A05"
    assert update.get("PID-13") == ""  # delete every phone number
    assert update.raw("PID-13") == '""'
    if patient.work_phone:
        assert update.get("PID-14") == ""
    for omitted in ("PID-7", "PID-8", "PID-11", "PID-22", "PD1-3"):
        assert update.get(omitted) is None  # not sent: no change
    assert update.get("PID-3") is not None and update.get("PID-5") is not None
    assert update.get("PV1-2") == "N"

    moved = hospital.update_demographics(change="address", encounter=True).messages[0]
    assert moved.get("MSH-9") == "ADT^A08^ADT_A01"
    assert moved.get("PV1-2") == "I"
    assert moved.get("PID-11.5") is not None and moved.get("PID-7") is None
    gp = hospital.update_demographics(change="gp").messages[0]
    assert gp.get("PD1-3.3") is not None and gp.get("PID-11") is None
    traced = hospital.update_demographics(change="nhs_traced").messages[0]
    assert traced.get("PID-32") == "NSTS01" and "^^^NHS^NH" in (traced.raw("PID-3") or "")


def test_update_fields_setting_repeats_fields_in_every_update() -> None:
    hospital = Hospital(9, beds=50, trust=TrustSettings(update_fields=(32,)))
    update = hospital.update_demographics(change="address").messages[0]
    assert update.get("PID-32") is not None


def test_merge() -> None:
    journey = Hospital(10, beds=50).merge()
    assert journey.triggers == ("A28", "A40", "A31")
    duplicate, merge, after = journey.on(Feed.ADT)
    assert merge.get("MSH-9.3") == "ADT_A39"
    assert merge.raw("MRG-1") == duplicate.raw("PID-3")
    assert merge.get("PID-3.1") == journey.patient.mrn
    assert merge.get("PID-3.1") != merge.get("MRG-1.1")
    assert after.raw("PID-3") == merge.raw("PID-3")
    assert not [s for s in _ids(merge) if s.startswith("Z")]


def test_registration_and_community_contact() -> None:
    hospital = Hospital(11, beds=50)
    register = hospital.register().messages[0]
    assert register.get("MSH-9") == "ADT^A28^ADT_A05" and register.get("PV1-2") == "N"
    contact = hospital.community_contact()
    assert contact.triggers == ("A04", "A03")
    assert {m.get("PV1-2") for m in contact.messages} == {"O"}
    mapping = ContactMapping(start_event="A04", end_event="A03", patient_class="R")
    other = Hospital(11, beds=50, trust=TrustSettings(contact=mapping)).community_contact()
    assert {m.get("PV1-2") for m in other.messages} == {"R"}


def test_master_files() -> None:
    hospital = Hospital(12, beds=50)
    staff = hospital.staff_master_file()
    assert staff.get("MSH-9") == "MFN^M02^MFN_M02" and staff.get("MFI-1") == "STF"
    assert _ids(staff)[2:5] == ["MFE", "STF", "PRA"]
    assert len(staff.segments("STF")) == len(staff.segments("MFE")) == 3
    locations = hospital.location_master_file()
    assert locations.get("MSH-9") == "MFN^M05^MFN_M05" and locations.get("MFI-1") == "LOC"
    assert _ids(locations)[2:5] == ["MFE", "LOC", "LDP"]
    assert locations.get("MFE-5") == "PL"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (DischargeDisposition.ITK_0112, _codes(INPATIENT_DISPOSAL)),
        (DischargeDisposition.DESTINATION, _codes(DISCHARGE_DESTINATION)),
        (DischargeDisposition.METHOD, {"1", "6", "7"}),
    ],
)
def test_pv1_36_reading_is_configurable(mode: DischargeDisposition, expected: set[str]) -> None:
    hospital = Hospital(13, beds=50, trust=TrustSettings(discharge_disposition=mode))
    discharge = hospital.emergency_admission(cancel_discharge=False).on(Feed.ADT)[-1]
    assert discharge.get("PV1-36") in expected
    if mode is DischargeDisposition.DESTINATION:
        assert discharge.get("PV1-36") == discharge.get("PV1-37")
