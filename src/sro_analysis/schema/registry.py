"""The one field registry: every canonical, aggregate and published table, described once.

pandera models (:mod:`sro_analysis.schema.models`), the Markdown codebook
(:mod:`sro_analysis.schema.codebook`) and the Frictionless table schemas
(:mod:`sro_analysis.schema.frictionless`) are all generated from :data:`TABLES`.
A field is described here and nowhere else.

Types follow SPEC §2: ``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``
(naive, America/Chicago wall time), ``enum`` and ``list[enum]`` (stored as the allowed values,
sorted, joined by ``;`` so the same column survives CSV and Parquet).

Sensitivity classes decide where a field may appear (SPEC §3.5):

* ``public``: may appear in the public release and reports (after suppression where counts).
* ``restricted``: record-level or identifying; only in the restricted tier.
* ``never``: never leaves the package, in any tier (salted keys, internal ids).

Example:
    >>> from sro_analysis.schema.registry import table
    >>> table("outcomes").primary_key
    ('outcome_id',)
    >>> table("outcomes").field("taken_into_custody").enum
    ('yes', 'no', 'unknown')
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Literal

DType = Literal["str", "int", "float", "bool", "date", "datetime", "enum", "list[enum]"]
Sensitivity = Literal["public", "restricted", "never"]

#: Separator for ``list[enum]`` values (sorted, de-duplicated).
LIST_SEPARATOR = ";"

YES_NO_UNKNOWN = ("yes", "no", "unknown")
SCHOOL_YEAR_PATTERN = r"^\d{4}-\d{2}$"


@dataclass(frozen=True)
class Field:
    """One column of one table: its meaning, type, allowed values and who may see it."""

    name: str
    dtype: DType
    description: str
    required: bool = True
    enum: tuple[str, ...] | None = None
    sensitivity: Sensitivity = "public"
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    references: str | None = None  # "table.field" for a foreign key
    source: str | None = None  # SPEC / legal source of the definition
    #: What the cleaning engine does with a non-blank raw value it cannot use (unparseable, out of
    #: range, not in the enum): ``reject`` the row, or ``blank`` the value and flag the row in the
    #: ledger. Default: required fields reject, optional fields blank (one policy per field).
    invalid: Literal["reject", "blank"] | None = None

    def __post_init__(self) -> None:
        if self.dtype in ("enum", "list[enum]") and not self.enum:
            raise ValueError(f"field {self.name!r} is {self.dtype} but lists no allowed values")

    @property
    def invalid_policy(self) -> Literal["reject", "blank"]:
        """The bad-value policy in force (see ``invalid``)."""
        return self.invalid or ("reject" if self.required else "blank")


@dataclass(frozen=True)
class Table:
    """A table of the canonical model (or an aggregate / published table)."""

    name: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    grain: str
    kind: Literal["record", "aggregate", "reference", "audit"] = "record"
    unique_together: tuple[tuple[str, ...], ...] = dc_field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        """Column names in their canonical order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        """Return the field called ``name`` (KeyError naming the table when absent)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    @property
    def foreign_keys(self) -> list[tuple[str, str, str]]:
        """``(field, referenced_table, referenced_field)`` for every foreign key."""
        out = []
        for f in self.fields:
            if f.references:
                ref_table, ref_field = f.references.split(".")
                out.append((f.name, ref_table, ref_field))
        return out


# ---------------------------------------------------------------------------------------------
# Shared vocabularies (SPEC §2). Enums may be extended where real records need it; say why.

RACE_ETHNICITY = (
    "hispanic_latino", "american_indian_alaska_native", "asian", "black",
    "native_hawaiian_pacific_islander", "white", "two_or_more", "unknown",
)
SEX = ("female", "male", "nonbinary", "unknown")
GENDER = ("male", "female", "other", "unknown")
# CPD roster categories mapped onto the CRDC 7 + unknown, so officer and subject race share codes.
OFFICER_RACE = RACE_ETHNICITY
OUTCOME_CANONICAL = (
    "custodial_arrest", "station_adjustment", "diversion_referral", "citation_summons",
    "school_discipline_restorative", "warning_no_action", "other_unknown",
)
DIVERSION_TIMING = ("pre_arrest", "post_arrest", "not_applicable", "unknown")
STATION_ADJUSTMENT_TYPE = ("informal", "formal", "peer_jury", "not_applicable", "unknown")
LOCATION_TYPE = (
    "school_building", "school_grounds", "school_transport", "school_event_offsite",
    "near_school_offsite", "other", "unknown",
)
SCHOOL_MATCH_METHOD = ("source_id", "address", "polygon", "distance", "manual", "none")
SOURCE_SYSTEM = ("cpd_clear", "cpd_arrests", "cpd_trr", "cps_incident", "crdc", "synthetic", "other")
OUTCOME_VOCAB = ("cpd", "cps", "nibrs", "crdc", "synthetic", "other")
SUBJECT_RESISTANCE = (
    "cooperative", "passive_resister", "active_resister", "assailant_assault",
    "assailant_battery", "assailant_deadly_force", "unknown",
)
FORCE_LEVEL = ("none", "level_1", "level_2", "level_3", "unknown")
FORCE_OPTIONS = (
    "member_presence", "verbal_direction", "escort_or_control_hold", "handcuffing", "takedown",
    "open_hand_strike", "closed_hand_strike", "kick", "baton", "oc_spray", "taser_display",
    "taser_discharge", "firearm_pointed", "firearm_discharge", "other",
)
DEESCALATION_TACTICS = (
    "continual_communication", "tactical_positioning", "time_as_tactic", "additional_resources",
    "crisis_intervention_officer", "zone_of_safety", "other",
)
UNIT_TYPE = ("school", "officer", "district", "city", "group")
GROUP_TYPE = (
    "all", "race_ethnicity", "sex", "disability", "age_band", "officer_scope",
    # subject_resistance: de-escalation by resistance (SPEC §3.2); intersection: several group
    # dimensions at once, group = "dim=value|dim=value" (metrics/rates.py).
    "subject_resistance", "intersection",
)
MEASURES = (
    "ata", "ata_strict", "fpa", "crdc_ata", "custodial_arrest", "force_per_contact",
    "deescalation_documented",
    # metrics/force.py: de-escalation split by what the report names (specific tactic vs presence /
    # verbal commands only), and restraint use per contact (NYPD-style restraint fields).
    "deescalation_specific_tactic", "deescalation_presence_verbal_only",
    "restraint_per_contact", "metal_restraint_per_contact",
)


def _f(name: str, dtype: DType, description: str, **kw) -> Field:
    return Field(name=name, dtype=dtype, description=description, **kw)


def _yn(name: str, description: str, **kw) -> Field:
    return _f(name, "enum", description, enum=YES_NO_UNKNOWN, **kw)


_school_year = dict(pattern=SCHOOL_YEAR_PATTERN)

# ---------------------------------------------------------------------------------------------

SCHOOLS = Table(
    name="schools",
    description="Schools that incidents can be linked to (CPS School_ID as key).",
    grain="one row per school",
    kind="reference",
    primary_key=("school_id",),
    fields=(
        _f("school_id", "str", "School identifier of the district (CPS School_ID).", source="SPEC §2.1"),
        _f("nces_school_id", "str", "12-digit NCES school id, for CRDC joins.", required=False, pattern=r"^\d{12}$"),
        _f("name", "str", "School name as the district writes it."),
        _f("address", "str", "Street address in normalised USPS form (upper case, abbreviated suffix and direction)."),
        _f("lat", "float", "Latitude (WGS84) of the school.", required=False, minimum=-90, maximum=90),
        _f("lon", "float", "Longitude (WGS84) of the school.", required=False, minimum=-180, maximum=180),
        _f("campus_geometry_wkt", "str", "Campus polygon as WKT, preferred over point distance.", required=False),
        _f("school_type", "enum", "Level of the school.",
           enum=("elementary", "middle", "high", "combined", "alternative", "other", "unknown")),
        _f("co_located_group", "str", "Shared-building group id; matches into it are ambiguous.", required=False),
        _f("police_district", "str", "Police district the school lies in, where the source gives it.", required=False),
        _f("directory_year", "str", "School year of the directory this row comes from.", required=False, **_school_year),
    ),
)

SCHOOL_DIRECTORY = Table(
    name="school_directory",
    description=("Each school as the directory of one school year lists it: linkage places a record "
                 "with the directory of its own school year (names, addresses and police districts change)."),
    grain="one row per (school, directory school year)",
    kind="reference",
    primary_key=("school_id", "school_year"),
    fields=(
        _f("school_id", "str", "School.", references="schools.school_id"),
        _f("school_year", "str", "School year YYYY-YY of the directory.", **_school_year),
        _f("name", "str", "School name as that year's directory writes it."),
        _f("address", "str", "Street address in that year's directory (normalised USPS form).", required=False),
        _f("lat", "float", "Latitude (WGS84) in that year's directory.", required=False, minimum=-90, maximum=90),
        _f("lon", "float", "Longitude (WGS84) in that year's directory.", required=False, minimum=-180, maximum=180),
        _f("police_district", "str", "Police district, where that year's directory gives it.", required=False),
        _f("source_file", "str", "Directory file the row was read from."),
    ),
)

SCHOOL_NAMES = Table(
    name="school_names",
    description="Crosswalk of name variants to school ids, used to match names in sources.",
    grain="one row per (normalised name, school)",
    kind="reference",
    primary_key=("name_normalised", "school_id"),
    fields=(
        _f("name_normalised", "str", "Upper-case name with punctuation and school-type words removed."),
        _f("school_id", "str", "School the name refers to.", references="schools.school_id"),
        _f("name_raw", "str", "The name as the source wrote it."),
        _f("source", "str", "File the variant was read from."),
    ),
)

SCHOOL_ENROLLMENT = Table(
    name="school_enrollment",
    description="Enrolment counts per school, school year and group: denominators for RRI stage 1.",
    grain="one row per (school, school year, group type, group)",
    kind="aggregate",
    primary_key=("school_id", "school_year", "group_type", "group"),
    fields=(
        _f("school_id", "str", "School.", references="schools.school_id"),
        _f("school_year", "str", "School year YYYY-YY.", **_school_year),
        _f("group_type", "enum", "What the group splits on.", enum=GROUP_TYPE),
        _f("group", "str", "Group value (e.g. 'black'), or 'all'."),
        _f("n", "int", "Students enrolled.", minimum=0),
    ),
)

OFFICERS = Table(
    name="officers",
    description="Sworn members, one row per resolved person (after identity resolution).",
    grain="one row per officer",
    primary_key=("officer_uid",),
    fields=(
        _f("officer_uid", "str", "Stable package-minted officer id; never published raw.", sensitivity="never", source="SPEC §2.2"),
        _f("first_name_ns", "str", "First name, upper case, no spaces or punctuation (Invisible Institute 'NS').", sensitivity="restricted"),
        _f("last_name_ns", "str", "Last name, upper case, no spaces or punctuation.", sensitivity="restricted"),
        _f("middle_initial", "str", "Middle initial.", required=False, sensitivity="restricted"),
        _f("suffix", "str", "Name suffix (JR, SR, II...).", required=False, sensitivity="restricted"),
        _f("appointed_date", "date", "Date appointed to the department: the strongest stable attribute.", required=False, sensitivity="restricted"),
        _f("birth_year", "int", "Year of birth.", required=False, sensitivity="restricted", minimum=1900, maximum=2015),
        _f("gender", "enum", "Gender as the department records it.", enum=GENDER),
        _f("race", "enum", "Race/ethnicity as the department records it, mapped to CRDC codes.", enum=OFFICER_RACE),
        _f("source", "str", "File the officer record was first read from."),
    ),
)

OFFICER_IDENTIFIERS = Table(
    name="officer_identifiers",
    description="Identifiers an officer has carried: stars are history, not keys.",
    grain="one row per (officer, identifier type, value, validity)",
    primary_key=("officer_uid", "id_type", "value", "source"),
    fields=(
        _f("officer_uid", "str", "Officer.", sensitivity="never", references="officers.officer_uid"),
        _f("id_type", "enum", "Kind of identifier.", enum=("star", "employee_id", "source_row_id")),
        _f("value", "str", "The identifier.", sensitivity="restricted"),
        _f("valid_from", "date", "First date the identifier is known valid.", required=False, sensitivity="restricted"),
        _f("valid_to", "date", "Last date the identifier is known valid.", required=False, sensitivity="restricted"),
        _f("source", "str", "File the identifier was read from."),
    ),
)

SRO_ASSIGNMENTS = Table(
    name="sro_assignments",
    description="Roster of officers assigned to schools: the list the Inspector General found missing.",
    grain="one row per (officer, school, start date)",
    primary_key=("officer_uid", "school_id", "start_date"),
    fields=(
        _f("officer_uid", "str", "Officer.", sensitivity="never", references="officers.officer_uid"),
        _f("school_id", "str", "School.", references="schools.school_id"),
        _f("school_year", "str", "School year the assignment starts in.", **_school_year),
        _f("start_date", "date", "First day of the assignment.", sensitivity="restricted"),
        _f("end_date", "date", "Last day of the assignment (blank while current).", required=False, sensitivity="restricted"),
        _f("role", "enum", "Role at the school.", enum=("sro", "school_liaison_supervisor", "other")),
        _f("source", "str", "Roster file."),
    ),
)

INCIDENTS = Table(
    name="incidents",
    description="Incidents (events) at or near schools, from any source.",
    grain="one row per incident",
    primary_key=("incident_id",),
    fields=(
        _f("incident_id", "str", "Package-minted id: hash of source system and source key.", sensitivity="never", source="SPEC §2.3"),
        _f("source_system", "enum", "Record system the incident comes from.", enum=SOURCE_SYSTEM),
        _f("source_record_id", "str", "RD number / case number / report number in the source.", sensitivity="restricted"),
        _f("occurred_at", "datetime", "When it happened (America/Chicago wall time).", sensitivity="restricted"),
        _f("school_year", "str", "School year YYYY-YY (1 July cut).", **_school_year),
        _f("school_id_occurrence", "str", "School where it happened.", required=False, references="schools.school_id"),
        _f("school_match_method", "enum", "How the school was assigned (SPEC §3.6).", enum=SCHOOL_MATCH_METHOD),
        _f("school_match_distance_m", "float", "Distance to the matched school in metres (distance matches).", required=False, minimum=0, sensitivity="restricted"),
        _f("school_match_ambiguous", "bool", "Two or more candidate schools: sent to review, never a silent pick."),
        _f("location_type", "enum", "Where it happened relative to a school.", enum=LOCATION_TYPE),
        _f("location_raw", "str", "Location description verbatim from the source.", required=False),
        _f("block_address", "str", "Hundred-block address (e.g. '032XX W ADAMS ST').", required=False, sensitivity="restricted"),
        _f("lat", "float", "Latitude of the (block-level) point.", required=False, sensitivity="restricted",
           minimum=-90, maximum=90),
        _f("lon", "float", "Longitude of the (block-level) point.", required=False, sensitivity="restricted",
           minimum=-180, maximum=180),
        _f("police_district", "str", "Police district of the incident.", required=False),
        _f("during_school_hours", "enum", "Inside school hours.", enum=YES_NO_UNKNOWN),
        _f("referral_source", "enum", "Who brought police in.",
           enum=("school_staff", "sro_initiated", "call_for_service", "other_police", "parent_or_other", "unknown")),
        _f("police_notified", "enum", "CPS 'police notification' / CEDS indicator.", enum=YES_NO_UNKNOWN),
        _f("notification_type", "enum", "SCC notification category.", required=False,
           enum=("emergency", "non_emergency", "required", "none", "unknown")),
        _f("offense_code_local", "str", "Local offense code (IUCR in Chicago).", required=False),
        _f("offense_code_nibrs", "str", "NIBRS / FBI offense code.", required=False),
        _f("offense_description", "str", "Offense description verbatim.", required=False),
        _f("offense_class", "enum", "Seriousness class.", enum=("felony", "misdemeanor", "ordinance", "status", "none", "unknown")),
        _f("geocode_precision", "enum", "Precision of the location.", enum=("exact", "block", "centroid", "none")),
        _f("source_file", "str", "Raw file (relative to the raw folder) of the first source row."),
    ),
)

INCIDENT_SUBJECTS = Table(
    name="incident_subjects",
    description="Persons involved in incidents. Juvenile data: restricted, never published as rows.",
    grain="one row per (incident, person)",
    primary_key=("subject_id",),
    fields=(
        _f("subject_id", "str", "Package-minted subject id.", sensitivity="never"),
        _f("incident_id", "str", "Incident.", sensitivity="never", references="incidents.incident_id"),
        _f("person_key", "str", "Salted hash of the person's identity; never published.", required=False, sensitivity="never"),
        _f("role", "enum", "Role in the incident.", enum=("suspect", "victim", "witness", "reporting_party", "other", "unknown")),
        _f("is_student", "enum", "Whether the person is a student (non-students are arrested on school property too).", enum=YES_NO_UNKNOWN, source="ST20b"),
        _f("school_id_enrolled", "str", "School the student is enrolled at (CRDC reporting school).", required=False, references="schools.school_id"),
        _f("age_at_incident", "int", "Age in years at the incident.", required=False, minimum=0, maximum=120, sensitivity="restricted"),
        _f("grade", "enum", "Grade level.", required=False, sensitivity="restricted",
           enum=("PK", "K", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "ungraded", "unknown")),
        _f("race_ethnicity", "enum", "Race/ethnicity, CRDC 7 categories + unknown.", enum=RACE_ETHNICITY, sensitivity="restricted"),
        _f("sex", "enum", "Sex.", enum=SEX, sensitivity="restricted"),
        _f("disability", "enum", "Disability status (CRDC split).", required=False, enum=("idea", "section_504_only", "none", "unknown"), sensitivity="restricted"),
        _f("english_learner", "enum", "English learner.", required=False, enum=YES_NO_UNKNOWN, sensitivity="restricted"),
        _f("source_file", "str", "Raw file of the subject row."),
    ),
)

INCIDENT_OFFICERS = Table(
    name="incident_officers",
    description="Officers involved in each incident, with whether they were the school's assigned SRO.",
    grain="one row per (incident, officer, role)",
    primary_key=("incident_id", "officer_uid", "role"),
    fields=(
        _f("incident_id", "str", "Incident.", sensitivity="never", references="incidents.incident_id"),
        _f("officer_uid", "str", "Officer.", sensitivity="never", references="officers.officer_uid"),
        _f("role", "enum", "Role in the incident.",
           enum=("arresting", "primary_contact", "assisting", "reporting", "sro_on_duty", "supervisor", "involved")),
        _f("is_assigned_sro", "bool", "Officer was assigned to the incident's school on its date (from sro_assignments)."),
        _f("source_file", "str", "Raw file of the officer row."),
    ),
)

OUTCOMES = Table(
    name="outcomes",
    description="Arrest / disposition outcomes, one or more per subject (SPEC §2.6).",
    grain="one row per outcome",
    primary_key=("outcome_id",),
    fields=(
        _f("outcome_id", "str", "Package-minted outcome id.", sensitivity="never"),
        _f("subject_id", "str", "Subject.", sensitivity="never", references="incident_subjects.subject_id"),
        _f("incident_id", "str", "Incident.", sensitivity="never", references="incidents.incident_id"),
        _f("decided_by_officer_uid", "str", "Arresting officer, otherwise the contact officer.", required=False, sensitivity="never", references="officers.officer_uid"),
        _f("police_contact", "bool", "A sworn member had in-person contact with the subject over this incident."),
        _f("taken_into_custody", "enum", "Governing flag for the alternatives-to-arrest metric.", enum=YES_NO_UNKNOWN),
        _f("nibrs_arrest_type", "enum", "NIBRS type of arrest.", required=False, enum=("O", "S", "T", "none", "unknown")),
        _f("nibrs_juv_disposition", "enum", "NIBRS disposition of arrestee under 18.", required=False, enum=("H", "R", "not_applicable", "unknown")),
        _f("warrant_or_alert_arrest", "bool", "Arrest on a warrant or investigative alert for non-school conduct."),
        _f("outcome_raw", "str", "Verbatim source label."),
        _f("outcome_source_vocab", "enum", "Vocabulary of the raw label.", enum=OUTCOME_VOCAB),
        _f("outcome_canonical", "enum", "Outcome on the SPEC §3.1 ladder.", enum=OUTCOME_CANONICAL, source="SPEC §3.1"),
        _f("diversion_timing", "enum", "Diversion before or after arrest.", enum=DIVERSION_TIMING),
        _f("station_adjustment_type", "enum", "Kind of station adjustment.", enum=STATION_ADJUSTMENT_TYPE),
        _f("outcome_date", "date", "Date of the outcome.", required=False, sensitivity="restricted"),
        _f("source_file", "str", "Raw file of the outcome row."),
    ),
)

FORCE_REPORTS = Table(
    name="force_reports",
    description="Use-of-force / de-escalation reports, one row per member-subject pair (SPEC §2.7).",
    grain="one row per (report, officer, subject)",
    primary_key=("force_report_id",),
    fields=(
        _f("force_report_id", "str", "Package-minted id of the (report, officer, subject) row.", sensitivity="never"),
        _f("source_report_id", "str", "Report number in the source (TRR id).", sensitivity="restricted"),
        _f("incident_id", "str", "Incident.", required=False, sensitivity="never", references="incidents.incident_id"),
        _f("subject_id", "str", "Subject.", required=False, sensitivity="never", references="incident_subjects.subject_id"),
        _f("officer_uid", "str", "Officer.", required=False, sensitivity="never", references="officers.officer_uid"),
        _f("report_type", "enum", "Kind of report.", enum=("cpd_trr", "other_uof", "deescalation_only")),
        _f("subject_resistance", "enum", "Subject's resistance (CPD categories).", enum=SUBJECT_RESISTANCE, source="CPD-TRR02"),
        _f("reportable_force_level", "enum", "Level of reportable force.", enum=FORCE_LEVEL, source="CPD-TRR21"),
        _f("force_options", "list[enum]", "Force options used (';'-joined, empty when none).", enum=FORCE_OPTIONS, required=False),
        _f("deescalation_documented", "enum", "Force-mitigation / de-escalation efforts documented.", enum=YES_NO_UNKNOWN),
        _f("deescalation_tactics", "list[enum]", "De-escalation tactics documented (';'-joined).", enum=DEESCALATION_TACTICS, required=False),
        _f("subject_injured", "enum", "Subject injured.", enum=("yes", "no", "alleged", "unknown"), sensitivity="restricted"),
        _f("member_injured", "enum", "Member injured.", enum=("yes", "no", "alleged", "unknown")),
        # -- added for issue #13 (TRR port): whether force_options are the whole story ------------
        _yn("actions_complete", "Every action/response line the source has for the report was read: 'no' when a "
            "line was rejected (e.g. an unmapped action) or the source lists no member action, so force_options "
            "and deescalation_tactics hold only what was read and deescalation_documented and subject_resistance "
            "are 'unknown'; blank when the source cannot tell.", required=False),
        _f("source_file", "str", "Raw file of the report row."),
    ),
)

COUNTS = Table(
    name="counts",
    description="Aggregate counts from sources that only publish totals (CPD dispositions by district, CRDC).",
    grain="one row per (source, unit, period, group, outcome)",
    kind="aggregate",
    primary_key=("source", "unit_type", "unit_id", "period", "group_type", "group", "outcome_raw"),
    fields=(
        _f("source", "str", "Source file family (e.g. 'cpd_juvenile_dispositions')."),
        _f("unit_type", "enum", "Kind of unit counted.", enum=UNIT_TYPE),
        _f("unit_id", "str", "Unit id (district number, school id, 'chicago')."),
        _f("period", "str", "Calendar year 'YYYY' or school year 'YYYY-YY'."),
        _f("group_type", "enum", "What the group splits on.", enum=GROUP_TYPE),
        _f("group", "str", "Group value, or 'all'."),
        _f("outcome_raw", "str", "Verbatim outcome label of the source row."),
        _f("outcome_canonical", "enum", "Outcome on the SPEC §3.1 ladder.", enum=OUTCOME_CANONICAL),
        _f("taken_into_custody", "enum", "Whether the counted outcome presupposes custody.", enum=YES_NO_UNKNOWN),
        _f("diversion_timing", "enum", "Diversion timing of the counted outcome.", enum=DIVERSION_TIMING),
        _f("station_adjustment_type", "enum", "Kind of station adjustment counted.", enum=STATION_ADJUSTMENT_TYPE),
        _f("n", "int", "Count; 0 means collected and zero.", minimum=0),
    ),
)

LEDGER = Table(
    name="ledger",
    description="Row accounting: every raw data row ends kept, merged (into which record) or rejected (why).",
    grain="one row per raw data row",
    kind="audit",
    primary_key=("source_file", "source_row"),
    fields=(
        _f("source_file", "str", "Raw file, relative to the raw folder."),
        _f("source_row", "int", "1-based data row in that file (header rows not counted).", minimum=1),
        _f("status", "enum", "What became of the row.", enum=("kept", "merged", "rejected")),
        _f("table", "str", "Canonical table the row went to (kept/merged).", required=False),
        _f("record_id", "str", "Id of the record kept, or merged into.", required=False, sensitivity="never"),
        _f("reason", "str", "Machine-readable reason code: why the row was merged or rejected, or, on a kept "
           "row, the flag of a value the checks blanked (e.g. out_of_range).", required=False),
        _f("message", "str", "What a person should know about this row.", required=False),
        _f("column", "str", "Column at fault (rejections and flags).", required=False),
        _f("value", "str", "Offending value (rejections and flags).", required=False, sensitivity="restricted"),
    ),
)

RATES = Table(
    name="rates",
    description="A rate per unit and group with its interval, unknown share and publication flags.",
    grain="one row per (measure, unit, school year, group)",
    kind="aggregate",
    primary_key=("measure", "unit_type", "unit_id", "school_year", "group_type", "group"),
    fields=(
        _f("measure", "enum", "Which rate (SPEC §3.2).", enum=MEASURES),
        _f("unit_type", "enum", "Kind of unit.", enum=UNIT_TYPE),
        _f("unit_id", "str", "Unit id (school id, hashed officer id, district, 'all')."),
        _f("school_year", "str", "School year, or 'all'."),
        _f("group_type", "enum", "What the group splits on.", enum=GROUP_TYPE),
        _f("group", "str", "Group value, or 'all'."),
        _f("numerator", "int", "Events counted in the numerator.", minimum=0),
        _f("denominator", "int", "Eligible units in the denominator.", minimum=0),
        _f("unknown", "int", "Eligible-looking records with unknown outcome, excluded from both.", minimum=0),
        _f("unknown_share", "float", "U = unknown / (denominator + unknown).", required=False, minimum=0, maximum=1),
        _f("rate", "float", "numerator / denominator.", required=False, minimum=0, maximum=1),
        _f("ci_low", "float", "Lower interval bound.", required=False, minimum=0, maximum=1),
        _f("ci_high", "float", "Upper interval bound.", required=False, minimum=0, maximum=1),
        _f("ci_method", "enum", "Interval method.", enum=("wilson", "wilson_cc", "jeffreys", "clopper_pearson")),
        _f("incomplete_outcomes", "bool", "U > 0.10: incomplete outcome data."),
        _f("withheld_unknown", "bool", "U > 0.25: not published, not ranked."),
        _f("unstable", "bool", "10 <= n < 20: unstable, show interval."),
    ),
)

DISCLOSURE_LOG = Table(
    name="disclosure_log",
    description="What suppression withheld in a published table, and why (SPEC §3.5 rule 8).",
    grain="one row per suppressed or recoded cell",
    kind="audit",
    primary_key=("table", "cell"),
    fields=(
        _f("table", "str", "Published table."),
        _f("cell", "str", "Cell key (row/column values)."),
        _f("rule", "enum", "Rule applied.",
           enum=("primary_small_count", "complement_small", "min_denominator", "all_or_none_withheld",
                 "all_or_none_coded", "complementary", "unknown_share")),
        _f("threshold", "int", "Threshold in force.", required=False),
        _f("message", "str", "Why it was withheld."),
    ),
)

# ---------------------------------------------------------------------------------------------
# Published tables (public tier of `sro-analysis publish`, src/sro_analysis/publish.py). Counts
# withheld by SPEC §3.5 are empty cells, so their count fields are optional here.

from dataclasses import replace as _replace  # noqa: E402

SUPPRESSION_RULES = DISCLOSURE_LOG.field("rule").enum
_WITHHOLDABLE = ("numerator", "denominator", "unknown")


def _published_rate_fields(*, unit: bool = True) -> tuple[Field, ...]:
    """Fields of the ``rates`` table as published: withheld counts become optional, plus display fields."""
    out = []
    for f in RATES.fields:
        if not unit and f.name in ("unit_type", "unit_id"):
            continue
        out.append(_replace(f, required=False) if f.name in _WITHHOLDABLE else f)
    return tuple(out) + (
        _f("rate_display", "str", "The rate as shown: one decimal of percent, '<=5%' / '>=95%' when an "
           "all-or-none result is coded, empty when withheld.", required=False),
        _f("suppressed", "bool", "The rate or one of its counts is withheld or coded (SPEC §3.5)."),
        _f("suppression_reason", "enum", "Why the rate was withheld or coded (see disclosure_log).",
           required=False, enum=SUPPRESSION_RULES),
    )


_RATE_KEY = ("measure", "unit_type", "unit_id", "school_year", "group_type", "group")

PUBLISHED_RATES_BY_SCHOOL = Table(
    name="rates_by_school",
    description="Alternatives-to-arrest, ATA-strict, custodial-arrest and force-per-contact rates per "
                "school and school year, with the city total (unit_type 'city'), suppressed (SPEC §3.5).",
    grain="one row per (measure, school or city, school year)",
    kind="aggregate",
    primary_key=_RATE_KEY,
    fields=_published_rate_fields(),
)

PUBLISHED_RATES_BY_OFFICER = Table(
    name="rates_by_officer",
    description="Rates per officer and school year: all officers (by deciding officer) and assigned SROs "
                "at their school. Officers are identified by a salted key or, on request, by name; never both.",
    grain="one row per (officer scope, officer, measure, school year)",
    kind="aggregate",
    primary_key=("officer_scope", "officer_key", "measure", "school_year", "group_type", "group"),
    fields=(
        _f("officer_scope", "enum", "Which contacts count: 'all' (officer decided the outcome) or "
           "'assigned_sro' (only while assigned to that school).", enum=("all", "assigned_sro")),
        _f("officer_key", "str", "Stable salted hash (12 hex) of the officer; present when officers are hashed. "
           "'unknown' = no deciding officer recorded.", required=False, pattern=r"^([0-9a-f]{12}|unknown)$"),
        _f("officer_name", "str", "Officer name 'LAST, FIRST' (SPEC §3.5 rule 6: names are public in CPD "
           "records); present only when the publisher chose names.", required=False),
    ) + _published_rate_fields(unit=False),
)

PUBLISHED_RATES_BY_GROUP = Table(
    name="rates_by_group",
    description="City-wide rates by race/ethnicity and by sex per school year, suppressed (SPEC §3.5).",
    grain="one row per (measure, school year, group type, group)",
    kind="aggregate",
    primary_key=_RATE_KEY,
    fields=_published_rate_fields(),
)

PUBLISHED_DEESCALATION_BY_RESISTANCE = Table(
    name="deescalation_by_resistance",
    description="Share of force reports documenting de-escalation, by subject resistance and school year "
                "(group 'all' = every report). Describes force incidents, not all contacts.",
    grain="one row per (school year, resistance category)",
    kind="aggregate",
    primary_key=_RATE_KEY,
    fields=_published_rate_fields(),
)

PUBLISHED_JUVENILE_DISPOSITIONS_BY_DISTRICT = Table(
    name="juvenile_dispositions_by_district",
    description="Formal-processing avoidance (station adjustments and post-arrest diversions among juvenile "
                "arrests) per police district and period, from aggregate disposition counts, with the city total.",
    grain="one row per (source, measure, district or city, period)",
    kind="aggregate",
    primary_key=("source",) + _RATE_KEY,
    fields=(_f("source", "str", "Source file family of the counts."),) + _published_rate_fields(),
)

PUBLISHED_SRO_ASSIGNMENTS_BY_SCHOOL_YEAR = Table(
    name="sro_assignments_by_school_year",
    description="The SRO roster at school-year granularity: which schools had assigned officers (no dates, "
                "no officers).",
    grain="one row per (school, school year)",
    kind="aggregate",
    primary_key=("school_id", "school_year"),
    fields=(
        _f("school_id", "str", "School.", references="schools.school_id"),
        _f("school_year", "str", "School year YYYY-YY.", **_school_year),
        _f("has_assigned_sro", "bool", "At least one officer was assigned to the school in that school year."),
        _f("assigned_sros", "int", "Officers assigned (empty when 1-9: shown as '<10').", required=False, minimum=0),
        _f("assigned_sros_display", "str", "The count as shown ('<10' when 1-9)."),
        _f("suppressed", "bool", "The count is withheld (SPEC §3.5 rule 3)."),
    ),
)

PUBLISHED_OUTCOME_COUNTS_BY_SCHOOL_YEAR = Table(
    name="outcome_counts_by_school_year",
    description="Eligible student police contacts (SPEC §3.2 conditions 1-5) per school, school year and outcome "
                "class, with margins ('all'), after primary and complementary suppression. The classes are the "
                "cells the published rates are made of, so the two tables are suppressed as one.",
    grain="one row per (school or 'all', school year, outcome class or 'all')",
    kind="aggregate",
    primary_key=("school_id", "school_year", "outcome_class"),
    fields=(
        _f("school_id", "str", "School, 'unknown' (no school matched) or 'all' (column total)."),
        _f("school_year", "str", "School year YYYY-YY.", **_school_year),
        _f("outcome_class", "enum", "Most severe outcome grouped as the rates use it (SPEC §3.2): "
           "'alternative_non_justice' (warning, school discipline / restorative, pre-arrest diversion: the "
           "ATA-strict numerator), 'citation_summons', 'custody' (custodial arrest, station adjustment, "
           "post-arrest diversion: the custodial-arrest numerator), 'all' (their sum, the rate denominator) and "
           "'outcome_unknown' (eligible, outcome unknown: not part of 'all').",
           enum=("alternative_non_justice", "citation_summons", "custody", "all", "outcome_unknown")),
        _f("n", "int", "Contacts (empty when withheld).", required=False, minimum=0),
        _f("n_display", "str", "The count as shown: the number, '<10' (1-9) or 'suppressed' (complementary)."),
        _f("suppressed", "bool", "The count is withheld (SPEC §3.5 rules 3-4)."),
    ),
)

PUBLISHED_LEDGER_SUMMARY = Table(
    name="ledger_summary",
    description="Row accounting per raw source file: rows read, kept, merged and rejected (with reasons). "
                "Counts of file rows, not of people.",
    grain="one row per raw source file",
    kind="audit",
    primary_key=("source_file",),
    fields=(
        _f("source_file", "str", "Raw file, relative to the raw folder."),
        _f("rows", "int", "Data rows in the file.", minimum=0),
        _f("kept", "int", "Rows kept as records.", minimum=0),
        _f("merged", "int", "Rows merged into another record.", minimum=0),
        _f("rejected", "int", "Rows rejected.", minimum=0),
        _f("rejected_by_reason", "str", "Rejections per reason code, 'reason: n; ...'.", required=False),
    ),
)

#: Tables of the public release, in publication order.
PUBLISHED_TABLES: tuple[str, ...] = (
    "schools", "rates_by_school", "rates_by_officer", "rates_by_group", "deescalation_by_resistance",
    "juvenile_dispositions_by_district", "sro_assignments_by_school_year", "outcome_counts_by_school_year",
    "ledger_summary", "disclosure_log",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        SCHOOLS, SCHOOL_DIRECTORY, SCHOOL_NAMES, SCHOOL_ENROLLMENT, OFFICERS, OFFICER_IDENTIFIERS, SRO_ASSIGNMENTS,
        INCIDENTS, INCIDENT_SUBJECTS, INCIDENT_OFFICERS, OUTCOMES, FORCE_REPORTS, COUNTS,
        LEDGER, RATES, DISCLOSURE_LOG,
        PUBLISHED_RATES_BY_SCHOOL, PUBLISHED_RATES_BY_OFFICER, PUBLISHED_RATES_BY_GROUP,
        PUBLISHED_DEESCALATION_BY_RESISTANCE, PUBLISHED_JUVENILE_DISPOSITIONS_BY_DISTRICT,
        PUBLISHED_SRO_ASSIGNMENTS_BY_SCHOOL_YEAR, PUBLISHED_OUTCOME_COUNTS_BY_SCHOOL_YEAR,
        PUBLISHED_LEDGER_SUMMARY,
    )
}

#: Tables a cleaned Dataset holds (audit / metric outputs live elsewhere).
CANONICAL_TABLES: tuple[str, ...] = (
    "schools", "school_directory", "school_names", "school_enrollment", "officers", "officer_identifiers",
    "sro_assignments", "incidents", "incident_subjects", "incident_officers", "outcomes",
    "force_reports", "counts",
)


def table(name: str) -> Table:
    """Return the registered table ``name``; the error lists the known tables."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


