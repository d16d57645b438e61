"""Command line: ``sro-analysis fetch | clean | publish | report | bench``.

Every command prints what it did and exits non-zero with a plain message (no traceback) on
bad input. Run ``sro-analysis COMMAND --help`` for the options of each.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sro_analysis import __version__

#: Where a Dataset goes by default, per source (record-level: never published as is).
DEFAULT_DATASET_DIR = Path("data/interim")


class UserError(click.ClickException):
    """An error the user can fix; shown as one message, exit code 1."""


def _fail(exc: BaseException) -> None:
    raise UserError(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sro-analysis")
def main() -> None:
    """Audit police work in schools: clean records, compute alternatives-to-arrest and
    de-escalation rates per school and officer, publish privacy-safe data and HTML reports.

    \b
    Typical run on the embedded demo data:
      sro-analysis clean --source synthetic --out data/interim/synthetic
      sro-analysis report --dataset data/interim/synthetic --out reports/synthetic
      sro-analysis publish --dataset data/interim/synthetic --out data/processed/synthetic
    """


def _family_choices() -> list[str]:
    from sro_analysis.sources import FAMILIES

    return sorted(FAMILIES) + ["mapped"]


@main.command()
@click.option("--source", "source", type=click.Choice(_family_choices()), default="synthetic", show_default=True,
              help="Source family: the embedded synthetic release, a family of built-in public-record sources "
              "(chicago, ...), or 'mapped' for files described only by --mapping. With a family, --mapping adds "
              "the mapped sources to the family's in one run.")
@click.option("--raw", "raw_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of raw files, searched recursively. Files are recognised by their header (CSV, gzipped "
              "CSV, Excel .xlsx/.xlsm with every sheet, title rows above the header), not by their name. "
              "Default for synthetic: data/raw/synthetic (generated when missing).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write the Dataset to (tables/*.parquet, ledger.parquet, provenance.json).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              help="YAML mapping describing another jurisdiction's files (docs/mapping.md); may be repeated.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="SRO roster CSV (officer x school x start/end date x role); see docs/roster-format.md.")
@click.option("--allow-unused", is_flag=True,
              help="Go on when a data file is read by no source (its rows are rejected in the ledger as "
              "file_not_used) instead of stopping with the list of such files and what each lacks.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler to stage files on (e.g. tcp://10.0.0.5:8786, started with `dask scheduler` "
              "and `dask worker`); the work folder must then be on storage every worker shares. "
              "Default: in this process.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for intermediate Parquet parts and DuckDB spill files (default: a temporary folder).")
@click.option("--memory-limit", default="2GB", show_default=True,
              help="Memory DuckDB may use before spilling to the work folder.")
@click.option("--seed", type=int, default=20181, show_default=True, help="Seed of the synthetic generator.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def clean(source, raw_dir, out_dir, mapping, roster, allow_unused, scheduler, work_dir, memory_limit, seed, quiet):
    """Turn raw records into a validated Dataset; every raw row is kept, merged or rejected.

    \b
    Every file under --raw is accounted for: read by a source, listed as documentation, or (a
    data file nothing reads) an error naming the file and the columns it lacks.
    """
    from rich.console import Console

    from sro_analysis.clean import clean as clean_records

    # Off a terminal (CI logs, pipes) rich would squeeze tables to 80 columns: give them room.
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
    try:
        sources = _chosen_sources(source, mapping)
        if source == "synthetic":
            raw_dir = _synthetic_raw(console, raw_dir, seed)
        if raw_dir is None:
            raise UserError(f"--source {source} needs --raw DIR (the folder holding the files)")
        if not raw_dir.exists():
            raise UserError(f"raw folder {raw_dir} does not exist")
        ds = clean_records(source, raw_dir, sources=sources, roster=roster, progress=not quiet,
                            parameters={"seed": seed} if source == "synthetic" else {}, allow_unused=allow_unused,
                            scheduler=scheduler, work_dir=work_dir, memory_limit=memory_limit)
        ds.save(out_dir)
    except (ValueError, KeyError, OSError) as exc:
        _fail(exc)
    _print_clean_summary(console, ds, ds.ledger_summary(), out_dir)


def _chosen_sources(source: str, mapping) -> list | None:
    """The family's sources plus any mapped ones (None: the family alone, the engine's default)."""
    if source == "mapped" and not mapping:
        raise UserError("--source mapped needs --mapping FILE.yaml")
    if not mapping:
        return None
    from sro_analysis.sources import sources_for
    from sro_analysis.sources.mapped import sources_from_mapping

    mapped = [s for path in mapping for s in sources_from_mapping(path)]
    return mapped if source == "mapped" else sources_for(source) + mapped


def _synthetic_raw(console, raw_dir, seed) -> Path:
    from sro_analysis import synthetic

    raw_dir = raw_dir or Path("data/raw/synthetic")
    if not raw_dir.exists() or not any(raw_dir.iterdir()):
        console.print(f"generating the synthetic release into {raw_dir} (seed {seed})")
        synthetic.write_release(raw_dir, seed=seed)
    return raw_dir


def _print_clean_summary(console, ds, summary, out_dir) -> None:
    from rich.table import Table

    t = Table(title="rows per raw file", show_lines=False)
    for col in ("file", "rows in", "kept", "merged", "rejected", "rejected by reason"):
        t.add_column(col, justify="right" if col not in ("file", "rejected by reason") else "left")
    for r in summary.itertuples(index=False):
        t.add_row(r.source_file, f"{r.rows:,}", f"{r.kept:,}", f"{r.merged:,}", f"{r.rejected:,}", r.rejected_by_reason)
    console.print(t)
    for key, what in (("unused_files", "data file(s) read by no source (rows rejected as file_not_used)"),
                      ("not_data_files", "file(s) that are not data (documentation, manifests)")):
        items = ds.provenance.get(key, [])
        if items:
            console.print(f"[yellow]{len(items)} {what}:[/yellow]" if key == "unused_files" else f"{len(items)} {what}:")
            for item in items:
                console.print(f"  {item['path']}: {item['reason']}", markup=False)
    for note in ds.provenance.get("notes", []):
        console.print(f"note: {note}", markup=False)
    unmapped = ds.unmapped_labels()
    if len(unmapped):
        console.print(f"[yellow]{len(unmapped)} unmapped label(s) (rows rejected, see the ledger):[/yellow]")
        for r in unmapped.head(20).itertuples(index=False):
            console.print(f"  {r.source_file} column {r.column!r}: {r.value!r} x{r.rows}")
    console.print(repr(ds))
    click.echo(f"Dataset written to {out_dir}")


class _FetchCommand(click.Command):
    """``fetch``, whose help lists what each catalogue family holds (read only when asked)."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        from sro_analysis.fetch import family_summaries

        with formatter.section("Families"):
            formatter.write_dl(family_summaries())


