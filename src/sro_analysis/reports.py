"""Batch HTML reports: execute every report notebook on a Dataset and render a site with an index.

``render_reports(dataset_dir, out_dir)`` reads each notebook (jupytext ``py:percent``, shipped
in :mod:`sro_analysis.notebooks`), injects its parameters after the cell tagged ``parameters``
(as papermill does), executes it with nbclient on *this* interpreter, and renders HTML for
readers with nbconvert: code hidden, figures inline with their alt text, no external scripts,
no timestamps. The site is built in a temporary folder and moved into place only when every
notebook succeeded, so a failing cell leaves the previous site (or nothing) and raises a
:class:`ReportError` naming the notebook, the cell and the error.

Layout of a report set::

    OUT/index.html            the headline, the reports, their questions, the data's provenance
    OUT/00-summary.html       the summary page: headline in words, one chart, caveats, links
    OUT/methods.html          docs/methods.md (definitions, statistics, publication rules)
    OUT/NN-name.html          one page per notebook
    OUT/figures/NN-name/      every figure as SVG, PDF, PNG, CSV of the plotted numbers, alt text
    OUT/site.json             title, source, pages (read by write_site_index)

``sro-analysis report --index reports`` writes ``reports/index.html`` listing every report set
folder with its headline number (the report sets themselves are registered in
:mod:`sro_analysis.report_sets`).

Example:
    >>> [p.stem for p in notebook_files()][:2]
    ['00-summary', '01-data-quality']
"""

from __future__ import annotations

import ast
import html
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sro_analysis import __version__
from sro_analysis.atomic import atomic_directory, write_text_atomic
from sro_analysis.notebooks import NOTEBOOKS, NotebookInfo, notebook_path
from sro_analysis.report_sets import REPORT_SETS, ReportSet, report_set_for_source
from sro_analysis.report_sets import report_set as registered_set

__all__ = ["ReportError", "ReportSite", "execute_notebook", "methods_markdown", "notebook_files", "render_reports",
           "write_methods_page", "write_site_index"]

#: Seconds one cell may run before the report fails.
CELL_TIMEOUT = 600
KERNEL_NAME = "python3"


class ReportError(RuntimeError):
    """A notebook failed: which notebook, which cell, what error."""


@dataclass
class ReportSite:
    """What :func:`render_reports` wrote: the page paths and the index."""

    pages: list[Path]
    index: Path


def notebook_files() -> list[Path]:
    """The report notebooks, in report order."""
    return [notebook_path(info.stem) for info in NOTEBOOKS]


# -- executing ----------------------------------------------------------------------------------

def _kernel_manager_class():
    """A KernelManager whose ``python3`` kernel is always this interpreter.

    A user-level ``python3`` kernelspec (``~/.local/share/jupyter/kernels``) may point at another
    Python without this package; reports must run on the environment that renders them.
    """
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager

    class ThisInterpreterKernelManager(KernelManager):
        def __init__(self, **kwargs):
            # IPC sockets where available (no TCP port open to other local users), at an absolute
            # path: the kernel runs in the report folder, the client elsewhere.
            if os.name != "nt":
                import tempfile

                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", os.path.join(tempfile.mkdtemp(prefix="sro-kernel-"), "kernel"))
            super().__init__(**kwargs)

        def cleanup_resources(self, restart: bool = False) -> None:
            super().cleanup_resources(restart=restart)
            if self.transport == "ipc" and not restart:  # the socket folder made above
                import shutil

                shutil.rmtree(os.path.dirname(self.ip), ignore_errors=True)

        @property
        def kernel_spec(self):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python 3 (ipykernel)", language="python", name=KERNEL_NAME)

    return ThisInterpreterKernelManager


def _parameter_names(source: str) -> list[str]:
    tree = ast.parse(source)
    return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]


def inject_parameters(nb, parameters: dict, *, name: str = "notebook"):
    """Insert a cell tagged ``injected-parameters`` right after the ``parameters`` cell.

    Only names the parameters cell defines are injected (others are ignored for this notebook);
    values are written with ``repr`` so strings, numbers, lists and None round-trip.
    """
    import nbformat

    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise ReportError(f"{name}: no cell tagged 'parameters'")
    known = _parameter_names(nb.cells[index].source)
    lines = [f"{key} = {value!r}" for key, value in parameters.items() if key in known]
    cell = nbformat.v4.new_code_cell("# Parameters injected by sro-analysis report\n" + "\n".join(lines),
                                     metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)
    return nb