# =============================================================================================
# ADDITION (NYC): the NYC school directory, its buildings and the NYPD Student Safety Act campus
# links (the directory rows are kept apart from the canonical ``school_directory`` until the NYC
# source folds them into it). Written by sources/nyc_schools_reading.py and link/campuses.py; kept in one block so it
# merges as a pure addition. The NYC adapter fills the existing ``schools.co_located_group`` with
# the DOE building code (the shared-building group SPEC §2.1 asks for).

BOROUGH = ("brooklyn", "manhattan", "bronx", "queens", "staten_island", "outside_city", "unknown")
#: How a campus string was placed in a building (link/campuses.py, first that succeeds).
CAMPUS_LINK_METHOD = (
    "crosswalk", "not_a_school", "school_code", "name_exact", "school_number", "building_number",
    "campus_street", "campus_at", "name_fuzzy", "none",
)
#: Why a campus got its building or none.
CAMPUS_LINK_REASON = (
    "linked", "crosswalk", "crosswalk_none", "not_a_school", "ambiguous", "low_score", "no_match",
    "host_unlinked", "command_mismatch",
)

NYC_DIRECTORY_ROWS = Table(
    name="nyc_directory_rows",
    description="NYC DOE school directory (School Safety Report exports): one row per raw row, i.e. per school "
                "site per school year, plus the DOE's building-total rows (is_building_total).",
    grain="one row per raw directory row",
    kind="reference",
    primary_key=("source_file", "source_row"),
    fields=(
        _f("school_year", "str", "School year YYYY-YY of the export row.", **_school_year),
        _f("dbn", "str", "District-borough-number school id (blank on building totals; absent in 2016-17).",
           required=False),
        _f("location_code", "str", "DOE location code: borough letter + school number (K410).", required=False),
        _f("building_code", "str", "DOE building code: the campus every school of the building shares.",
           required=False),
        _f("building_code_source", "enum", "Where building_code comes from: the row, or carried from another year "
           "by BIN or location code.", required=False, enum=("source", "bin", "location_code")),
        _f("location_name", "str", "School (or building-total) name as the export writes it, cut at 50 characters.",
           required=False),
        _f("address", "str", "Street address, upper case.", required=False),
        _f("borough", "enum", "Borough of the row.", enum=BOROUGH),
        _f("district", "str", "Geographical district code.", required=False),
        _f("register", "int", "Enrolment (register) of the school; NA where the export has none or cannot be trusted "
           "(2016-17).", required=False, minimum=0),
        _f("building_name", "str", "DOE building name (often '<address> CONSOLIDATED LOCATION').", required=False),
        _f("schools_in_building", "str", "The export's list of the building's schools, verbatim.", required=False),
        _f("lat", "float", "Latitude (WGS84).", required=False, minimum=-90, maximum=90),
        _f("lon", "float", "Longitude (WGS84).", required=False, minimum=-180, maximum=180),
        _f("bin", "str", "NYC building identification number.", required=False),
        _f("is_building_total", "bool", "The row is the building's CONSOLIDATED LOCATION total, not a school."),
        _f("layout", "enum", "Export layout the row was read with.",
           enum=("school_safety_2010_2016", "school_safety_2016_17")),
        _f("source_file", "str", "Raw file the row comes from."),
        _f("source_row", "int", "1-based data row in that file.", minimum=1),
    ),
)

