"""The report notebooks and the few reader-facing verbs they share.

The notebooks themselves are the jupytext ``py:percent`` files next to this module
(``00-summary.py``, ``01-data-quality.py`` ... ``05-disparities.py``): the one source of truth. The top-level
``notebooks/`` folder of a checkout holds symlinks to them, so JupyterLab opens the same files
that :func:`sro_analysis.reports.render_reports` executes from an installed package.

The verbs here turn library results into what a reader may see, and nothing else:

* :func:`show_rates`: a rates table through SPEC §3.5 suppression, as a readable table;
* :func:`show_counts`: a two-way count table through primary + complementary suppression;
* :func:`show_figure`: :func:`~sro_analysis.figures.save_figure` (SVG/PDF/PNG, CSV, alt text),
  then the PNG inline with its alt text;
* :func:`say`: Markdown output (used for caveats and "not possible with these data" notes);
* :func:`load`: a Dataset restricted to some school years; :func:`data_caveats`: what these
  particular records can and cannot show;
* :func:`decision_point_counts`: events and bases per group at each SPEC §3.4 decision point.

Example:
    >>> [n.stem for n in NOTEBOOKS][:2]
    ['00-summary', '01-data-quality']
    >>> notebook_path("01-data-quality").name
    '01-data-quality.py'
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = [
    "NOTEBOOKS",
    "NotebookInfo",
    "comparable_units",
    "count_text",
    "data_caveats",
    "decision_point_counts",
    "headline_markdown",
    "load",
    "unknown_share_text",
    "named",
    "natural_key",
    "page_links",
    "reader_label",
    "school_names",
    "notebook_path",
    "plottable",
    "rules_for",
    "say",
    "school_year_range",
    "show_counts",
    "show_figure",
    "show_rates",
    "show_link_quality",
    "show_rri",
    "show_table",
    "show_tiers",
    "source_keys",
    "source_line",
]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NotebookInfo:
    """One report notebook: file stem, reader title and the question it answers."""

    stem: str
    title: str
    question: str


NOTEBOOKS: tuple[NotebookInfo, ...] = (
    NotebookInfo("00-summary", "Summary",
                 "What do these records say, in one number, and what can they not show?"),
    NotebookInfo("01-data-quality", "Data quality and linkage",
                 "How complete are these records, and how well could they be linked to schools and officers?"),
    NotebookInfo("02-alternatives-by-school", "Alternatives to arrest, by school",
                 "At which schools do police contacts with students end without an arrest more, or less, "
                 "often than chance would explain?"),
    NotebookInfo("03-alternatives-by-officer", "Alternatives to arrest, by officer",
                 "Do assigned school resource officers use alternatives to arrest more often than other "
                 "officers, and which officers stand out once chance is accounted for?"),
    NotebookInfo("04-de-escalation", "De-escalation and use of force",
                 "How often do police contacts with students involve force, and is de-escalation documented "
                 "when the student resists?"),
    NotebookInfo("05-disparities", "Disparities at each decision point",
                 "Are students of some groups more likely than the reference group to be arrested, formally "
                 "processed or subjected to force?"),
)


def notebook_path(stem: str) -> Path:
    """The ``.py`` file of one report notebook (in the installed package)."""
    path = HERE / f"{stem}.py"
    if not path.exists():
        raise FileNotFoundError(f"no report notebook {stem!r}; known: {', '.join(n.stem for n in NOTEBOOKS)}")
    return path


# -- loading ------------------------------------------------------------------------------------

def load(dataset_dir: str | os.PathLike, school_years: Sequence[str] | None = None):
    """Load a saved Dataset, keeping only incidents of ``school_years`` (all when None).

    Tables keyed by incident (subjects, officers, outcomes, force reports) follow their
    incidents; aggregate ``counts`` keep the periods listed (a calendar-year period such as
    ``"2014"`` is kept when ``"2013-14"`` or ``"2014-15"`` is asked for).

    Example:
        >>> load("/no/such/folder")
        Traceback (most recent call last):
        ...
        FileNotFoundError: dataset_dir /no/such/folder does not exist; create one with `sro-analysis clean --out ...`
    """
    from sro_analysis.dataset import Dataset

    path = Path(dataset_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"dataset_dir {path} does not exist; create one with `sro-analysis clean --out ...`")
    ds = Dataset.load(path)
    if not school_years:
        return ds
    years = {str(y) for y in ([school_years] if isinstance(school_years, str) else school_years)}
    tables = dict(ds.tables)
    incidents = tables["incidents"]
    keep = incidents[incidents["school_year"].isin(years)]
    tables["incidents"] = keep.reset_index(drop=True)
    for name, frame in tables.items():
        if name != "incidents" and "incident_id" in frame.columns:
            tables[name] = frame[frame["incident_id"].isin(keep["incident_id"])].reset_index(drop=True)
    calendar = {y[:4] for y in years} | {"20" + y[-2:] for y in years if len(y) == 7}
    counts = tables["counts"]
    tables["counts"] = counts[counts["period"].isin(years | calendar)].reset_index(drop=True)
    provenance = {**ds.provenance, "school_years": sorted(years)}
    return Dataset(tables, ds.ledger, provenance, ds.audits)


def rules_for(min_n: int):
    """The suppression rules with the minimum denominator ``min_n`` (never below 5)."""
    from sro_analysis.metrics.suppression import SuppressionRules

    return SuppressionRules(min_denominator=int(min_n))


def publishable(rates: pd.DataFrame, *, min_n: int = 10) -> pd.DataFrame:
    """Rows whose rate survives suppression (SPEC §3.5 rules 2-3): the only units a figure may draw.

    A funnel point or a shrunken estimate with its n shown can be inverted to the count, so a
    unit whose rate the tables withhold (small numerator or complement, all-or-none) is not
    drawn either.
    """
    from sro_analysis.metrics.suppression import suppress_rates

    rows = rates.reset_index(drop=True)
    if rows.empty:
        return rows
    shown = suppress_rates(rows, rules=rules_for(min_n)).table
    return rows[~shown["suppressed"].astype(bool).to_numpy()].reset_index(drop=True)


def schools_linked(ds) -> pd.DataFrame:
    """Schools with coordinates and whether any incident was linked to them: no counts."""
    schools = ds.schools.dropna(subset=["lat", "lon"])
    hit = schools["school_id"].isin(ds.incidents["school_id_occurrence"].dropna())
    return pd.DataFrame({"school_id": schools["school_id"].to_numpy(), "lon": schools["lon"].to_numpy(),
                         "lat": schools["lat"].to_numpy(),
                         "school": hit.map({True: "incidents linked", False: "no incident linked"}).to_numpy()})


def relabel_officers(rates: pd.DataFrame, ds) -> pd.DataFrame:
    """Replace officer ``unit_id``s by the salted keys of the public release (``officer_key``).

    The ``ofr-`` ids of the rates tables are unsalted hashes of internal ids, which anyone with
    the roster could recompute; readers see the same salted 12-hex keys as in the data release.
    Without a salt (see README: Privacy) officers are numbered within this report instead.
    """
    from sro_analysis.privacy import SaltError, load_salt
    from sro_analysis.publish import _officer_labels

    ids = sorted(set(rates["unit_id"].astype(str)) - {"unknown"})
    try:
        labels = _officer_labels(ds, ids, "hashed", load_salt())
    except SaltError:
        labels = {u: f"officer {i + 1:03d}" for i, u in enumerate(ids)}
    out = rates.copy()
    out["unit_id"] = out["unit_id"].astype(str).map(lambda u: labels.get(u, u))
    return out


def school_names(ds) -> dict[str, str]:
    """School id -> the name a reader knows; a name two schools share gets its address too.

    Example:
        >>> from sro_analysis.dataset import Dataset
        >>> school_names(Dataset.empty(source="demo"))
        {}
    """
    schools = ds.schools.drop_duplicates("school_id")
    names = schools["name"].astype("string").str.strip()
    shared = names.duplicated(keep=False) & names.notna()
    address = schools["address"].astype("string").fillna("").str.title()
    shown = names.where(~shared, names + " (" + address + ")")
    shown = shown.fillna("school " + schools["school_id"].astype(str))
    return dict(zip(schools["school_id"].astype(str), shown.astype(str)))


def natural_key(text: str) -> tuple:
    """Sort key that reads numbers as numbers: district 2 before district 10.

    Example:
        >>> sorted(["10", "2", "1", "unknown"], key=natural_key)
        ['1', '2', '10', 'unknown']
    """
    import re

    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", str(text)) if part)


def named(rates: pd.DataFrame, ds) -> pd.DataFrame:
    """A rates table with units as readers know them, in name order (unmatched contacts last).

    Schools by name, officers by the public key of the data release (:func:`relabel_officers`),
    districts in number order. Ids never reach a page.
    """
    if rates is None or len(rates) == 0 or "unit_id" not in rates:
        return rates
    out = pd.DataFrame(rates).copy()
    kinds = set(out["unit_type"].astype(str)) if "unit_type" in out else set()
    if "officer" in kinds:
        out = relabel_officers(out, ds)
    if "school" in kinds:
        names = school_names(ds)
        out["unit_id"] = out["unit_id"].astype(str).map(lambda u: names.get(u, u))
    columns = [c for c in ("measure", "unit_id", "school_year", "group") if c in out]
    order = sorted(range(len(out)), key=lambda i: tuple(
        (str(out[c].iat[i]) == "unknown", natural_key(out[c].iat[i])) if c == "unit_id" else (str(out[c].iat[i]),)
        for c in columns))
    return out.iloc[order].reset_index(drop=True)


def headline_markdown(headline, ds) -> str:
    """The summary page's opening: the headline number in plain words, or first why there is none."""
    span = school_year_range(ds)
    years = headline.period or ("all years" if not span else f"school year {span[0]}" if span[0] == span[1]
                                else f"school years {span[0]} to {span[1]}")
    lines = []
    if headline.instead_of:  # the question the set cannot answer comes first, with why
        lines += [f"**{headline.instead_of}: not computed from these records.** {headline.note}", ""]
    if headline.computed:
        lines += [f"**{headline.measure}: {headline.value}**"
                  + (f" (95% interval {headline.interval})" if headline.interval else "") + f", {years}.", ""]
        lines += [f"Counted: {headline.basis}.", ""] if headline.basis else []
        lines += [line for finding in headline.findings for line in (finding, "")]
    elif not headline.instead_of:
        lines += [f"**{headline.measure}: not computed from these records.** {headline.note}", ""]
    if headline.note and headline.computed and not headline.instead_of:
        lines += [headline.note, ""]
    lines += ["Definitions, intervals and the publication rules behind every number are on the "
              "[methods page](methods.html)."]
    return "\n".join(lines)


