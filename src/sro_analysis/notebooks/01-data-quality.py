# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: -all
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data quality and linkage
#
# **Question.** How complete are these records, and how well could they be linked to schools
# and officers? Every later report rests on this one: a rate is only as good as the rows behind it.
#
# **What the records can and cannot show.** Every raw row ends in the ledger exactly once: kept,
# merged into another record (a duplicate, or the same report in a later release) or rejected
# with a reason. A label no mapping knew is a rejection, never silently "unknown". The caveats
# specific to this Dataset follow the parameters.

# %% tags=["parameters"]
dataset_dir = "../data/interim/synthetic"  # a Dataset written by `sro-analysis clean`
school_years = None  # e.g. ["2018-19", "2019-20"]; None = every school year
min_n = 10  # minimum denominator of a published rate (publication rules; never below 5)
figures_dir = "figures"  # where figures are saved (SVG, PDF, PNG, CSV, alt text)

# %%
import sro_analysis as sro
import sro_analysis.notebooks as nb
from sro_analysis import figures

ds = nb.load(dataset_dir, school_years)
nb.say(nb.data_caveats(ds))

# %% [markdown]
# ## Every raw row, accounted for
#
# Rows per raw file: kept, merged and rejected. Counts of 1-9 show as "<10"; a cell withheld only
# so that a small one cannot be recovered by subtraction shows "suppressed".

# %%
if ds.ledger.empty:
    nb.say("**This Dataset holds no raw rows**: nothing was cleaned, so none of the reports can say anything.")
else:
    summary = ds.ledger_summary().set_index("source_file")
    nb.show_counts(summary[["kept", "merged", "rejected"]], min_n=min_n, col_margin=False,
                   index_label="raw file", caption="Raw rows per file (Total = rows in the file)")
    ledger_counts = ds.ledger.groupby(["source_file", "status"]).size().rename("n").reset_index()
    with figures.theme("full"):
        nb.show_figure(figures.data_quality_plot(ledger_counts), "01-ledger", source=nb.source_line(ds),
                       figures_dir=figures_dir)

# %% [markdown]
# ## Why rows were rejected

# %%
rejected = ds.ledger[ds.ledger["status"] == "rejected"]
if rejected.empty:
    nb.say("No row was rejected.")
else:
    by_reason = rejected.groupby(["source_file", "reason"]).size().unstack(fill_value=0)
    nb.show_counts(by_reason, min_n=min_n, index_label="raw file", caption="Rejected rows by file and reason")

# %% [markdown]
# ## Labels no mapping knew
#
# Each is a rejected row until someone adds the label to the versioned label map
# (`schema/maps/`). The outcome of such a row is not guessed.

# %%
unmapped = ds.unmapped_labels()
if unmapped.empty:
    nb.say("Every label in these files is in a label map.")
else:
    labels = unmapped.set_index(["source_file", "column", "value"])[["rows"]]
    labels.index = [" / ".join(map(str, i)) for i in labels.index]
    nb.show_counts(labels, min_n=min_n, row_margin=False, col_margin=False,
                   index_label="file / column / value", caption="Labels no mapping knew")

# %%
ignored = ds.audits.get("ignored_files")
nb.show_table(ignored, caption="Files found but not read, and why")

# %% [markdown]
# ## Linkage to schools and officers
#
# How many records were linked, by which method ([methods](methods.html#linkage): source id, address, campus, nearest
# school within 200 m; officers by employee id, star and name, name and appointment date, ...).

# %%
nb.show_link_quality(ds.audits.get("link_quality"), min_n=min_n)

# %% [markdown]
# ## How many outcomes are unknown?
#
# U = unknown / (eligible with a known outcome + unknown). It is shown with every rate in the
# other reports; above 10% the rate is flagged, above 25% it is withheld.

# %%
measures = ["ata", "fpa", "force_per_contact", "deescalation_documented"]
unknown = sro.rates(ds, measure=measures, by="all")
nb.show_rates(unknown, min_n=min_n, caption="Unknown outcome share by measure, whole area")
if unknown["denominator"].sum() == 0:
    reasons = sro.contacts(ds)["exclusion_reason"].fillna("eligible").value_counts().rename("contacts").to_frame()
    nb.say("No contact meets every condition of the alternatives-to-arrest definition; "
           "why contacts fall outside it:")
    nb.show_counts(reasons, min_n=min_n, col_margin=False, row_margin=False, index_label="reason", caption="Contacts by exclusion reason")

# %% [markdown]
# ## Where the schools are
#
# Every school of the directory with coordinates, coloured by whether any incident in these
# records was linked to it. No counts are drawn: a map of small counts per school would
# identify students.

# %%
linked = nb.schools_linked(ds)
if linked.empty:
    nb.say("The school directory has no coordinates: no map.")
else:
    with figures.theme("full"):
        nb.show_figure(figures.school_map(linked, hue="school", unit="school_id"), "01-school-map",
                       source=nb.source_line(ds), figures_dir=figures_dir,
                       alt=f"Map of {len(linked)} schools, coloured by whether any incident was linked to them.")