BUILDINGS = Table(
    name="buildings",
    description="DOE buildings (campuses) per school year: the unit of NYPD Student Safety Act rates and maps.",
    grain="one row per (building, school year)",
    kind="reference",
    primary_key=("building_code", "school_year"),
    fields=(
        _f("building_code", "str", "DOE building code."),
        _f("school_year", "str", "School year YYYY-YY of the directory.", **_school_year),
        _f("borough", "enum", "Borough.", enum=BOROUGH),
        _f("building_name", "str", "DOE building name, else the first school's name."),
        _f("address", "str", "Most common street address of its schools.", required=False),
        _f("lat", "float", "Median latitude of its schools (WGS84).", required=False, minimum=-90, maximum=90),
        _f("lon", "float", "Median longitude of its schools (WGS84).", required=False, minimum=-180, maximum=180),
        _f("register_total", "int", "Sum of its schools' registers; NA when any school's register is unknown.",
           required=False, minimum=0),
        _f("register_building_total", "int", "The DOE's own CONSOLIDATED LOCATION register, where exported.",
           required=False, minimum=0),
        _f("n_schools", "int", "Distinct schools (DBN, location code) listed in the building.", minimum=1),
        _f("dbns", "str", "DBNs in the building, sorted, ';'-joined."),
        _f("location_codes", "str", "Location codes in the building, sorted, ';'-joined."),
    ),
)

