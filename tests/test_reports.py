"""render_reports end to end on a small synthetic Dataset, failure atomicity, the site index."""

from __future__ import annotations

import json
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sro_analysis import __version__
from sro_analysis.notebooks import NOTEBOOKS, notebook_path
from sro_analysis.report_sets import REPORT_SETS, ata_headline, report_set
from sro_analysis.reports import (
    ReportError,
    execute_notebook,
    inject_parameters,
    render_reports,
    write_site_index,
)


class _Tags(HTMLParser):
    """Collects img/script/link/a tags and their attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(path: Path, name: str) -> list[dict]:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return [attrs for tag, attrs in parser.tags if tag == name]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from sro_analysis import synthetic
    from sro_analysis.clean import clean

    root = tmp_path_factory.mktemp("reports-synthetic")
    synthetic.write_release(root / "raw", n_incidents=1000, seed=7)
    return clean("synthetic", root / "raw", progress=False).save(root / "dataset")


@pytest.fixture(scope="module")
def site(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "synthetic"
    return render_reports(dataset, out, title="Synthetic demo district", parameters={"min_n": 10}, progress=False)


def test_index_lists_the_summary_and_five_reports_and_provenance(site, dataset):
    index = site.index.read_text(encoding="utf-8")
    links = [a["href"] for a in _tags(site.index, "a")]
    pages = [f"{n.stem}.html" for n in NOTEBOOKS]
    assert pages[0] == "00-summary.html" and len(pages) == 6
    assert links == [*pages, "methods.html#publication-rules", "methods.html"]
    for info in NOTEBOOKS:
        assert info.question.replace("'", "&#x27;") in index
    provenance = json.loads((dataset / "provenance.json").read_text())
    for item in provenance["inputs"]:  # every input file with its sha256
        assert item["sha256"] in index and item["path"] in index
    import pandas as pd

    ledger = pd.read_parquet(dataset / "ledger.parquet")
    assert f"{len(ledger):,} raw rows" in index
    assert f"sro-analysis {__version__}" in index
    manifest = json.loads((site.index.parent / "site.json").read_text())
    assert [p["file"] for p in manifest["pages"]] == pages
    assert manifest["set"] == "synthetic"


def test_pages_hide_code_and_show_no_errors(site):
    assert len(site.pages) == 6
    for page in site.pages:
        body = page.read_text(encoding="utf-8").split("</head>", 1)[1]  # the stylesheet names every class
        # markdown cells render inside an input area too; code shows as an editor with a prompt
        assert "jp-InputPrompt" not in body and "jp-CodeMirrorEditor" not in body, page.name
        assert "hl-ipython3" not in body, page.name
        assert "import sro_analysis" not in body, page.name  # no code cell leaked
        assert "Traceback" not in body and "application/vnd.jupyter.stderr" not in body, page.name
        assert "Error" not in body, page.name  # no exception name in what readers see


def test_every_image_is_inline_with_alt_text(site):
    total = 0
    for page in site.pages:
        images = _tags(page, "img")
        total += len(images)
        for img in images:
            assert img.get("alt", "").strip(), f"{page.name}: an image without alt text"
            assert img["src"].startswith("data:image/png;base64,")
    assert total >= 6  # ledger, funnel, caterpillar, trends, de-escalation, forest plot...
    # the published files sit next to the pages: SVG, PDF, PNG, CSV and alt text per figure
    alts = sorted((site.index.parent / "figures").rglob("*.alt.txt"))
    assert len(alts) == total
    for alt in alts:
        assert all(alt.with_name(alt.name.replace(".alt.txt", ext)).exists() for ext in (".svg", ".pdf", ".png", ".csv"))


def test_pages_load_nothing_from_the_network(site):
    for page in [*site.pages, site.index]:
        for script in _tags(page, "script"):
            assert "src" not in script, f"{page.name} loads a script: {script}"
        for link in _tags(page, "link"):
            assert not link.get("href", "").startswith("http"), page.name


def test_pages_pass_the_privacy_scan(site):
    from sro_analysis.privacy import scan_html

    for page in site.pages:
        assert scan_html(page, min_n=10) == [], page.name


def test_failing_notebook_raises_and_leaves_the_site_untouched(tmp_path):
    out = tmp_path / "reports" / "set"
    out.mkdir(parents=True)
    (out / "index.html").write_text("previous site")
    with pytest.raises(ReportError) as caught:
        render_reports(tmp_path / "no-such-dataset", out, progress=False,
                       notebooks=[notebook_path("01-data-quality")])
    message = str(caught.value)
    assert "01-data-quality" in message
    assert "nb.load(dataset_dir, school_years)" in message  # the failing cell's source
    assert "FileNotFoundError" in message and "no-such-dataset" in message
    assert (out / "index.html").read_text() == "previous site"
    assert sorted(p.name for p in out.parent.iterdir()) == ["set"]  # no temporary folder left


def test_unknown_parameter_is_refused(dataset, tmp_path):
    with pytest.raises(ReportError, match="min_count"):
        render_reports(dataset, tmp_path / "out", parameters={"min_count": 5}, progress=False)
    assert not (tmp_path / "out").exists()


def test_inject_parameters_after_the_parameters_cell():
    import jupytext

    nb = jupytext.read(notebook_path("05-disparities"))
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    inject_parameters(nb, {"reference": "all_others", "min_n": 20, "school_years": ["2019-20"], "other": 1})
    injected = nb.cells[tagged[0] + 1]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert "reference = 'all_others'" in injected.source
    assert "min_n = 20" in injected.source and "school_years = ['2019-20']" in injected.source
    assert "other = 1" not in injected.source  # not a parameter of this notebook


def test_kernel_is_this_interpreter(tmp_path):
    source = ('# %% tags=["parameters"]\nx = 1\n\n# %%\nimport sys\nprint(sys.executable, x)\n')
    path = tmp_path / "probe.py"
    path.write_text(source)
    nb = execute_notebook(path, {"x": 2}, workdir=tmp_path)
    printed = nb.cells[-1].outputs[0]["text"].strip()
    assert printed == f"{sys.executable} 2"


def test_rendering_is_deterministic(dataset, tmp_path):
    two = [notebook_path("00-summary"), notebook_path("04-de-escalation")]
    a = render_reports(dataset, tmp_path / "a", notebooks=two, progress=False)
    b = render_reports(dataset, tmp_path / "b", notebooks=two, progress=False)
    for page_a, page_b in zip(a.pages, b.pages):
        assert page_a.read_bytes() == page_b.read_bytes(), page_a.name
        assert b"execution_count" not in page_a.read_bytes() and b"iopub" not in page_a.read_bytes()
    for name in ("index.html", "methods.html", "site.json"):
        assert (a.index.parent / name).read_bytes() == (b.index.parent / name).read_bytes(), name


def test_site_index_lists_every_report_set_with_its_headline(site, dataset, tmp_path):
    import shutil

    from click.testing import CliRunner

    from sro_analysis.cli import main
    from sro_analysis.notebooks import load

    root = tmp_path / "reports"
    shutil.copytree(site.index.parent, root / "synthetic")
    (root / "README.md").write_text("generated")
    result = CliRunner().invoke(main, ["report", "--index", str(root)])
    assert result.exit_code == 0, result.output
    index = (root / "index.html").read_text(encoding="utf-8")
    hrefs = [a["href"] for a in _tags(root / "index.html", "a")]
    assert hrefs[:3] == ["methods.html", "synthetic/index.html", "synthetic/00-summary.html"]
    assert "synthetic/01-data-quality.html" in hrefs
    assert "Synthetic demo district" in index
    # the headline is the set's ATA over the whole Dataset, as the summary page says it
    headline = ata_headline(load(dataset), 10)
    assert headline.computed and headline.value.endswith("%")
    expected = f"<strong>Alternatives-to-arrest rate: {headline.value}</strong> (95% interval {headline.interval})"
    assert expected.replace("–", "&ndash;") in index or expected in index
    summary = (root / "synthetic" / "00-summary.html").read_text(encoding="utf-8")
    assert f"Alternatives-to-arrest rate: {headline.value}" in summary and headline.interval in summary
    assert (root / "methods.html").exists()
    assert write_site_index(root) == root / "index.html"


# -- what a reader sees -------------------------------------------------------------------------

class _Text(HTMLParser):
    """Visible text of a page (not the stylesheet or scripts), and the text of each table cell."""

    def __init__(self):
        super().__init__()
        self.skip = 0
        self.text: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skip += 1
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skip -= 1
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def _visible(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_readers_see_no_nan_no_raw_ids_and_schools_by_name(site, dataset):
    import re

    import pandas as pd

    schools = pd.read_parquet(dataset / "tables" / "schools.parquet", columns=["school_id", "name"])
    school_ids = set(schools["school_id"].astype(str))
    for page in [*site.pages, site.index]:
        seen = _visible(page)
        text = " ".join(seen.text)
        assert not re.search(r"\bnan\b|\bNaN\b|<NA>|\bNone\b", text), page.name
        assert not re.search(r"\b[a-z]{3}-[0-9a-f]{16}\b", text), f"{page.name}: a raw uid reaches readers"
        assert not school_ids & set(seen.cells), f"{page.name}: a school shown by its id"
    by_school = _visible(site.index.parent / "02-alternatives-by-school.html")
    assert set(schools["name"]) & set(by_school.cells), "schools appear by name"


def test_every_link_resolves(site):
    import re

    folder = site.index.parent
    for page in [*site.pages, site.index, folder / "methods.html"]:
        for a in _tags(page, "a"):
            href = a["href"]
            if href.startswith(("http://", "https://", "mailto:")):
                continue
            target, _, anchor = href.partition("#")
            path = folder / target if target else page
            assert path.exists(), f"{page.name}: dead link {href}"
            if anchor:
                assert re.search(f'id="{re.escape(anchor)}"', path.read_text(encoding="utf-8")), f"{page.name}: {href}"


def test_methods_page_holds_the_definitions_statistics_and_rules(site):
    methods = (site.index.parent / "methods.html").read_text(encoding="utf-8")
    for anchor in ("definitions", "statistics", "disparities", "linkage", "publication-rules", "sources"):
        assert f'id="{anchor}"' in methods
    assert "Wilson" in methods and "Spiegelhalter" in methods and "&lt;10" in methods


def test_report_sets_are_registrations():
    assert [s.key for s in REPORT_SETS] == ["synthetic", "chicago"]
    for item in REPORT_SETS:
        assert item.pages[0] == "00-summary"
        assert all(notebook_path(stem).exists() for stem in item.pages)
    with pytest.raises(KeyError, match="registered: synthetic, chicago"):
        report_set("atlantis")


def test_chicago_summary_says_no_ata_rate_and_shows_the_station_adjustment_share(tmp_path):
    """A Chicago-shaped Dataset (aggregate juvenile dispositions only): the summary declines the ATA
    rate in its first lines and leads with the station-adjustment share (406 of 1,274 in the
    example counts: 31.9%, Wilson 29.4% to 34.5%)."""
    from sro_analysis.dataset import Dataset
    from sro_analysis.metrics.rates import example_counts

    ds = Dataset.empty(source="chicago")
    ds.tables["counts"] = example_counts()
    dataset = ds.save(tmp_path / "dataset")
    site = render_reports(dataset, tmp_path / "chicago", report_set="chicago", progress=False,
                          notebooks=[notebook_path("00-summary")])
    seen = _visible(site.pages[0])
    text = " ".join(" ".join(seen.text).split())
    assert text.index("Chicago public records: summary") < text.index("never identify students")
    assert "no ATA rate is computed" in text
    assert text.index("Alternatives-to-arrest rate: not computed from these records.") < text.index("31.9%")
    assert ("Juvenile arrests kept out of court (station adjustments): 31.9% (95% interval 29.4% – 34.5%)"
            in text)
    assert "406 of 1,274 juvenile arrests with a recorded disposition" in text
    manifest = json.loads((site.index.parent / "site.json").read_text())
    assert manifest["set"] == "chicago" and manifest["headline"]["value"] == "31.9%"
    assert "no ATA rate is computed" in manifest["headline"]["note"]