def _failed_cell(nb):
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return cell, output
    return None, None


def execute_notebook(path: Path, parameters: dict, *, workdir: Path, timeout: int = CELL_TIMEOUT):
    """Read, parameterise and execute one notebook; return the executed nbformat notebook."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = jupytext.read(path)
    inject_parameters(nb, parameters, name=path.stem)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, record_timing=False,
                            kernel_manager_class=_kernel_manager_class(), allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        cell, output = _failed_cell(nb)
        excerpt = "\n".join((cell.source if cell is not None else "").splitlines()[:8])
        error = (f"{output.get('ename')}: {output.get('evalue')}" if output is not None
                 else str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__)
        raise ReportError(f"notebook {path.stem} failed in cell:\n{excerpt}\n-> {error}") from exc
    return nb


# -- rendering ----------------------------------------------------------------------------------

# The lab template without its CDN scripts (require.js, MathJax, mermaid): the pages are
# self-contained and make no request when a reader opens them. Images carry their alt text.
_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
main { max-width: 62rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
.sro-nav { font-size: 0.9rem; margin: 0 auto 1rem; max-width: 62rem; padding: 0 1.5rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
table.sro-table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
table.sro-table caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.25rem 0; }
table.sro-table th, table.sro-table td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; }
table.sro-table td { white-space: nowrap; }
table.sro-table td:last-child { white-space: normal; }
.jp-RenderedHTMLCommon table.sro-table td:last-child, .jp-RenderedHTMLCommon table.sro-table th:last-child { text-align: left; }
.jp-RenderedHTMLCommon table.sro-table td:first-child, .jp-RenderedHTMLCommon table.sro-table th:first-child { text-align: left; }
.jp-RenderedHTMLCommon table.sro-table td:first-child { white-space: normal; min-width: 14rem; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
.sro-footer { margin: 3rem auto 0; max-width: 62rem; padding: 0 1.5rem; font-size: 0.8rem; color: #555;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
</style>
{%- endblock extra_css -%}
{% block body_header %}
{{ super() }}
<nav class="sro-nav"><a href="index.html">&larr; This report set</a> &middot; <a href="00-summary.html">Summary</a> &middot; <a href="methods.html">Methods</a></nav>
{% endblock body_header %}
{% block body_footer %}
<footer class="sro-footer">{{ nb.metadata.get('sro_footer', '') | escape_html_keep_quotes }}</footer>
{{ super() }}
{% endblock body_footer %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ ((output | get_metadata('alt', 'image/png')) or '') | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width="{{ width | escape_html }}"{%- endif %}>
</div>
{% endblock data_png %}
"""


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[DictLoader({"sro_report.html.j2": _TEMPLATE})],
                            template_file="sro_report.html.j2")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    return exporter


def _strip_metadata(nb) -> None:
    """Drop execution metadata (counts, timings, ids) so equal inputs give equal HTML."""
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None


def render_html(nb, *, title: str, footer: str) -> str:
    """Reader HTML of an executed notebook (no code, no prompts, alt text on images)."""
    _strip_metadata(nb)
    nb.metadata["title"] = title
    nb.metadata["sro_footer"] = footer
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def _officer_names(dataset_dir: Path) -> list[str]:
    """"LAST, FIRST" of every officer named in an incident or force report (for the leak scan)."""
    import pandas as pd

    tables = dataset_dir / "tables"
    if not (tables / "officers.parquet").exists():
        return []
    officers = pd.read_parquet(tables / "officers.parquet", columns=["officer_uid", "first_name_ns", "last_name_ns"])
    involved = set()
    for name, column in (("incident_officers", "officer_uid"), ("force_reports", "officer_uid"),
                         ("outcomes", "decided_by_officer_uid")):
        if (tables / f"{name}.parquet").exists():
            involved |= set(pd.read_parquet(tables / f"{name}.parquet", columns=[column])[column].dropna())
    named = officers[officers["officer_uid"].isin(involved)].dropna(subset=["first_name_ns", "last_name_ns"])
    return sorted({f"{last}, {first}" for first, last in zip(named["first_name_ns"], named["last_name_ns"])})