CAMPUS_LINKS = Table(
    name="campus_links",
    description="Audit of NYPD Student Safety Act campus strings placed in DOE buildings: method, score, "
                "ambiguity and candidates for every distinct string.",
    grain="one row per distinct campus string",
    kind="audit",
    primary_key=("campus",),
    fields=(
        _f("campus", "str", "School Campus cell, verbatim."),
        _f("campus_name", "str", "The name part (before '@' and the borough suffix)."),
        _f("campus_host", "str", "Host after '@' (where the intervention happened).", required=False),
        _f("campus_aliases", "str", "Parentheticals that are not a borough, '; '-joined.", required=False),
        _f("borough", "enum", "Borough the string names (suffix or code letter).", enum=BOROUGH),
        _f("borough_source", "enum", "Where the borough comes from.", enum=("suffix", "code_letter", "none")),
        _f("building_code", "str", "DOE building the campus is; NA when not linked.", required=False),
        _f("method", "enum", "How it was placed.", enum=CAMPUS_LINK_METHOD),
        _f("score", "float", "Match score (1 for code, number and exact matches).", required=False, minimum=0),
        _f("ambiguous", "bool", "Two or more buildings fit: left unlinked for review."),
        _f("n_candidates", "int", "Buildings any method proposed.", minimum=0),
        _f("candidates", "str", "Candidate buildings: 'code method score (target)', '; '-joined; code '?' is a "
           "school site the directory lists without a building code.", required=False),
        _f("matched_name", "str", "Directory name (or evidence) the link rests on.", required=False),
        _f("reason", "enum", "Why the campus has its building or none.", enum=CAMPUS_LINK_REASON),
    ),
)

