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
# # De-escalation and use of force
#
# **Question.** How often do police contacts with students involve force, and is de-escalation
# documented when the student resists?
#
# **Definitions** ([methods](methods.html#definitions)). **Force per contact** is the share of eligible contacts with at
# least one linked force report of level 1 or above. **De-escalation documented** is the share
# of force reports that record de-escalation (e.g. member presence, verbal commands, tactical
# positioning) before or instead of force; reports where it is unknown are left out of both
# terms and counted in U. Both are shown by the subject's resistance.
#
# **What the records can and cannot show.** Force reports exist only where force was used and
# reported: a de-escalation share describes force incidents, not the many contacts where
# de-escalation worked and no report was written. Caveats specific to this Dataset:

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
source = nb.source_line(ds)
nb.say(nb.data_caveats(ds))

# %% [markdown]
# ## Force per contact

# %%
force = sro.rates(ds, measure="force_per_contact", by="school_year")
shown = nb.show_rates(force, min_n=min_n, caption="Contacts with reportable force, by school year")
if len(shown) and shown["rate"].notna().any():
    with figures.theme("full"):
        nb.show_figure(figures.trend_plot(nb.plottable(shown)), "04-trend-force", source=source, figures_dir=figures_dir)
elif force["denominator"].sum() == 0:
    nb.say("No eligible contact with a known outcome: force per contact cannot be computed from these records.")

# %% [markdown]
# ## De-escalation documented, by subject resistance

# %%
if ds.force_reports.empty:
    nb.say("This Dataset holds no force reports: de-escalation cannot be measured.")
else:
    deesc = sro.rates(ds, measure="deescalation_documented", by="subject_resistance")
    shown = nb.show_rates(deesc, min_n=min_n, caption="Force reports with de-escalation documented, by subject resistance")
    with figures.theme("single"):
        nb.show_figure(figures.deescalation_plot(nb.plottable(shown), resistance="group"), "04-deescalation-by-resistance",
                       source=source, figures_dir=figures_dir)

# %% [markdown]
# ## Over time

# %%
if not ds.force_reports.empty:
    by_year = sro.rates(ds, measure="deescalation_documented", by="school_year")
    shown = nb.show_rates(by_year, min_n=min_n, caption="Force reports with de-escalation documented, by school year")
    if shown["rate"].notna().any():
        with figures.theme("full"):
            nb.show_figure(figures.trend_plot(nb.plottable(shown)), "04-trend-deescalation", source=source, figures_dir=figures_dir)
