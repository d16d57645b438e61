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
# # Disparities at each decision point
#
# **Question.** Are students of some groups more likely than the reference group to be
# arrested, formally processed or subjected to force?
#
# **Method** ([methods](methods.html#disparities)). The Relative Rate Index compares a group's rate at one decision point
# with the reference group's rate at the same point; each point's base is the one before it
# (OJJDP): custodial arrest per eligible contact, formal processing (no station adjustment or
# diversion) per arrest, force per eligible contact. An RRI of 2 means twice the reference
# group's rate. It is computed only when both groups have a base of at least 10 and at least 5
# events; its 95% interval uses the log method.
#
# **What the records can and cannot show.** The notification and contact stages need counts of
# police notifications and of enrolled students per group, which contact records do not hold.
# A group's race or ethnicity is as recorded by police; "unknown" is left out. Caveats specific
# to this Dataset:

# %% tags=["parameters"]
dataset_dir = "../data/interim/synthetic"  # a Dataset written by `sro-analysis clean`
school_years = None  # e.g. ["2018-19", "2019-20"]; None = every school year
group = "race_ethnicity"  # or "sex", "age_band", "disability"
reference = "white"  # reference group (OJJDP default), or "all_others"
min_n = 10  # minimum denominator of a published rate (publication rules; never below 5)
figures_dir = "figures"  # where figures are saved (SVG, PDF, PNG, CSV, alt text)

# %%
import sro_analysis as sro
import sro_analysis.notebooks as nb
from sro_analysis import figures

ds = nb.load(dataset_dir, school_years)
source = nb.source_line(ds)
nb.say(nb.data_caveats(ds))

# %% [markdown]
# ## Rates per group at each decision point

# %%
stage_counts = nb.decision_point_counts(ds, group=group)
if stage_counts.empty:
    nb.say(f"No eligible contact with a known {group.replace('_', ' ')}: no decision point can be compared.")
else:
    reference_ok = reference == "all_others" or reference in set(stage_counts["group"])
    if not reference_ok:
        nb.say(f"The reference group **{reference}** has no contacts here; comparing each group with all others instead.")
    rri = sro.rri_table(stage_counts, reference=reference if reference_ok else "all_others")
    published = nb.show_rri(rri, min_n=min_n, caption=f"Relative Rate Index by decision point (reference: "
                            f"{reference if reference_ok else 'all other students'})")

# %% [markdown]
# ## Forest plot
#
# Each RRI with its 95% interval on a log scale; the vertical line at 1 is parity with the
# reference group. Rows not computed say why.

# %%
if not stage_counts.empty:
    with figures.theme("full"):
        ax = figures.rri_forest_plot(published, reference=published["ref_group"].iloc[0])
        nb.show_figure(ax, f"05-rri-forest-{group}", source=source, figures_dir=figures_dir)
else:
    nb.say("No relative rate index could be computed from these records, so there is nothing to plot.")