#: NYPD Student Safety Act vocabularies (schema/maps/nypd_ssa_*.csv value columns, plus unknown).
NYPD_SSA_REPORTED_AS = ("ata", "child_in_crisis", "non_discretionary_pickup")
NYPD_ENFORCEMENT_BY = (
    "school_safety_agent", "patrol", "school_safety_task_force", "detective_bureau", "transit_bureau",
    "housing_bureau", "school_staff", "non_nypd", "not_applicable", "unknown",
)
#: Who acted, in the three groups the measures split on (School Safety Agent, patrol, other).
NYPD_ENFORCEMENT_GROUP = ("school_safety_agent", "patrol", "other", "not_applicable", "unknown")
NYPD_RESTRAINT = ("metal", "velcro", "none", "unknown")
NYPD_SCANNING = ("full_time", "none", "random", "unannounced", "hand_wand", "unknown")
NY_OFFENSE_LEVEL = ("felony", "misdemeanor", "violation", "none", "unknown")
#: Age groups of the precinct files (years at the intervention; 22 and over is not a student).
NYC_AGE_GROUP = ("under_13", "13_14", "15_17", "18_21", "22_and_over", "unknown")
_quarter = dict(pattern=r"^\d{4}Q[1-4]$")

_NYC_OUTCOME_FIELDS = (
    _f("intervention_raw", "str", "Intervention Type cell, verbatim (Arrested, Summons, Juvenile Report, Mitigated, "
       "Child in Crisis, PINS / Warrant)."),
    _f("outcome_canonical", "enum", "Outcome on the SPEC 3.1 ladder (outcome_map_nypd_ssa.csv).",
       enum=OUTCOME_CANONICAL, source="SPEC §1.6b"),
    _yn("taken_into_custody", "Custody the outcome presupposes (Arrested, PINS / Warrant: yes)."),
    _f("role", "enum", "suspect, or other for a Child in Crisis (not a suspect contact).",
       enum=("suspect", "victim", "witness", "reporting_party", "other", "unknown")),
    _f("warrant_or_alert_arrest", "bool", "PINS / Warrant pick-up: non-discretionary, outside the ATA denominator."),
    _yn("in_ata_denominator", "The intervention type is one of the four discretionary outcomes of E "
        "(Arrested, Summons, Juvenile Report, Mitigated)."),
    _f("reported_as", "enum", "Which measure the intervention belongs to: ata, child_in_crisis or "
       "non_discretionary_pickup.", enum=NYPD_SSA_REPORTED_AS),
)