#: Choices of ``sro-analysis fetch``: the catalogue families and ``all`` (tests check they
#: match ``sro_analysis.fetch.FAMILIES``; listed here so the CLI starts without importing fetch).
FETCH_CATALOGS = ("chicago", "chicago-full-city", "nyc", "louisiana", "all")


@main.command(cls=_FetchCommand)
@click.argument("catalog", type=click.Choice(FETCH_CATALOGS), default="chicago")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path), default=None,
              help="Cache folder (default $SRO_ANALYSIS_CACHE/CATALOG, or ~/.cache/sro-analysis/CATALOG).")
@click.option("--mirror", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Take the files from a local folder laid out like the catalogue (e.g. ../shared/data).")
@click.option("--force", is_flag=True, help="Download again even when a verified copy is cached.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def fetch(catalog, cache_dir, mirror, force, quiet):
    """Download the public originals of one catalogue family (or all) into a cache, with
    checksums and resumable progress; with --mirror, copy them from a local folder instead.

    \b
    Examples:
      sro-analysis fetch chicago --mirror ../shared/data --cache data/raw/chicago
      sro-analysis fetch nyc --cache data/raw/nyc        # download from GitHub
    """
    from sro_analysis import fetch as fetch_mod

    try:
        report = fetch_mod.fetch(catalog, cache_dir=cache_dir, mirror=mirror, progress=not quiet, force=force)
    except fetch_mod.FetchError as exc:
        _fail(exc)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--dataset", "dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A Dataset folder written by `sro-analysis clean`.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Release folder, e.g. data/processed/chicago.")
@click.option("--tier", type=click.Choice(["public", "restricted"]), default="public", show_default=True,
              help="public: suppressed aggregates only. restricted: record level, for the agency or an approved researcher.")
@click.option("--officer-identity", type=click.Choice(["hashed", "names"]), default="hashed", show_default=True,
              help="How officers are identified in per-officer tables: stable salted hashes, or names (opt-in).")
@click.option("--min-n", type=int, default=10, show_default=True, help="Minimum denominator / small-cell threshold (never below 5).")
def publish(dataset_dir, out_dir, tier, officer_identity, min_n):
    """Write a documented, validated, privacy-safe data package (CSV + Parquet + datapackage.json)."""
    from sro_analysis import publish as publish_mod

    try:
        release = publish_mod.publish(dataset_dir, out_dir, tier=tier, officer_identity=officer_identity, min_n=min_n)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        _fail(exc)
    click.echo(release.summary())


def _report_set_choices() -> list[str]:
    from sro_analysis.report_sets import REPORT_SETS

    return [s.key for s in REPORT_SETS]


@main.command()
@click.option("--set", "set_key", type=click.Choice(_report_set_choices()), default=None,
              help="A registered report set (its Dataset folder and notebooks; see sro_analysis.report_sets). "
              "--dataset and --out default to the set's Dataset folder and reports/SET.")
@click.option("--dataset", "dataset_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A Dataset folder written by `sro-analysis clean` (its source picks the report set).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Report site folder, e.g. reports/chicago.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write INDEX/index.html listing every rendered report set with its headline number "
              "(alone, or after rendering a set).")
@click.option("--name", default=None, help="Title of the report set (default: the set's title).")
@click.option("--min-n", type=int, default=10, show_default=True, help="Suppression threshold passed to every notebook.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def report(set_key, dataset_dir, out_dir, index_dir, name, min_n, quiet):
    """Execute a report set's notebooks on a Dataset and render an HTML site: a summary page with
    the headline number, the detailed pages and the methods.

    \b
    Examples:
      sro-analysis report --set synthetic --index reports     # data/interim/synthetic -> reports/synthetic
      sro-analysis report --dataset data/interim/nyc --out reports/nyc
      sro-analysis report --index reports                     # only the list of sets
    """
    from sro_analysis import reports
    from sro_analysis.report_sets import report_set

    chosen = report_set(set_key) if set_key else None
    if chosen is not None:
        dataset_dir = dataset_dir or Path(chosen.dataset)
        out_dir = out_dir or Path("reports") / chosen.key
    if dataset_dir is None and index_dir is None:
        raise UserError("give --set SET, --dataset DIR with --out DIR, or --index DIR")
    if dataset_dir is not None:
        if out_dir is None:
            raise UserError("--dataset needs --out DIR (or use --set)")
        if not dataset_dir.is_dir():
            raise UserError(f"Dataset folder {dataset_dir} does not exist; create it with `sro-analysis clean`")
        try:
            site = reports.render_reports(dataset_dir, out_dir, title=name, parameters={"min_n": min_n},
                                          progress=not quiet, report_set=chosen)
        except reports.ReportError as exc:
            _fail(exc)
        click.echo(f"{len(site.pages)} report(s) written; open {site.index}")
    if index_dir is not None:
        click.echo(f"wrote {reports.write_site_index(index_dir)}")


@main.command()
@click.option("--sizes", default="1e5,1e6", show_default=True, help="Comma-separated raw row counts (1e7 takes minutes).")
@click.option("--schedulers", default="in-process,dask", show_default=True,
              help="Comma-separated: in-process, dask (a two-worker LocalCluster).")
@click.option("--out", "out_csv", type=click.Path(path_type=Path), default=Path("benchmarks/results.csv"), show_default=True)
@click.option("--work", "work_dir", type=click.Path(path_type=Path), default=None, help="Scratch folder (default: a temp folder).")
@click.option("--no-rates", is_flag=True, help="Skip timing contacts + rates on the cleaned Dataset.")
def bench(sizes, schedulers, out_csv, work_dir, no_rates):
    """Time clean() per step (rows/s, ratio to DuckDB and pyarrow floors, peak memory) at each size."""
    from sro_analysis import bench as bench_mod

    try:
        table = bench_mod.run(sizes=[int(float(s)) for s in sizes.split(",")], out_csv=out_csv, work_dir=work_dir,
                              schedulers=[s for s in schedulers.split(",") if s], with_rates=not no_rates)
    except ValueError as exc:
        _fail(exc)
    click.echo(table)


if __name__ == "__main__":  # pragma: no cover
    main()