def _scan(path: Path, *, min_n: int, officer_names: list[str]) -> None:
    """Run the privacy leak scan on a rendered page (sro_analysis.privacy.scan_html)."""
    try:
        from sro_analysis.privacy import scan_html
    except ImportError:  # the privacy module is optional in a partial checkout
        return
    leaks = scan_html(path, min_n=min_n, officer_names=officer_names)
    if leaks:
        shown = "\n  ".join(str(leak) for leak in leaks[:10])
        raise ReportError(f"privacy scan of {path.name} found {len(leaks)} possible leak(s):\n  {shown}")


# -- index --------------------------------------------------------------------------------------

_PAGE_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:62rem;margin:0 auto;
padding:1.5rem;color:#222;line-height:1.45}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right}code{font-size:.8rem;word-break:break-all}.q{color:#444}footer{margin-top:3rem;font-size:.8rem;color:#555}"""


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
            f"{body}\n</main>\n<footer>sro-analysis {html.escape(__version__)}</footer>\n</body>\n</html>\n")


def _ledger_totals(dataset_dir: Path) -> dict[str, int]:
    import pandas as pd

    ledger = pd.read_parquet(dataset_dir / "ledger.parquet", columns=["status"])
    counts = ledger["status"].value_counts()
    return {"raw rows": int(len(ledger)), **{s: int(counts.get(s, 0)) for s in ("kept", "merged", "rejected")}}


def _headline_html(headline: dict) -> str:
    """The headline of a set as HTML: what it cannot show first (if anything), then its number."""
    first = ""
    if headline.get("instead_of"):
        first = (f"<strong>{html.escape(headline['instead_of'])}: not computed from these records.</strong> "
                 f"{html.escape(headline.get('note', ''))}<br>")
    if headline.get("computed"):
        interval = f" (95% interval {html.escape(headline['interval'])})" if headline.get("interval") else ""
        basis = f"<br><span class=\"q\">{html.escape(headline['basis'])}</span>" if headline.get("basis") else ""
        period = f", {html.escape(headline['period'])}" if headline.get("period") else ""
        text = (f"<strong>{html.escape(headline['measure'])}: {html.escape(headline['value'])}</strong>"
                f"{interval}{period}{basis}")
    else:
        text = f"<strong>{html.escape(headline.get('measure', 'Headline'))}: not computed from these records.</strong>"
    note = f"<br>{html.escape(headline['note'])}" if headline.get("note") and not first else ""
    return f'<p class="headline">{first}{text}{note}</p>'


def _index_html(title: str, pages: list[tuple[NotebookInfo, str]], provenance: dict, totals: dict,
                parameters: dict, headline: dict | None = None, assignments: int = 0) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(href)}"><strong>{html.escape(info.title)}</strong></a>'
        f'<br><span class="q">{html.escape(info.question)}</span></li>' for info, href in pages)
    inputs = provenance.get("inputs") or []
    rows = "\n".join(
        f"<tr><td>{html.escape(str(i.get('path', '')))}</td><td class='num'>{int(i.get('bytes', 0)):,}</td>"
        f"<td><code>{html.escape(str(i.get('sha256', '')))}</code></td></tr>" for i in inputs)
    roster = provenance.get("roster")
    if isinstance(roster, dict):
        roster_line = (f"<p>SRO roster: {html.escape(str(roster.get('path')))} "
                       f"(<code>{html.escape(str(roster.get('sha256')))}</code>)</p>")
    elif assignments:  # a roster that came with the source's own files (e.g. the synthetic release)
        roster_line = f"<p>SRO roster: {assignments:,} assignments, from the source's own files.</p>"
    else:
        roster_line = "<p>SRO roster: none supplied (assigned-SRO analyses are not possible).</p>"
    ledger = ", ".join(f"{v:,} {k}" for k, v in totals.items())
    params = ", ".join(f"{html.escape(k)} = {html.escape(repr(v))}" for k, v in sorted(parameters.items()))
    body = (f"<h1>{html.escape(title)}</h1>\n" + (_headline_html(headline) + "\n" if headline else "") +
            f"<p>Reports on the Dataset from source <strong>{html.escape(str(provenance.get('source', '?')))}</strong>, "
            f"cleaned with sro-analysis {html.escape(str(provenance.get('package_version', '?')))}; "
            f"rendered with sro-analysis {html.escape(__version__)}. Parameters: {params}.</p>\n"
            f"<h2>Reports</h2>\n<ol>\n{items}\n</ol>\n"
            f"<h2>Provenance</h2>\n<p>Ledger: {ledger}. Every raw row is kept, merged into another record "
            f"or rejected with a reason (see the data-quality report).</p>\n{roster_line}\n"
            f"<table>\n<thead><tr><th>input file</th><th>bytes</th><th>sha256</th></tr></thead>\n<tbody>\n{rows}\n"
            f"</tbody>\n</table>\n"
            "<p>Figures, with the numbers plotted (CSV) and their alt text, are in <code>figures/</code>. "
            "Tables and figures are aggregates under the <a href=\"methods.html#publication-rules\">publication "
            "rules</a>: no record-level juvenile data, counts of 1-9 shown as \"&lt;10\", no dates finer than the "
            "school year. Definitions and statistics: <a href=\"methods.html\">methods</a>.</p>")
    return _page(title, body)