NYC_INTERVENTIONS = Table(
    name="nyc_interventions",
    description="NYPD Student Safety Act school-file rows: one row per intervention on a school campus "
                "(a police contact), with the SPEC 1.6b outcome, restraints, force, who acted and the charges. "
                "The files give a quarter, not a date, and no person: these are instances, not students.",
    grain="one row per intervention (raw school-file row)",
    primary_key=("intervention_id",),
    fields=(
        _f("intervention_id", "str", "Package-minted id (quarter, the row's cells, and its rank among identical "
           "rows of the quarter: the files carry no id).", sensitivity="never"),
        _f("quarter", "str", "Calendar quarter of the report, YYYYQn (from the file name, sheet name or title).",
           **_quarter),
        _f("school_year", "str", "School year YYYY-YY of the quarter (Q1, Q2: the year before; Q3, Q4: the year "
           "that starts).", **_school_year),
        _f("remote_schooling", "bool", "The quarter falls in NYC's remote-schooling period (2020Q2 to 2021Q2): "
           "shown and flagged, never pooled silently."),
        _f("campus", "str", "School Campus cell, verbatim (name + School Safety Division borough)."),
        _f("building_code", "str", "DOE building the campus was linked to (link step; campus_links says how).",
           required=False),
        *_NYC_OUTCOME_FIELDS,
        _yn("is_student", "Greater Than 21 = No (the report's only student marker); Yes: not a student."),
        _f("incident_location_raw", "str", "Incident Location cell, verbatim (On-Site / Off-Site).", required=False),
        _yn("on_campus", "On-Site."),
        _f("location_type", "enum", "On-Site: school_building (building and grounds are not told apart); "
           "Off-Site: other.", enum=LOCATION_TYPE),
        _f("scanning_type", "enum", "Metal-detector scanning at the campus.", enum=NYPD_SCANNING),
        _yn("scanning_incident", "The intervention came from scanning."),
        _yn("school_related", "School Related."),
        _yn("school_hours", "During school hours."),
        _f("enforcement_by_raw", "str", "Enforcement By cell, verbatim (SSA, PATROL, UTF, DOE, N/A, ...).",
           required=False),
        _f("enforcement_by", "enum", "Who acted (nypd_ssa_enforcement_by.csv).", enum=NYPD_ENFORCEMENT_BY),
        _f("enforcement_group", "enum", "School Safety Agent, patrol, other (every other unit or agency), "
           "not_applicable (N/A: no enforcement), unknown.", enum=NYPD_ENFORCEMENT_GROUP),
        _f("restraint_type", "enum", "Restraints: metal (handcuffs), velcro, none.", enum=NYPD_RESTRAINT),
        _yn("restrained", "Metal or Velcro restraints were used."),
        _yn("force", "Force (Y/N)."),
        _f("type_of_force", "str", "Type Of Force cell, verbatim (None, Physical Force).", required=False),
        _yn("type_of_force_used", "Type Of Force names a force (Physical Force)."),
        _f("top_charge", "str", "Top Charge (arrests), verbatim.", required=False),
        _f("summons_charge", "str", "Summons Charge, verbatim.", required=False),
        _f("classification_raw", "str", "Classification cell (F/M/V), verbatim.", required=False),
        _f("offense_class", "enum", "Seriousness class (violation -> ordinance; none: no charge).",
           enum=("felony", "misdemeanor", "ordinance", "status", "none", "unknown")),
        _f("ny_offense_level", "enum", "New York offense level (felony, misdemeanor, violation).",
           enum=NY_OFFENSE_LEVEL),
        _f("source_file", "str", "Raw file of the row."),
        _f("source_row", "int", "1-based data row in that file.", minimum=1),
    ),
)