def page_links(stems: Sequence[str]) -> str:
    """Markdown list of the detailed pages of a set, each with the question it answers."""
    infos = {n.stem: n for n in NOTEBOOKS}
    return "\n".join(f"- [{infos[s].title}]({s}.html): {infos[s].question}" for s in stems if s in infos)


def comparable_units(rates: pd.DataFrame, *, min_n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Units a funnel or tier compares: (every compared unit, those that may be drawn, the area rate).

    Compared: real units (contacts matched to none are not a unit) with contacts and at most 25%
    unknown outcomes. Drawn: those whose rate may be published. The area rate is pooled over
    every compared unit, drawn or not, so withholding a unit does not move the target.
    """
    compared = rates[(rates["unit_id"] != "unknown") & (rates["denominator"] > 0)
                     & ~rates["withheld_unknown"].astype(bool)]
    if compared.empty:
        return compared, compared, float("nan")
    return compared, publishable(compared, min_n=min_n), pooled_rate(compared)


def show_tiers(eb: pd.DataFrame, label: str, *, caption: str) -> None:
    """Each unit's tier in name order with its reason: the posterior probability of being below the
    comparison rate (credibly below above 97.5%, credibly above below 2.5%)."""
    frame = pd.DataFrame({label: eb["unit"].astype(str), "tier": eb["tier"].astype(str),
                          "probability its rate is below the comparison rate":
                              [f"{100 * p:.1f}%" for p in eb["prob_below_target"]]})
    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: natural_key(frame[label].iat[i]))]
    show_table(frame, caption=caption + ". Credibly below: probability above 97.5%; credibly above: below 2.5%")


def concat_rates(*tables: pd.DataFrame) -> pd.DataFrame:
    """Stack rate tables (e.g. two officer scopes) for one table and one figure."""
    return pd.concat([pd.DataFrame(t) for t in tables], ignore_index=True)


def pooled_rate(rates: pd.DataFrame) -> float:
    """Sum of numerators over sum of denominators: the comparison target of a funnel or EB fit."""
    n = rates["denominator"].sum()
    return float(rates["numerator"].sum() / n) if n else float("nan")


def school_year_range(ds) -> tuple[str, str] | None:
    """First and last school year of the incidents, or None when there are none."""
    years = sorted(set(ds.incidents["school_year"].dropna().astype(str)) - {"unknown"})
    return (years[0], years[-1]) if years else None


_SOURCE_NAMES = {
    "chicago_trr": "CPD Tactical Response Reports",
    "chicago_crimes": "Chicago crimes exports",
    "cpd_juvenile_dispositions": "CPD juvenile dispositions",
    "cpd_juvenile_arrests_by_district": "CPD juvenile arrests",
    "cpd_juvenile_arrests_daily": "CPD juvenile arrests",
    "chicago_juvenile": "CPD juvenile arrests and dispositions",
    "cpd_roster": "CPD roster",
    "cps_schools": "CPS school directories",
    "synthetic_release": "synthetic demo release",
}


def source_keys(ds) -> list[str]:
    """The sources that built a Dataset, sorted (provenance ``sources``; ``adapters`` in older Datasets).

    Example:
        >>> from sro_analysis.dataset import Dataset
        >>> source_keys(Dataset.empty(source="demo"))
        []
    """
    found = ds.provenance.get("sources") or ds.provenance.get("adapters") or {}
    return sorted(found)


def source_line(ds, records: Sequence[str] | None = None) -> str:
    """The source line of a figure: the record families used and the school years covered."""
    from sro_analysis.figures import source_note

    if records is None:
        adapters = source_keys(ds)
        records = list(dict.fromkeys(_SOURCE_NAMES.get(a, a) for a in adapters)) or [
            str(ds.provenance.get("source", "records"))]
    span = school_year_range(ds) or ("all years", None)
    return source_note(records, span[0], span[1])


# -- caveats ------------------------------------------------------------------------------------

def data_caveats(ds) -> str:
    """Markdown bullets: what these particular records can and cannot show.

    Example:
        >>> from sro_analysis.dataset import Dataset
        >>> "No SRO roster" in data_caveats(Dataset.empty(source="demo"))
        True
    """
    adapters = set(source_keys(ds))
    source = str(ds.provenance.get("source", ""))
    bullets = ["Records show what police recorded, not everything that happened: an incident nobody "
               "wrote down is not here, and a blank outcome is counted as *unknown*, never as an "
               "alternative to arrest. The share of unknown outcomes (U) is shown next to every rate; "
               "rates with U above 10% are flagged, above 25% withheld."]
    if source == "synthetic" or "synthetic_release" in adapters:
        bullets.append("**Synthetic demo district.** These records are generated by the package "
                       "(fictional schools, officers and students) to show how the reports read; "
                       "no finding here is about a real place.")
    if "chicago_trr" in adapters or (len(ds.force_reports) and source == "chicago"):
        bullets.append("**Tactical Response Reports exist only where force was reported.** Shares built "
                       "on them (de-escalation documented, charges after force) describe force incidents, "
                       "not all police contacts with students. A missing charge is *unknown*, not "
                       "\"not arrested\".")
    if "chicago_crimes" in adapters:
        bullets.append("**Chicago crimes exports: `Arrest = false` means no arrest recorded**, not an "
                       "alternative to arrest (the offender may never have been identified). Such rows "
                       "are never counted as diversions.")
    if "cpd_juvenile_dispositions" in adapters or (ds.counts["source"] == "cpd_juvenile_dispositions").any():
        bullets.append("**Juvenile dispositions are aggregate, by police district** (station adjustments "
                       "vs referral to court). They are Chicago's only public record of alternatives to "
                       "court, but they cannot be tied to a school or an officer.")
    if not len(ds.sro_assignments):
        bullets.append("**No SRO roster supplied.** No public source says which officers were assigned to "
                       "which school, so assigned-SRO analyses are not possible with these data.")
    bullets.append("Tables show aggregates only: counts of 1-9 display as \"<10\", rates on fewer than the "
                   "minimum denominator are withheld, and no dates finer than the school year are shown.")
    return "\n".join(f"- {b}" for b in bullets)


# -- display ------------------------------------------------------------------------------------

def say(markdown: str) -> None:
    """Show Markdown in the notebook (and in the rendered report)."""
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def _show_html(frame: pd.DataFrame, caption: str | None = None) -> None:
    from IPython.display import HTML, display

    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    table = frame.to_html(index=False, escape=True, border=0, na_rep="", classes="sro-table")
    display(HTML(table.replace("<thead>", cap + "<thead>", 1) if cap else table))


def show_table(frame: pd.DataFrame, caption: str | None = None) -> None:
    """Show a table that holds no counts of people (file names, reasons, tiers) as plain HTML."""
    if frame is None or frame.empty:
        say(f"*{caption or 'This table'}: nothing to show.*")
        return
    _show_html(frame.astype("string").fillna(""), caption)


def show_link_quality(link_quality: pd.DataFrame, *, min_n: int = 10) -> None:
    """Link rates per entity, source file and method (the linkage audit) as suppressed rates."""
    from sro_analysis.metrics.intervals import binomial_interval

    if link_quality is None or link_quality.empty:
        say("*No linkage audit in this Dataset: records were not linked to schools or officers.*")
        return
    lq = link_quality.sort_values(["entity", "source", "method", "status"], kind="stable").reset_index(drop=True)
    low, high = binomial_interval(lq["n"].to_numpy(), lq["denominator"].to_numpy())
    frame = pd.DataFrame({
        "unit_type": "link", "unit_id": lq["entity"].astype(str) + ": " + lq["source"].astype(str).str.rsplit("/", n=1).str[-1],
        "school_year": "all", "group_type": "method", "group": lq["method"].astype(str).replace({"none": "no method"}) + " (" + lq["status"].astype(str) + ")",
        "numerator": lq["n"], "denominator": lq["denominator"], "rate": lq["n"] / lq["denominator"],
        "ci_low": low, "ci_high": high})
    show_rates(frame, min_n=min_n, label="records linked", caption="Link rates by source file and method")


def reader_label(code: object) -> str:
    """The words a reader sees for a code.

    Example:
        >>> reader_label("ata_strict"), reader_label("american indian alaska native"), reader_label("black")
        ('ATA-strict (no citations)', 'American Indian or Alaska Native', 'Black')
    """
    from sro_analysis.figures._base import pretty

    words = pretty(str(code).strip())
    return words[:1].upper() + words[1:]


def count_text(shown) -> str:
    """A published count with thousands separators; "<10" and other codes unchanged.

    Example:
        >>> count_text("2565"), count_text("<10")
        ('2,565', '<10')
    """
    text = str(shown)
    return f"{int(text):,}" if text.isdigit() else text


_UNIT_LABEL = {"school": "school", "officer": "officer (public key)", "district": "police district", "city": "area"}


def _flags(row) -> str:
    words = []
    if bool(row.get("withheld_unknown", False)):
        words.append("withheld: unknown outcomes > 25%")
    elif bool(row.get("incomplete_outcomes", False)):
        words.append("incomplete outcome data (U > 10%)")
    if bool(row.get("unstable", False)):
        words.append("unstable (n < 20)")
    reason = row.get("suppression_reason", "")
    if reason and reason not in ("unknown_share",):
        words.append({"min_denominator": "withheld: too few contacts",
                      "primary_small_count": "withheld: small count",
                      "complement_small": "withheld: small count",
                      "all_or_none_withheld": "withheld: all or none",
                      "all_or_none_coded": "coded (all or none)"}.get(reason, f"withheld: {reason}"))
    return "; ".join(words)


def unknown_share_text(share, unknown_shown, n_shown) -> str:
    """The U column: the share, or for 1-9 unknown contacts the bound a reader can already infer.

    With n shown and 1-9 unknown, U is at most 9 / (n + 9): the bound says no more than "<10"
    beside n, but reads as a share.

    Example:
        >>> unknown_share_text(0.04, "36", "904"), unknown_share_text(float("nan"), "<10", "64")
        ('4%', 'under 13%')
        >>> unknown_share_text(float("nan"), "<10", "<10")
        'withheld'
    """
    import math

    if not pd.isna(share):
        return f"{100 * share:.0f}%"
    if str(unknown_shown) != "<10":
        return ""
    n = str(n_shown)
    return f"under {math.ceil(900 / (int(n) + 9))}%" if n.isdigit() else "withheld"


def show_rates(rates: pd.DataFrame, *, min_n: int = 10, caption: str | None = None,
               label: str | None = None) -> pd.DataFrame:
    """Suppress a ``rates`` table (SPEC §3.5) and show it as readers see it; return the suppressed table.

    Every row shows the rate, its 95% interval, x and n as published, the unknown share U and
    the flags. Withheld numbers never reach the output. An empty table shows a sentence instead.
    """
    from sro_analysis.metrics.suppression import suppress_rates

    if rates is None or len(rates) == 0:
        say(f"*{caption or 'This table'}: no rows: these records hold no contact that meets the definition.*")
        return pd.DataFrame()
    result = suppress_rates(pd.DataFrame(rates), rules=rules_for(min_n))
    t = result.table
    shown = pd.DataFrame(index=t.index)
    if "measure" in t and t["measure"].nunique() > 1:
        shown["measure"] = t["measure"].map(reader_label)
    if "unit_id" in t and (t["unit_id"] != "all").any():
        kind = str(t["unit_type"].iloc[0]) if "unit_type" in t else "unit"
        # contacts no linkage could place form their own row, named for what it is
        shown[label or _UNIT_LABEL.get(kind, kind)] = t["unit_id"].astype(str).replace({"unknown": f"(no {kind} matched)"})
    if "school_year" in t and (t["school_year"] != "all").any():
        shown["school year"] = t["school_year"].astype(str)
    if "group" in t and (t["group"] != "all").any():
        shown["group"] = t["group"].map(reader_label)
    shown["rate"] = t["rate_display"]
    shown["95% interval"] = [
        "" if pd.isna(lo) else f"{100 * lo:.1f}% – {100 * hi:.1f}%" for lo, hi in zip(t["ci_low"], t["ci_high"])]
    shown["x"] = t["numerator_display"].map(count_text)
    shown["n"] = t["denominator_display"].map(count_text)
    if "unknown_share" in t:
        small = t["unknown_display"] if "unknown_display" in t else pd.Series("", index=t.index)
        shown["U (unknown)"] = [unknown_share_text(u, d, n) for u, d, n in
                                zip(t["unknown_share"], small, t["denominator_display"])]
    shown["flags"] = [_flags(row) for _, row in t.iterrows()]
    withheld = int(t["suppressed"].sum())
    note = f"{withheld} of {len(t)} rates withheld or coded under the publication rules (see Methods)." if withheld else ""
    _show_html(shown, ". ".join(part for part in (caption, note) if part))
    return t


def plottable(published: pd.DataFrame) -> pd.DataFrame:
    """Rows of a suppressed rates table whose denominator may be shown (n >= 10), for the plot functions.

    A denominator of 1-9 is withheld (empty) by suppression; such rows are left out of figures
    (SPEC §3.5 rule 5) and stay listed, withheld, in the table above the figure. Rows of an
    unknown school year are left out too (they have no place on a time axis).
    """
    keep = published["denominator"].notna()
    if "school_year" in published:  # records with no date sit in the table, not on a time axis
        keep &= published["school_year"] != "unknown"
    return published[keep].reset_index(drop=True)


def show_counts(counts: pd.DataFrame, *, min_n: int = 10, caption: str | None = None,
                row_margin: bool = True, col_margin: bool = True, index_label: str | None = None) -> None:
    """Show a two-way count table after primary and complementary suppression."""
    from sro_analysis.metrics.suppression import suppress_table

    if counts is None or counts.empty:
        say(f"*{caption or 'This table'}: nothing to show.*")
        return
    result = suppress_table(counts.astype("int64"), row_margin=row_margin, col_margin=col_margin,
                            rules=rules_for(min_n), table_name=caption or "table")
    shown = result.table.reset_index()
    shown.columns = [index_label or str(counts.index.name or "")] + [str(c).replace("_", " ") for c in shown.columns[1:]]
    _show_html(shown, caption)


def show_figure(ax_or_fig, stem: str, *, source: str, figures_dir: str | os.PathLike = "figures",
                alt: str | None = None, data: pd.DataFrame | None = None) -> dict:
    """Publish a figure with :func:`~sro_analysis.figures.save_figure` and show its PNG inline with alt text.

    The figure is closed afterwards so the notebook does not draw it twice.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    from sro_analysis.figures import save_figure

    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    paths = save_figure(fig, stem, source=source, alt=alt, data=data, out_dir=figures_dir)
    plt.close(fig)
    png = Path(paths["png"]).read_bytes()
    alt_text = Path(paths["alt"]).read_text(encoding="utf-8").strip()
    width = int.from_bytes(png[16:20], "big")  # PNG IHDR width; shown at 150 dpi (saved at 300)
    display({"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt_text}, raw=True,
            metadata={"image/png": {"alt": alt_text, "width": max(1, width // 2)}})
    return paths


# -- disparities --------------------------------------------------------------------------------

#: Decision points computable from record-level contacts, with the rates measure that counts them.
_STAGE_MEASURES = (("custodial_arrest", "custodial_arrest"), ("formal_processing", "fpa"),
                   ("force", "force_per_contact"))


def decision_point_counts(data, *, group: str = "race_ethnicity") -> pd.DataFrame:
    """Events and base per (decision point, group) for :func:`~sro_analysis.metrics.disparity.rri_table`.

    From eligible contacts (SPEC §3.2): custodial arrest = custody yes / E; formal processing =
    arrests not station-adjusted or diverted / arrests; force = contacts with reportable force /
    E. Notification and contact stages need notification and enrollment counts, which record
    tables of police contacts do not have; they are left out. Unknown groups are left out too
    (an RRI of "unknown" compares nothing).
    """
    from sro_analysis.metrics.rates import rates

    rows = []
    for stage, measure in _STAGE_MEASURES:
        t = rates(data, measure=measure, by=group)
        t = t[t["group"] != "unknown"]
        events = t["denominator"] - t["numerator"] if stage == "formal_processing" else t["numerator"]
        rows.append(pd.DataFrame({"stage": stage, "group": t["group"].astype(str),
                                  "events": events.astype("int64"), "base": t["denominator"].astype("int64")}))
    out = pd.concat(rows, ignore_index=True)
    return out[out["base"] > 0].reset_index(drop=True)


def show_rri(rri: pd.DataFrame, *, min_n: int = 10, caption: str | None = None) -> pd.DataFrame:
    """Show an RRI table with the groups' rates suppressed (SPEC §3.5); return it with withheld RRIs blanked.

    An RRI gives back the group's rate when the reference rate is shown, so a group whose rate
    is withheld has its RRI withheld too, and when the reference rate is withheld every RRI of
    that decision point is.
    """
    from sro_analysis.metrics.suppression import suppress_rates

    if rri is None or rri.empty:
        say(f"*{caption or 'RRI'}: no decision point has enough contacts for a comparison.*")
        return pd.DataFrame()
    as_rates = pd.DataFrame({"numerator": rri["events"], "denominator": rri["base"], "rate": rri["rate"],
                             "ci_low": rri["rate"], "ci_high": rri["rate"]})
    sup = suppress_rates(as_rates, rules=rules_for(min_n)).table
    out = rri.copy()
    withheld = sup["suppressed"].to_numpy() & (sup["suppression_reason"] != "all_or_none_coded").to_numpy()
    ref_hidden = {s for s, g, w, r in zip(out["stage"], out["group"], withheld, out["ref_group"]) if g == r and w}
    hide = withheld | out["stage"].isin(ref_hidden).to_numpy()
    for column in ("rri", "ci_low", "ci_high", "rate", "ref_rate"):
        out.loc[hide, column] = float("nan")
    out.loc[hide & out["computed"].to_numpy(), "reason"] = "withheld (small numbers)"
    out.loc[hide, "computed"] = False
    shown = pd.DataFrame({
        "decision point": out["stage"].map(reader_label),
        "group": out["group"].map(reader_label),
        "rate": sup["rate_display"], "events": sup["numerator_display"].map(count_text),
        "base": sup["denominator_display"].map(count_text),
        "RRI": ["" if pd.isna(v) else f"{v:.2f}" for v in out["rri"]],
        "95% interval": ["" if pd.isna(lo) else f"{lo:.2f} – {hi:.2f}" for lo, hi in zip(out["ci_low"], out["ci_high"])],
        "note": out["reason"].fillna(""),
    })
    _show_html(shown, caption)
    return out
