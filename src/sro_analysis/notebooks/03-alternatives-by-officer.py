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
# # Alternatives to arrest, by officer
#
# **Question.** Do assigned school resource officers (SROs) use alternatives to arrest more often
# than other officers, and which officers stand out once chance is accounted for?
#
# **Definitions** ([methods](methods.html#definitions)). A contact is credited to the officer who decided its outcome (the
# arresting officer, otherwise the primary contact). SRO tables keep only contacts where that
# officer was the assigned SRO at that school on that date, which needs a roster of SRO
# assignments: the record the Chicago Inspector General found missing in 2018.
#
# **What the records can and cannot show.** Officers appear under the public keys of the data release. Officers are
# compared in tiers (credibly below / not distinguishable / credibly above the overall rate),
# never in a ranked list: one officer's handful of contacts says little. Caveats specific to
# this Dataset:

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
# ## Assigned SROs and all officers

# %%
measures = ["ata", "ata_strict", "fpa"]
everyone = sro.rates(ds, measure=measures, by="all")
nb.show_rates(everyone, min_n=min_n, caption="All officers, assigned SROs included: contacts with students, whole area")
has_roster = len(ds.sro_assignments) > 0
if not has_roster:
    nb.say("**No roster supplied: assigned-SRO analysis not possible.** Supply an SRO roster "
           "(`sro-analysis clean --roster sro_roster.csv`, see docs/roster-format.md) to compare "
           "assigned SROs with other officers.")
else:
    sros = sro.rates(ds, measure=measures, by="all", officer_scope="assigned_sro")
    nb.show_rates(sros, min_n=min_n, caption="Assigned SROs only (contacts decided by the SRO assigned to that school)")
    if sros["denominator"].sum() == 0:
        nb.say("The roster was supplied, but no contact was decided by an officer assigned to that school on that date.")

# %% [markdown]
# ## Over time: assigned SROs against all officers
#
# The alternatives-to-arrest rate per school year for every contact, and for the contacts
# decided by the officer assigned to that school, with 95% intervals.

# %%
by_year = sro.rates(ds, measure="ata", by="school_year").assign(officers="all officers (SROs included)")
if has_roster:
    sro_years = sro.rates(ds, measure="ata", by="school_year", officer_scope="assigned_sro")
    by_year = nb.concat_rates(by_year, sro_years.assign(officers="assigned SROs"))
shown = nb.show_rates(by_year, min_n=min_n, caption="Alternatives to arrest by school year and officer scope")
if len(shown) and shown["rate"].notna().any():
    with figures.theme("full"):
        nb.show_figure(figures.trend_plot(nb.plottable(shown), hue="officers"), "03-trend-ata-by-scope",
                       source=source, figures_dir=figures_dir)

# %% [markdown]
# ## Officers in tiers
#
# Empirical-Bayes estimates per officer with 95% credible intervals, coloured by tier. Officers
# whose rate the tables withhold (fewer than 10 contacts, or 1-9 arrests or alternatives) are not
# drawn; officers with more than 25% unknown outcomes are not ranked.

# %%
scope = "assigned_sro" if has_roster else "all"
# Readers see salted officer keys, the same as in the public data release.
per_officer = nb.named(sro.rates(ds, measure="ata", by="officer", officer_scope=scope), ds)
# "unknown": no deciding officer recorded. Only officers whose rate may be published are drawn:
# a shrunken estimate with its n can be inverted.
known, usable, target = nb.comparable_units(per_officer, min_n=min_n)
who = "assigned SROs" if has_roster else "officers"
if len(usable) < 2:
    nb.say(f"Fewer than two {who} have a rate that may be published (at least {min_n} contacts with known "
           f"outcomes and no count of 1-{min_n - 1}): no comparison between officers is possible.")
else:
    eb = sro.empirical_bayes(usable, x="numerator", n="denominator", unit="unit_id", min_n=min_n, target=target)
    with figures.theme("full"):
        nb.show_figure(figures.caterpillar_plot(eb, min_n=min_n, target=target), f"03-caterpillar-ata-{scope}",
                       source=source, figures_dir=figures_dir)
    nb.show_tiers(eb, "officer (public key)", caption=f"Tier of each of these {who} (in key order, not ranked)")

# %% [markdown]
# ## Per officer rates
#
# Each officer's rate with interval and unknown share; most individual rates are withheld
# because one officer decides few contacts.

# %%
_ = nb.show_rates(per_officer, min_n=min_n, caption=f"Alternatives to arrest per {who[:-1]} (public keys of the data release)")
