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

# %% tags=["parameters"]
dataset_dir = "../data/interim/synthetic"  # a Dataset written by `sro-analysis clean`
report_set = None  # a key of sro_analysis.report_sets.REPORT_SETS; None: the set of the Dataset's source
school_years = None  # e.g. ["2018-19", "2019-20"]; None = every school year
min_n = 10  # minimum denominator of a published rate (see the methods page; never below 5)
figures_dir = "figures"  # where figures are saved (SVG, PDF, PNG, CSV, alt text)

# %%
import sro_analysis.notebooks as nb
from sro_analysis import figures
from sro_analysis.report_sets import report_set_for_source, report_set as registered

ds = nb.load(dataset_dir, school_years)
chosen = registered(report_set) if report_set else report_set_for_source(str(ds.provenance.get("source", "")))
headline = chosen.headline(ds, min_n)
nb.say(f"# {chosen.title}: summary\n\n" + nb.headline_markdown(headline, ds))

# %%
trend = headline.trend
if trend is not None and len(trend) and trend["rate"].notna().sum() >= 2:
    with figures.theme("full"):
        ax = figures.trend_plot(nb.plottable(trend))
        ax.set_ylabel(headline.measure)
        nb.show_figure(ax, "00-trend-headline", source=nb.source_line(ds, headline.sources or None),
                       figures_dir=figures_dir)
elif trend is not None and len(trend) and trend["rate"].notna().any():
    nb.say(f"*These records give the number for one year only ({headline.period}): there is no trend to draw.*")
else:
    nb.say("*No year has a publishable rate, so no trend is drawn.*")

# %% [markdown]
# ## What these records can and cannot show

# %%
nb.say(nb.data_caveats(ds))

# %% [markdown]
# ## The detailed pages

# %%
nb.say(nb.page_links(chosen.notebooks))
