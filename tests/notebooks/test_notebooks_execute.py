"""Every report notebook executes on small data without an error output.

Three Datasets: a small synthetic release (every analysis possible), an empty Dataset (every
"not possible with these data" path) and, when ../shared/data is present, the real Chicago
records (no roster, no eligible contact, aggregate dispositions).
"""

from __future__ import annotations

import pytest

from sro_analysis.dataset import Dataset
from sro_analysis.notebooks import NOTEBOOKS, notebook_path
from sro_analysis.reports import execute_notebook

STEMS = [n.stem for n in NOTEBOOKS]


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory):
    from sro_analysis import synthetic
    from sro_analysis.clean import clean

    root = tmp_path_factory.mktemp("nb-synthetic")
    synthetic.write_release(root / "raw", n_incidents=1000, seed=7)
    return clean("synthetic", root / "raw", progress=False).save(root / "dataset")


@pytest.fixture(scope="module")
def empty_dataset(tmp_path_factory):
    return Dataset.empty(source="empty").save(tmp_path_factory.mktemp("nb-empty") / "dataset")


def _outputs(nb) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def _text(nb) -> str:
    parts = []
    for output in _outputs(nb):
        data = output.get("data", {})
        parts += [output.get("text", ""), data.get("text/markdown", ""), data.get("text/html", "")]
    return "\n".join(parts)


def _run(stem, dataset, tmp_path):
    nb = execute_notebook(notebook_path(stem), {"dataset_dir": str(dataset), "figures_dir": "figures", "min_n": 10},
                          workdir=tmp_path)
    errors = [o for o in _outputs(nb) if o["output_type"] == "error"]
    stderr = [o["text"] for o in _outputs(nb) if o["output_type"] == "stream" and o.get("name") == "stderr"]
    assert not errors, errors
    assert not stderr, f"{stem} wrote to stderr (warnings a reader would see):\n" + "\n".join(stderr)
    return nb


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_runs_on_synthetic(stem, synthetic_dataset, tmp_path):
    nb = _run(stem, synthetic_dataset, tmp_path)
    pngs = [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
    assert pngs, f"{stem} showed no figure"
    for output in pngs:  # every figure inline carries the alt text save_figure wrote
        assert output["metadata"]["image/png"]["alt"].strip()
    saved = sorted(p.name for p in (tmp_path / "figures").glob("*.alt.txt"))
    assert len(saved) == len(pngs), (saved, len(pngs))
    text = _text(nb)
    assert "Synthetic demo district" in text


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_degrades_on_empty_dataset(stem, empty_dataset, tmp_path):
    nb = _run(stem, empty_dataset, tmp_path)
    text = _text(nb)
    assert "No SRO roster supplied" in text
    if stem == "03-alternatives-by-officer":
        assert "No roster supplied: assigned-SRO analysis not possible" in text
    if stem == "02-alternatives-by-school":
        assert "No contact in these records meets the definition" in text


def test_parameters_reach_the_notebook(synthetic_dataset, tmp_path):
    """school_years restricts the data: only that year's rows appear in the trend table."""
    nb = execute_notebook(notebook_path("04-de-escalation"),
                          {"dataset_dir": str(synthetic_dataset), "school_years": ["2019-20"]}, workdir=tmp_path)
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in _outputs(nb))
    assert "2019-20" in html
    assert "2018-19" not in html and "2020-21" not in html


@pytest.fixture(scope="module")
def chicago_dataset(shared_data, tmp_path_factory):
    from sro_analysis import fetch
    from sro_analysis.clean import clean

    root = tmp_path_factory.mktemp("nb-chicago")
    fetch.fetch("chicago", cache_dir=root / "raw", mirror=shared_data, progress=False)
    return clean("chicago", root / "raw", progress=False).save(root / "dataset")


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_notebook_runs_on_chicago(stem, chicago_dataset, tmp_path):
    nb = _run(stem, chicago_dataset, tmp_path)
    text = _text(nb)
    assert "Tactical Response Reports exist only where force was reported" in text
    assert "no arrest recorded" in text
    assert "aggregate, by police district" in text
    if stem == "03-alternatives-by-officer":
        assert "No roster supplied: assigned-SRO analysis not possible" in text
    if stem == "02-alternatives-by-school":  # FPA from the district dispositions, e.g. district 1: 126 / 410
        assert "Formal-processing avoidance by police district" in text
        assert "126" in text and "410" in text