NYC_PRECINCT_COUNTS = Table(
    name="nyc_precinct_counts",
    description="NYPD Student Safety Act precinct-file rows counted by quarter, precinct, intervention type, "
                "restraints, sex, race and age group (the only NYC source with demographics; the same "
                "interventions as the school files, projected by precinct).",
    grain="one row per (quarter, precinct, intervention, restraints, sex, race label, age group)",
    kind="aggregate",
    primary_key=("cell_id",),
    fields=(
        _f("cell_id", "str", "Package-minted id of the cell.", sensitivity="never"),
        _f("quarter", "str", "Calendar quarter YYYYQn.", **_quarter),
        _f("school_year", "str", "School year YYYY-YY of the quarter.", **_school_year),
        _f("remote_schooling", "bool", "Quarter of remote schooling (2020Q2 to 2021Q2)."),
        _f("precinct", "str", "NYPD precinct number (Pct)."),
        *_NYC_OUTCOME_FIELDS,
        _f("restraint_type", "enum", "Restraints.", enum=NYPD_RESTRAINT),
        _yn("restrained", "Metal or Velcro restraints were used."),
        _f("sex", "enum", "Gender cell mapped (nypd_ssa_sex.csv).", enum=SEX, sensitivity="restricted"),
        _f("race_raw", "str", "Race cell, verbatim (NYPD categories).", sensitivity="restricted"),
        _f("race_ethnicity", "enum", "Race cell mapped to CRDC categories (nypd_ssa_race.csv).",
           enum=RACE_ETHNICITY, sensitivity="restricted"),
        _f("age_group", "enum", "Age group (unknown: Age blank).", enum=NYC_AGE_GROUP, sensitivity="restricted"),
        _yn("is_student", "Age 21 or under: yes; over 21: no; Age blank: unknown."),
        _f("n", "int", "Rows of the precinct file in the cell.", minimum=1),
        _f("source_file", "str", "Raw file of the cell's rows."),
    ),
)

