"""Report sets: which notebooks run on which Dataset, and the one number each set leads with.

A report set is a registration, not machinery: a source family, the Dataset folder ``make
report`` cleans it into, the detail notebooks that apply to it and a *headline* function that
turns the Dataset into the number the index and the summary page lead with. Adding a set (NYC,
Louisiana) is one :class:`ReportSet` entry in :data:`REPORT_SETS`.

The headline function takes ``(dataset, min_n)`` and returns a :class:`Headline`. Every number
in it has passed the publication rules (the suppression entry point of
:mod:`sro_analysis.metrics.suppression`); a source whose records cannot answer the headline
question says so in :attr:`Headline.note` and leads with what *is* computed.

Example:
    >>> [s.key for s in REPORT_SETS]
    ['synthetic', 'chicago']
    >>> report_set("chicago").family
    'chicago'
    >>> report_set_for_source("synthetic").key
    'synthetic'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from sro_analysis.notebooks import count_text

__all__ = ["DETAIL_NOTEBOOKS", "REPORT_SETS", "SUMMARY_NOTEBOOK", "Headline", "ReportSet", "ata_headline",
           "chicago_headline", "percent", "period_words", "report_set", "report_set_for_source",
           "school_tiers_sentence"]

#: The summary page every set opens with.
SUMMARY_NOTEBOOK = "00-summary"
#: The detailed pages of a set of record-level contacts (synthetic, Chicago).
DETAIL_NOTEBOOKS = ("01-data-quality", "02-alternatives-by-school", "03-alternatives-by-officer",
                    "04-de-escalation", "05-disparities")


@dataclass(frozen=True)
class Headline:
    """The number a report set leads with, in words a reader can quote.

    ``value`` is the published rate ("56.1%") or "" when nothing may be published; ``interval``
    its 95% interval in words; ``basis`` what it counts; ``note`` what the records cannot show
    (e.g. why no alternatives-to-arrest rate exists); ``trend`` the same measure per school year
    (suppressed rates table) for the summary chart, or None; ``sources`` the record families the
    number comes from (the chart's source line); ``instead_of`` the measure this one stands in
    for when the records cannot give it (pages then say so first); ``findings`` further plain
    sentences for the summary page; ``period`` the years the number covers, in words.
    """

    measure: str
    value: str
    interval: str = ""
    basis: str = ""
    note: str = ""
    trend: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    sources: tuple[str, ...] = ()
    instead_of: str = ""
    findings: tuple[str, ...] = ()
    period: str = ""

    @property
    def computed(self) -> bool:
        """Whether a number is published (a withheld or impossible rate is not)."""
        return bool(self.value)

    def sentence(self) -> str:
        """One plain line: measure, value and interval, or why there is none.

        Example:
            >>> Headline("Alternatives-to-arrest rate", "56.1%", "54.2% – 58.0%", "1,439 of 2,565 contacts").sentence()
            'Alternatives-to-arrest rate: 56.1% (95% interval 54.2% – 58.0%; 1,439 of 2,565 contacts)'
        """
        if self.instead_of:
            return f"{self.instead_of}: not computed. {self.note}".strip()
        if not self.computed:
            return f"{self.measure}: not computed. {self.note}".strip()
        detail = "; ".join(part for part in (f"95% interval {self.interval}" if self.interval else "", self.basis)
                           if part)
        return f"{self.measure}: {self.value}" + (f" ({detail})" if detail else "")

    def as_dict(self) -> dict:
        """JSON-ready fields (site.json), with ``computed`` and without the trend table."""
        out = {name: getattr(self, name)
               for name in ("measure", "value", "interval", "basis", "note", "instead_of", "period")}
        return {**out, "computed": self.computed, "sentence": self.sentence()}


@dataclass(frozen=True)
class ReportSet:
    """One report set: family, Dataset folder (relative to the project), notebooks, headline."""

    key: str
    title: str
    family: str
    dataset: str
    headline: Callable[..., Headline]
    notebooks: tuple[str, ...] = DETAIL_NOTEBOOKS

    @property
    def pages(self) -> tuple[str, ...]:
        """Notebook stems in page order: the summary first."""
        return (SUMMARY_NOTEBOOK, *self.notebooks)


def percent(value: float) -> str:
    """A share as a reader reads it.

    Example:
        >>> percent(0.56123)
        '56.1%'
    """
    return f"{100 * value:.1f}%"


def period_words(periods) -> str:
    """The years a number covers: school years ("2018-19") or calendar years ("2014").

    Example:
        >>> period_words(["2019-20", "2018-19", "unknown"]), period_words(["2014"])
        ('school years 2018-19 to 2019-20', 'calendar year 2014')
    """
    years = sorted({str(p) for p in periods} - {"unknown", "all", "nan"})
    if not years:
        return ""
    kind = "school year" if "-" in years[0] else "calendar year"
    return f"{kind} {years[0]}" if len(years) == 1 else f"{kind}s {years[0]} to {years[-1]}"


def _published(table: pd.DataFrame | None, min_n: int) -> pd.DataFrame:
    """A rates table after the publication rules (the suppression entry point); empty stays empty."""
    from sro_analysis.metrics.suppression import suppress_rates
    from sro_analysis.notebooks import rules_for

    if table is None or len(table) == 0:
        return pd.DataFrame()
    return suppress_rates(pd.DataFrame(table), rules=rules_for(min_n)).table


def _published_row(rates: pd.DataFrame, min_n: int) -> pd.Series | None:
    """The single row of a whole-area rates table after suppression (None when nothing is counted)."""
    if rates is None or len(rates) == 0 or int(rates["denominator"].sum()) == 0:
        return None
    return _published(rates, min_n).iloc[0]


def _from_row(measure: str, row: pd.Series | None, counted: str, *, empty_note: str,
              trend: pd.DataFrame | None = None) -> Headline:
    if row is None:
        return Headline(measure, "", note=empty_note, trend=trend)
    if bool(row["suppressed"]) and row.get("suppression_reason") != "all_or_none_coded":
        return Headline(measure, "", note="Withheld under the publication rules (too few contacts, or a count "
                                          "of 1-9 behind it).", trend=trend)
    interval = "" if pd.isna(row["ci_low"]) else f"{percent(row['ci_low'])} – {percent(row['ci_high'])}"
    basis = f"{count_text(row['numerator_display'])} of {count_text(row['denominator_display'])} {counted}"
    if not pd.isna(row.get("unknown_share")):
        basis += f"; {100 * float(row['unknown_share']):.0f}% more had no recorded outcome and are not counted"
    return Headline(measure, str(row["rate_display"]), interval, basis, trend=trend)


def ata_headline(ds, min_n: int = 10) -> Headline:
    """The alternatives-to-arrest rate over every eligible contact (SPEC §3.2), all school years."""
    from sro_analysis.metrics.rates import rates

    row = _published_row(rates(ds, measure="ata", by="all"), min_n)
    found = _from_row("Alternatives-to-arrest rate", row, "student contacts with a known outcome",
                      empty_note="No contact in these records meets the definition (a student suspect, "
                                 "school-related, with police contact and a known outcome).",
                      trend=_published(rates(ds, measure="ata", by="school_year"), min_n))
    if not found.computed:
        return found
    years = period_words(found.trend["school_year"]) if len(found.trend) else ""
    return replace(found, period=years,
                   findings=(school_tiers_sentence(rates(ds, measure="ata", by="school"), min_n),))


def school_tiers_sentence(by_school: pd.DataFrame, min_n: int = 10) -> str:
    """How many schools the empirical-Bayes tiers set apart from the area rate, in one sentence."""
    from sro_analysis.metrics.shrinkage import EB_TIERS, empirical_bayes
    from sro_analysis.notebooks import comparable_units

    compared, drawn, target = comparable_units(by_school, min_n=min_n)
    if len(drawn) < 2:
        return "Fewer than two schools have a rate that may be published, so schools are not compared."
    tiers = empirical_bayes(drawn, x="numerator", n="denominator", unit="unit_id", min_n=min_n,
                            target=target)["tier"].value_counts()
    below, above = int(tiers.get(EB_TIERS[0], 0)), int(tiers.get(EB_TIERS[2], 0))
    return (f"Of {len(drawn)} schools with a publishable rate, {below} {'is' if below == 1 else 'are'} credibly "
            f"below the rate pooled over the compared schools ({percent(target)}) and {above} credibly above "
            f"it (empirical-Bayes tiers); the others cannot be told apart from it. {len(compared) - len(drawn)} "
            "more schools are not compared because their rate is withheld (too few contacts, or a count of 1-9). "
            "Details: [Alternatives to arrest, by school](02-alternatives-by-school.html).")


#: Why Chicago has no alternatives-to-arrest rate, in the words the index and summary use.
CHICAGO_NOTE = ("Chicago's public files never identify students: the crimes export has no age or student "
                "status, and the juvenile files are counts by police district. No contact can be placed in "
                "the alternatives-to-arrest definition, so no ATA rate is computed. Shown instead: the "
                "share of juvenile arrests closed by a station adjustment rather than a referral to court "
                "(city-wide, all police districts), which cannot be tied to a school.")


def chicago_headline(ds, min_n: int = 10) -> Headline:
    """Chicago: no ATA rate (students are never identified); the station-adjustment share instead.

    Example:
        >>> from sro_analysis.dataset import Dataset
        >>> from sro_analysis.metrics.rates import example_counts
        >>> ds = Dataset.empty(source="chicago")
        >>> ds.tables["counts"] = example_counts()
        >>> found = chicago_headline(ds)
        >>> found.measure, found.value, found.basis
        ('Juvenile arrests kept out of court (station adjustments)', '31.9%', '406 of 1,274 juvenile arrests with a recorded disposition')
    """
    from sro_analysis.metrics.rates import rates_from_counts

    measure = "Juvenile arrests kept out of court (station adjustments)"
    counts = ds.counts[ds.counts["source"] == "cpd_juvenile_dispositions"]
    if counts.empty:
        return Headline(measure, "", note=CHICAGO_NOTE + " The juvenile disposition counts are not in this Dataset.",
                        instead_of="Alternatives-to-arrest rate")
    row = _published_row(rates_from_counts(counts, measure="fpa", by="all"), min_n)
    found = _from_row(measure, row, "juvenile arrests with a recorded disposition", empty_note="")
    trend = _published(rates_from_counts(counts, measure="fpa", by="school_year"), min_n)
    return Headline(found.measure, found.value, found.interval, found.basis,
                    " ".join(part for part in (CHICAGO_NOTE, found.note) if part), trend=trend,
                    sources=("CPD juvenile dispositions by police district",), instead_of="Alternatives-to-arrest rate",
                    period=period_words(counts["period"]))


REPORT_SETS: tuple[ReportSet, ...] = (
    ReportSet("synthetic", "Synthetic demo district", "synthetic", "data/interim/synthetic", ata_headline),
    ReportSet("chicago", "Chicago public records", "chicago", "data/interim/chicago", chicago_headline),
    # NYC and Louisiana drop in here once sro_analysis.metrics.nyc / .nibrs exist (see the TODO in
    # the reports branch's report): one entry each, with their own notebooks and headline.
)


def report_set(key: str) -> ReportSet:
    """The registered set named ``key``."""
    for item in REPORT_SETS:
        if item.key == key:
            return item
    raise KeyError(f"no report set {key!r}; registered: {', '.join(s.key for s in REPORT_SETS)}")


def report_set_for_source(source: str) -> ReportSet:
    """The set of a Dataset's source family (a family with no set gets the ATA headline and every page)."""
    for item in REPORT_SETS:
        if item.family == source:
            return item
    return ReportSet(source, f"{source.capitalize()} reports", source, "", ata_headline)
