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
# # Alternatives to arrest, by school
#
# **Question.** At which schools do police contacts with students end without an arrest more,
# or less, often than chance would explain?
#
# **Definitions** ([methods](methods.html#definitions)). A *contact* is one student suspect in one school-related incident
# with police contact, excluding warrant pick-ups. The **alternatives-to-arrest rate (ATA)** is
# the share of contacts not taken into custody (citation, pre-arrest diversion, school
# discipline, warning). Its companions are always shown with it: **ATA-strict** (no citations),
# the **custodial arrest rate** (1 − ATA) and **formal-processing avoidance (FPA)**, the share of
# arrests kept out of court (station adjustments, post-arrest diversion).
#
# **What the records can and cannot show.** A contact whose outcome is unknown counts in
# neither numerator nor denominator; its share U stands next to every rate. Schools are
# compared with a funnel plot (limits widened for overdispersion when the data call for it) and
# empirical-Bayes tiers, never as a league table. Caveats specific to this Dataset:

# %% tags=["parameters"]
dataset_dir = "../data/interim/synthetic"  # a Dataset written by `sro-analysis clean`
school_years = None  # e.g. ["2018-19", "2019-20"]; None = every school year
grouping = "school"  # unit compared: "school" or "district"
min_n = 10  # minimum denominator of a published rate (publication rules; never below 5)
figures_dir = "figures"  # where figures are saved (SVG, PDF, PNG, CSV, alt text)

# %%
import sro_analysis as sro
import sro_analysis.notebooks as nb
from sro_analysis import figures

ds = nb.load(dataset_dir, school_years)
source = nb.source_line(ds)
answerable = sro.rates(ds, measure="ata", by="all")["denominator"].sum() > 0
if not answerable:  # say so before anything else: the rest of the page cannot answer the question
    nb.say("**These records cannot answer this question.** No contact in them meets the definition (a "
           "student suspect in a school-related incident with police contact and a known outcome): it "
           "needs records that identify students, by age or student status, at school locations. "
           "The aggregate juvenile dispositions at the end of this page, if any, are the closest measure "
           "these records hold; they cannot be tied to a school.")
nb.say(nb.data_caveats(ds))

# %% [markdown]
# ## The whole area

# %%
measures = ["ata", "ata_strict", "custodial_arrest", "fpa"]
overall = sro.rates(ds, measure=measures, by="all")
nb.show_rates(overall, min_n=min_n, caption="Alternatives to arrest and companion rates, whole area")
if not answerable:
    nb.say("**No contact in these records meets the definition** (student suspect, school-related, "
           "police contact, known outcome), so no alternatives-to-arrest rate can be computed.")

# %% [markdown]
# ## By school
#
# Rates with their 95% Wilson interval, x / n as published and the unknown share U. Rows are
# in name order, not ranked.

# %%
by_unit = nb.named(sro.rates(ds, measure=["ata", "ata_strict", "fpa"], by=grouping), ds)
names = {"ata": "Alternatives to arrest (ATA)", "ata_strict": "ATA-strict (no citations)",
         "fpa": "Formal-processing avoidance (arrests kept out of court)"}
for measure, name in names.items():
    _ = nb.show_rates(by_unit[by_unit["measure"] == measure], min_n=min_n, caption=f"{name} by {grouping}")

# %% [markdown]
# ## Which schools differ by more than chance? (funnel plot)
#
# Each point is a school's ATA against its number of contacts. Points outside the dashed (95%)
# or solid (99.8%) limits differ from the area rate by more than chance allows for their size.
# A school is drawn only where its rate may be published (see [publication rules](methods.html#publication-rules): at least 10 contacts and
# no count of 1-9 behind it), because a point with its n beside it gives the count away. Schools
# whose outcomes are more than 25% unknown, and contacts matched to no school, are left out.

# %%
# Real schools with known outcomes; drawn only where the rate may be published (a point with its n
# shown reveals the count); the area rate over every compared school, drawn or not.
ata, drawn, target = nb.comparable_units(by_unit[by_unit["measure"] == "ata"], min_n=min_n)
if len(drawn) < 2:
    nb.say(f"Fewer than two {grouping}s have a rate that may be published: no comparison is possible.")
else:
    with figures.theme("full"):
        ax = figures.funnel_plot(drawn, x="numerator", n="denominator", unit="unit_id", min_n=min_n, target=target)
        nb.show_figure(ax, f"02-funnel-ata-by-{grouping}", source=source, figures_dir=figures_dir)
    nb.say(f"{len(ata) - len(drawn)} {grouping}(s) with contacts are not drawn because their rate is withheld "
           f"(fewer than {min_n} contacts, or a count of 1-{min_n - 1} arrests or alternatives).")

# %% [markdown]
# ## Empirical-Bayes tiers (caterpillar plot)
#
# Shrinking each school's rate toward the area rate in proportion to its uncertainty separates
# real differences from small-number noise. A school is "credibly below" (or above) the area
# rate when the posterior probability exceeds 97.5%. Tiers, not ranks, are published.

# %%
if len(drawn) < 2:
    nb.say(f"Fewer than two {grouping}s have a publishable rate: no tiers.")
else:
    eb = sro.empirical_bayes(drawn, x="numerator", n="denominator", unit="unit_id", min_n=min_n, target=target)
    with figures.theme("full"):
        nb.show_figure(figures.caterpillar_plot(eb, min_n=min_n, target=target), f"02-caterpillar-ata-by-{grouping}",
                       source=source, figures_dir=figures_dir)
    nb.show_tiers(eb, grouping, caption=f"Tier of each {grouping} with a publishable rate (in name order, not ranked)")

# %% [markdown]
# ## Over time

# %%
trend = sro.rates(ds, measure="ata", by="school_year")
shown = nb.show_rates(trend, min_n=min_n, caption="Alternatives to arrest by school year, whole area")
if len(shown) and shown["rate"].notna().any():
    with figures.theme("full"):
        nb.show_figure(figures.trend_plot(nb.plottable(shown)), "02-trend-ata", source=source, figures_dir=figures_dir)

# %% [markdown]
# ## Aggregate dispositions (where the source publishes only totals)
#
# Some sources publish only counts per district (e.g. CPD juvenile dispositions). Their
# formal-processing avoidance is the share of juvenile arrests closed by a station adjustment
# instead of a referral to court. They cannot be tied to a school.

# %%
counts = ds.counts[ds.counts["source"] == "cpd_juvenile_dispositions"]
if counts.empty:
    nb.say("No aggregate disposition counts in this Dataset.")
else:
    fpa = nb.named(sro.rates_from_counts(counts, measure="fpa", by="district"), ds)  # districts in number order
    _ = nb.show_rates(fpa, min_n=min_n, caption="Formal-processing avoidance by police district (juvenile dispositions)")
    districts = nb.publishable(fpa[fpa["unit_id"] != "unknown"], min_n=min_n)
    if len(districts) >= 2:
        with figures.theme("full"):
            ax = figures.funnel_plot(districts, x="numerator", n="denominator", unit="unit_id", min_n=min_n,
                                     target=nb.pooled_rate(fpa))
            periods = sorted(fpa["school_year"].astype(str).unique())
            fpa_source = figures.source_note("CPD juvenile dispositions by police district", periods[0], periods[-1])
            nb.show_figure(ax, "02-funnel-fpa-by-district", source=fpa_source, figures_dir=figures_dir)