NYC_CAMPUS_CROSSWALK = Table(
    name="nyc_campus_crosswalk",
    description="A user's hand-made campus crosswalk (campus string [+ borough] -> DOE building code): it "
                "overrides the campus linker; building code none = deliberately unlinked.",
    grain="one row per crosswalk row",
    kind="reference",
    primary_key=("source_file", "source_row"),
    fields=(
        _f("campus", "str", "Campus string as the SSA files write it (with or without the borough suffix)."),
        _f("borough", "enum", "Borough the row is for (unknown: not given; then the campus string must match "
           "whole).", enum=BOROUGH),
        _f("building_code", "str", "DOE building code; NA = the user says no building.", required=False),
        _f("source_file", "str", "Crosswalk file."),
        _f("source_row", "int", "1-based data row in that file.", minimum=1),
    ),
)

TABLES.update({t.name: t for t in (NYC_DIRECTORY_ROWS, BUILDINGS, CAMPUS_LINKS, NYC_INTERVENTIONS,
                                   NYC_PRECINCT_COUNTS, NYC_CAMPUS_CROSSWALK)})
CANONICAL_TABLES = CANONICAL_TABLES + ("nyc_directory_rows", "nyc_campus_crosswalk", "nyc_interventions",
                                       "nyc_precinct_counts", "buildings")
# END ADDITION (NYC)


# =============================================================================================
# BEGIN NIBRS additions (branch `nibrs`): FBI NIBRS Crime Data Explorer state-year tables.
# Additions only: two reference tables, optional fields on incidents and outcomes, and one new
# value in each of two enums. Existing tables are rebuilt here with the extra fields appended
# (dataclasses.replace), so no line above changes; a merge can fold this block into the
# definitions above.

#: ``nibrs``: FBI NIBRS incident reports (CDE downloads).
SOURCE_SYSTEM = SOURCE_SYSTEM + ("nibrs",)
#: ``school_unspecified``: at a school, building or grounds not recorded. NIBRS location code 53
#: (School-Elementary/Secondary) and legacy 22 (School/College) do not say which; mapping them
#: to ``school_building`` would claim a precision the source lacks.
LOCATION_TYPE = LOCATION_TYPE + ("school_unspecified",)
#: Why a NIBRS location needs care: ``legacy_school_college`` (code 22 mixes colleges with K-12
#: schools), ``several_locations`` (the incident's offenses are at different places and none
#: decides), ``no_offense`` (no offense row to take a location from).
NIBRS_LOCATION_FLAG = ("none", "legacy_school_college", "several_locations", "no_offense")

AGENCIES = Table(
    name="agencies",
    description="Reporting agencies per data year (NIBRS: ORI and name). An agency absent from a year's "
                "incidents did not report that year; it is never counted as zero.",
    grain="one row per (agency ORI, data year)",
    kind="reference",
    primary_key=("agency_ori", "data_year"),
    fields=(
        _f("agency_ori", "str", "FBI Originating Agency Identifier (9 characters).", pattern=r"^[A-Z0-9]{9}$"),
        _f("data_year", "int", "Data year (NIBRS submission year).", minimum=1990, maximum=2100),
        _f("agency_name", "str", "Agency name as the source publishes it (CDE PUB_AGENCY_NAME; legacy "
           "agency_name). Names are spelled differently across CDE schemas: the ORI is the key."),
        _f("state_abbr", "str", "State postal abbreviation.", required=False),
        _f("agency_type", "str", "Agency type as the source writes it (City, County, University or College, ...).",
           required=False),
        _f("population", "int", "Population covered, as the source gives it.", required=False, minimum=0),
        _f("nibrs_participated", "enum", "The source's PARTICIPATED flag (12 months or zero reports); unknown "
           "where the source lacks it (legacy CDE tables) or contradicts itself.", enum=YES_NO_UNKNOWN),
        _f("reported", "bool", "At least one incident of this agency and data year was kept."),
        _f("incident_months", "int", "Calendar months of the data year with at least one kept incident "
           "(fewer than 12: partial reporting).", minimum=0, maximum=12),
        _f("source_agency_id", "str", "CDE agency_id the incident rows refer to.", required=False),
        _f("source_file", "str", "Raw file of the agency row."),
    ),
)

NIBRS_CODES = Table(
    name="nibrs_codes",
    description="The NIBRS code-table rows each file used: which numeric id meant which code in that "
                "download (ids are looked up per file, never assumed stable).",
    grain="one row per (code table, file, id)",
    kind="reference",
    primary_key=("code_table", "source_file", "source_id"),
    fields=(
        _f("code_table", "enum", "Which CDE code table.",
           enum=("location_type", "arrest_type", "offense_type", "age", "race", "ethnicity", "cleared_except")),
        _f("source_id", "str", "Numeric id of the code in the download."),
        _f("code", "str", "NIBRS code (e.g. 53, S, 13B)."),
        _f("name", "str", "Name of the code as the download writes it.", required=False),
        _f("source_file", "str", "Raw file of the code row."),
    ),
)

_NIBRS_LOCATION_FIELDS = (
    _f("nibrs_location_code", "str", "NIBRS location code (53 = K-12 school, 22 = legacy School/College, "
       "52 = college).", required=False, pattern=r"^\d{2}$"),
    _f("location_flag", "enum", "Why the NIBRS location needs care (legacy code 22, several locations).",
       required=False, enum=NIBRS_LOCATION_FLAG),
)


def _extended(t: Table, extra: tuple[Field, ...] = (), enums: dict[str, tuple[str, ...]] | None = None) -> Table:
    """``t`` with fields ``extra`` appended and the enums of named fields replaced."""
    fields = tuple(_replace(f, enum=enums[f.name]) if enums and f.name in enums else f for f in t.fields)
    return _replace(t, fields=fields + extra)


INCIDENTS = _extended(INCIDENTS, (
    _f("agency_ori", "str", "ORI of the reporting agency (NIBRS).", required=False, references="agencies.agency_ori"),
    _f("data_year", "int", "Data year of the incident report (NIBRS submission year).", required=False,
       minimum=1990, maximum=2100),
    *_NIBRS_LOCATION_FIELDS,
    _f("nibrs_cleared_except", "enum", "NIBRS exceptional clearance code (E = juvenile, no custody; N = not "
       "cleared exceptionally).", required=False, enum=("A", "B", "C", "D", "E", "N")),
), enums={"source_system": SOURCE_SYSTEM, "location_type": LOCATION_TYPE})

OUTCOMES = _extended(OUTCOMES, (
    _f("nibrs_arrest_offense_code", "str", "NIBRS offense code the arrestee was arrested for.", required=False),
    *_NIBRS_LOCATION_FIELDS[:1],
    _f("location_type", "enum", "Where the offense the arrest is for happened (NIBRS: arrestee placed at "
       "the location of its arrest offense, see location_placement).", required=False, enum=LOCATION_TYPE),
    *_NIBRS_LOCATION_FIELDS[1:],
    _f("location_placement", "enum", "How the arrest was placed: offense_type (the incident's offense of the "
       "arrest offense type), single_location (no such offense; all offenses at one place), not_placed.",
       required=False, enum=("offense_type", "single_location", "not_placed")),
    _f("nibrs_multiple_indicator", "enum", "NIBRS Data Element 44, multiple arrestee segments indicator: C = the "
       "arrest is counted under this incident; M = the same arrest is counted under another incident of the "
       "arrestee (the FBI's arrest counts take it once; measures count it per incident and show M apart); "
       "N = not applicable (one incident).",
       required=False, enum=("C", "M", "N", "unknown")),
))

TABLES.update({t.name: t for t in (INCIDENTS, OUTCOMES, AGENCIES, NIBRS_CODES)})
CANONICAL_TABLES = CANONICAL_TABLES + ("agencies", "nibrs_codes")
# END NIBRS additions
# =============================================================================================