# -- the command --------------------------------------------------------------------------------

def render_reports(dataset_dir: str | os.PathLike, out_dir: str | os.PathLike, *, title: str | None = None,
                   parameters: dict | None = None, progress=True, notebooks: list[Path] | None = None,
                   report_set: str | ReportSet | None = None) -> ReportSite:
    """Execute a report set's notebooks on a Dataset and write an HTML site to ``out_dir`` atomically.

    Args:
        dataset_dir: a Dataset folder written by ``sro-analysis clean``.
        out_dir: the report set folder (replaced as a whole on success, untouched on failure).
        title: title of the report set; default the set's title.
        parameters: values for the notebooks' ``parameters`` cells (e.g. ``{"min_n": 10}``);
            ``dataset_dir``, ``figures_dir`` and ``report_set`` are set here.
        progress: show a progress bar (or a callable ``advance(step, description)``).
        notebooks: notebook files to run (default: the set's pages, the summary first).
        report_set: a key of :data:`~sro_analysis.report_sets.REPORT_SETS` or a
            :class:`~sro_analysis.report_sets.ReportSet`; default the set of the Dataset's source.

    Returns:
        A :class:`ReportSite`.

    Raises:
        ReportError: a cell failed (notebook, cell excerpt and error in the message), or a
            parameter names nothing any notebook accepts.
    """
    dataset_dir = Path(dataset_dir).resolve()
    out_dir = Path(out_dir)
    provenance = {}
    if (dataset_dir / "provenance.json").exists():
        provenance = json.loads((dataset_dir / "provenance.json").read_text(encoding="utf-8"))
    chosen = _chosen_set(report_set, provenance, dataset_dir)
    files = list(notebooks) if notebooks is not None else [notebook_path(stem) for stem in chosen.pages]
    infos = {i.stem: i for i in NOTEBOOKS}
    user = dict(parameters or {})
    _check_parameters(files, user)
    title = title or chosen.title
    footer = (f"Rendered by sro-analysis {__version__} from the Dataset of source "
              f"{provenance.get('source', '?')}. Aggregates only, under the publication rules on the methods page.")
    registered = chosen.key in {s.key for s in REPORT_SETS}

    from sro_analysis.progress import progress_bar

    officer_names = _officer_names(dataset_dir)
    written: list[tuple[NotebookInfo, str]] = []
    with atomic_directory(out_dir) as tmp, \
            progress_bar(progress, total=len(files), description="reports") as advance:
        for path in files:
            info = infos.get(path.stem, NotebookInfo(path.stem, path.stem, ""))
            advance(description=f"report {path.stem}")
            values = {"min_n": 10, **user, "dataset_dir": str(dataset_dir),
                      "figures_dir": str(Path("figures") / path.stem), "report_set": chosen.key if registered else ""}
            nb = execute_notebook(path, values, workdir=tmp)
            page = tmp / f"{path.stem}.html"
            write_text_atomic(page, render_html(nb, title=f"{info.title}: {title}", footer=footer))
            _scan(page, min_n=int(values["min_n"]), officer_names=officer_names)
            written.append((info, page.name))
            advance(step=1)
        headline, assignments = _set_headline(chosen, dataset_dir, user) if dataset_dir.is_dir() else ({}, 0)
        totals = _ledger_totals(dataset_dir) if (dataset_dir / "ledger.parquet").exists() else {}
        shown_params = {k: v for k, v in {"min_n": 10, **user}.items()}
        write_text_atomic(tmp / "index.html", _index_html(title, written, provenance, totals, shown_params,
                                                           headline, assignments))
        write_methods_page(tmp / "methods.html")
        manifest = {"title": title, "set": chosen.key, "source": provenance.get("source"),
                    "package_version": __version__, "headline": headline,
                    "pages": [{"file": href, "title": info.title, "question": info.question} for info, href in written]}
        write_text_atomic(tmp / "site.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _publishable_modes(tmp)
    return ReportSite(pages=[out_dir / href for _, href in written], index=out_dir / "index.html")


def _chosen_set(report_set, provenance: dict, dataset_dir: Path) -> ReportSet:
    if isinstance(report_set, ReportSet):
        return report_set
    if report_set:
        try:
            return registered_set(report_set)
        except KeyError as exc:
            raise ReportError(str(exc.args[0])) from exc
    return report_set_for_source(str(provenance.get("source", dataset_dir.name)))


def _check_parameters(files: list[Path], user: dict) -> None:
    """Refuse a parameter no notebook of the set accepts (a typo would otherwise be ignored)."""
    import jupytext

    accepted = set()
    for path in files:
        nb = jupytext.read(path)
        cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
        accepted |= set(_parameter_names(cell.source)) if cell is not None else set()
    unknown = sorted(set(user) - accepted)
    if unknown:
        raise ReportError(f"parameter(s) {unknown} are not accepted by any notebook; accepted: {sorted(accepted)}")


def _set_headline(chosen: ReportSet, dataset_dir: Path, user: dict) -> tuple[dict, int]:
    """The set's headline (as the summary page shows it) and the number of SRO assignments."""
    from sro_analysis.notebooks import load

    ds = load(dataset_dir, user.get("school_years"))
    return chosen.headline(ds, int(user.get("min_n", 10))).as_dict(), int(len(ds.sro_assignments))


def methods_markdown() -> str:
    """The methods text (``sro_analysis/methods.md``, ``docs/methods.md`` in a checkout)."""
    return (Path(__file__).resolve().parent / "methods.md").read_text(encoding="utf-8")


def write_methods_page(path: Path) -> Path:
    """Render the methods text to ``path``, each section heading with an anchor (``#publication-rules``)."""
    import re

    import mistune

    body = mistune.html(methods_markdown())
    body = re.sub(r"<h([23])>([^<]+)</h\1>",
                  lambda m: f'<h{m.group(1)} id="{re.sub(r"[^a-z0-9]+", "-", m.group(2).lower()).strip("-")}">'
                            f"{m.group(2)}</h{m.group(1)}>", body)
    nav = '<nav><a href="index.html">&larr; Reports</a></nav>\n'
    write_text_atomic(path, _page("Methods: sro-analysis reports", nav + body))
    return path


def _publishable_modes(folder: Path) -> None:
    """Pages and figures readable by a web server (temporary files are created 0600)."""
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def write_site_index(reports_root: str | os.PathLike) -> Path:
    """Write ``reports_root/index.html`` listing every report set folder (those holding a ``site.json``).

    Each set is listed with its headline number (or why there is none), its summary page and the
    detailed pages; the methods page is written beside the index.
    """
    root = Path(reports_root)
    root.mkdir(parents=True, exist_ok=True)
    sets = []
    for manifest in sorted(root.glob("*/site.json")):
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        folder = html.escape(manifest.parent.name)
        pages = "".join(f'<li><a href="{folder}/{html.escape(p["file"])}">{html.escape(p["title"])}</a></li>'
                        for p in meta.get("pages", []))
        headline = _headline_html(meta["headline"]) if meta.get("headline") else ""
        sets.append(f'<h2><a href="{folder}/index.html">{html.escape(meta.get("title", manifest.parent.name))}</a></h2>\n'
                    f"{headline}\n"
                    f'<p class="q">Source: {html.escape(str(meta.get("source")))}; rendered with sro-analysis '
                    f'{html.escape(str(meta.get("package_version")))}.</p>\n<ul>{pages}</ul>')
    body = ("<h1>sro-analysis reports</h1>\n<p>Alternatives to arrest, de-escalation and disparities in police "
            "work in schools. Each report set opens with a summary page; definitions, statistics and the "
            "publication rules are on the <a href=\"methods.html\">methods page</a>.</p>\n"
            + ("\n".join(sets) if sets else "<p>No report set has been rendered yet (run <code>make report</code>).</p>"))
    path = root / "index.html"
    write_text_atomic(path, _page("sro-analysis reports", body))
    write_methods_page(root / "methods.html")
    for page in (path, root / "methods.html"):
        os.chmod(page, 0o644)
    return path
