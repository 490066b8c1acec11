"""Trust settings for the synthetic hospital: each CareFlow unknown is a setting, not a constant."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "MEDICALLY_FIT_V1",
    "MEDICALLY_FIT_V2",
    "WAITING_LIST_V1",
    "WAITING_LIST_V2",
    "ContactMapping",
    "DischargeDisposition",
    "Feed",
    "IdentifierKind",
    "MedicallyFitPlugin",
    "SexCoding",
    "TrustSettings",
    "WaitingListPlugin",
]


class Feed(StrEnum):
    """Where the simulator routes a message: its outbound ADT/MPI link, results link, or orders."""

    ADT = "adt"
    RESULTS = "results"
    ORDERS = "orders"


class IdentifierKind(StrEnum):
    """The identifiers PID-3 can carry, in the order the Trust sends them."""

    MRN = "MR"
    NHS = "NH"


class SexCoding(StrEnum):
    """PID-8 coding: the ITK table 0001 digits, or the HL7 letters many live feeds still send."""

    ITK = "itk"  # 1 male, 2 female, 9 not specified, 0 not known
    HL7 = "hl7"  # M, F, O, U


class DischargeDisposition(StrEnum):
    """What PV1-36 holds on a discharge: HL7 UK and ITK read the field differently (ref §5.6)."""

    ITK_0112 = "itk"  # ITK table 0112: A&E disposal mixed with discharge method (3 no follow-up)
    DESTINATION = "hl7uk"  # HL7 UK: the NHS discharge destination (19 usual residence)
    METHOD = "method"  # the NHS discharge method (1 on clinical advice)


@dataclass(frozen=True, slots=True)
class MedicallyFitPlugin:
    """How the Trust's CareFlow "Medically Fit" plug-in shapes the A08 that records fitness.

    CareFlow's plug-in versions are not public. The presets follow the assumption the profile
    layers make (``plugins/medically_fit_v1``/``_v2``) [UNVERIFIED]: v1 sends the indicator
    ZU1-22 only; v2 adds ZU1-24, the date the patient first became medically fit. This
    generator's own further assumption for v2: fitness can be withdrawn (ZU1-22 ``N`` with
    ZU1-24 deleted by ``""``) and ZU1-24 carries the time as well as the date.
    """

    version: str = "v2"
    ready_for_discharge: bool = True  # send ZU1-24
    ready_with_time: bool = True  # ZU1-24 as YYYYMMDDHHMM rather than YYYYMMDD
    withdrawal_rate: float = 0.08  # share of fit patients later marked unfit again

    @staticmethod
    def for_version(version: str) -> MedicallyFitPlugin:
        """The preset a Trust overlay names (``medically_fit = "v2"``)."""
        presets = {"v1": MEDICALLY_FIT_V1, "v2": MEDICALLY_FIT_V2}
        if version not in presets:
            raise ValueError(f"no medically fit plug-in {version!r}: use one of {sorted(presets)}")
        return presets[version]


MEDICALLY_FIT_V1 = MedicallyFitPlugin(
    version="v1", ready_for_discharge=False, ready_with_time=False, withdrawal_rate=0.0
)
MEDICALLY_FIT_V2 = MedicallyFitPlugin()


@dataclass(frozen=True, slots=True)
class WaitingListPlugin:
    """How the waiting-list plug-in shapes A05/A14/A27 (an assumption shared with the profile
    layers ``plugins/waiting_list_v1``/``_v2`` [UNVERIFIED]).

    v1: PV1-2 ``W`` and ZU4 only. v2 adds the RTT pathway in the Trust's local RTT segment (the
    invented ``ZRT``) and free-text waiting-list comments in ZCF-2 (also invented), since ZU4
    has neither (ref §6.4, §9.9).
    """

    version: str = "v2"
    rtt: bool = True
    comments: bool = True

    @staticmethod
    def for_version(version: str) -> WaitingListPlugin:
        """The preset a Trust overlay names (``waiting_list = "v2"``)."""
        presets = {"v1": WAITING_LIST_V1, "v2": WAITING_LIST_V2}
        if version not in presets:
            raise ValueError(f"no waiting-list plug-in {version!r}: use one of {sorted(presets)}")
        return presets[version]


WAITING_LIST_V1 = WaitingListPlugin(version="v1", rtt=False, comments=False)
WAITING_LIST_V2 = WaitingListPlugin()


@dataclass(frozen=True, slots=True)
class ContactMapping:
    """Community "contact management" has no UK v2 guidance (ref §7.3); default A04/A03 with O."""

    start_event: str = "A04"
    end_event: str = "A03"
    patient_class: str = "O"


@dataclass(frozen=True, slots=True)
class TrustSettings:
    """One Trust's CareFlow configuration as the simulator sees it.

    The default organisation codes are the fictional set of the test-data guide (``RZZ``), so
    nothing generated can be mistaken for a real Trust.
    """

    ods_code: str = "RZZ"
    name: str = "FICTIONAL TESTBURY HOSPITALS NHS TRUST"
    sending_application: str = "PAS"
    sending_facility: str | None = None  # MSH-4; the ODS code when None
    receiving_application: str = "ROUTE"  # the careflow layer's default (ITK samples)
    receiving_facility: str | None = "ROUTE"
    lab_application: str = "PATH"  # MSH-3 of results
    order_application: str = "OCS"  # MSH-3 and placer namespace of orders
    processing_id: str = "P"
    charset: str | None = "UNICODE UTF-8"  # MSH-18; None leaves it out
    profile_id: str | None = None  # MSH-21, e.g. "iTKv1.0" for an ITK receiver
    mrn_authority: str | None = None  # CX-4 of the hospital number; the ODS code when None
    mrn_prefix: str | None = None  # hospital numbers look like RZZ1000001; the ODS code when None
    visit_authority: str | None = None  # CX-4 of PV1-19; the ODS code when None
    identifier_order: tuple[IdentifierKind, ...] = (IdentifierKind.MRN, IdentifierKind.NHS)
    sex_coding: SexCoding = SexCoding.ITK
    medically_fit: MedicallyFitPlugin = MEDICALLY_FIT_V2
    waiting_list: WaitingListPlugin = WAITING_LIST_V2
    rtt_segment: str = "ZRT"  # invented local Z-segment; HL7 UK reserves the ZU prefix
    contact: ContactMapping = field(default_factory=ContactMapping)
    discharge_disposition: DischargeDisposition = DischargeDisposition.ITK_0112
    close_ed_attendance_on_admission: bool = True  # A03 (disposal 1) before the A01
    patients_without_nhs_number: float = 0.04  # NSTS07 share; 0 for a Trust requiring one
    update_fields: tuple[int, ...] = ()  # PID fields every update repeats, e.g. (32,)

    def __post_init__(self) -> None:
        if self.rtt_segment.upper().startswith("ZU") or len(self.rtt_segment) != 3:
            raise ValueError("the local RTT segment needs a 3-character id not starting with ZU")
        if not self.rtt_segment.startswith("Z"):
            raise ValueError("the local RTT segment must be a Z-segment")
        if sorted(self.identifier_order) != sorted(set(self.identifier_order)):
            raise ValueError("identifier_order names an identifier twice")
        if not self.identifier_order:
            raise ValueError("identifier_order needs at least one identifier")
        if not 0 <= self.patients_without_nhs_number <= 1:
            raise ValueError("patients_without_nhs_number is a share between 0 and 1")

    @property
    def facility(self) -> str:
        return self.sending_facility or self.ods_code

    @property
    def receiver_facility(self) -> str:
        return self.receiving_facility or self.ods_code

    @property
    def mrn_issuer(self) -> str:
        return self.mrn_authority or self.ods_code

    @property
    def mrn_stem(self) -> str:
        return self.mrn_prefix if self.mrn_prefix is not None else self.ods_code

    @property
    def visit_issuer(self) -> str:
        return self.visit_authority or self.ods_code

    def site(self, number: int) -> str:
        """A 5-character ODS-style site code: the Trust code plus two digits (ref §5.6)."""
        return f"{self.ods_code}{number:02d}"
