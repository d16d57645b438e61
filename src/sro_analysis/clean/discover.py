"""Discovery: every file under the raw folder is accounted for before anything is read in full.

For each file, :func:`discover` decides one of:

* **planned**: each of its sheets is taken by one layout of one source (the header row is the
  first row, within the layout's ``header_search`` rows, that holds every column the layout
  needs; title rows above it are kept as text for file facts). When several layouts take the
  same header row, the one matching the most header cells wins; a layout never takes a header
  holding one of its ``excludes`` (the columns that mark another layout's files).
* **not data**: documentation, manifests and non-tabular files (README, PDF, images, YAML),
  recorded in the provenance with why.
* **unused**: a data file no layout takes. This stops the run (:class:`UnusedFilesError`) with
  each file and, when it nearly matches a layout, the columns it lacks; with
  ``allow_unused=True`` the run goes on and every row of the file is a ledger rejection
  ``file_not_used``.

Example:
    >>> import pathlib, tempfile
    >>> from sro_analysis.clean.declare import Col, Layout, Source
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.csv").write_text("Title\\nid,when\\n1,2020-01-01\\n")
    >>> _ = (root / "README.md").write_text("notes")
    >>> lay = Layout("rows", (Col("id", need=True), Col("when", need=True)))
    >>> inv = discover(root, [Source("demo", "demo", (lay,), derive=None)])
    >>> [(p.sheet.label, p.layout.name, p.header_index) for p in inv.plans], inv.not_data
    ([('a.csv', 'rows', 1)], [('README.md', 'documentation or manifest (not a data file)')])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sro_analysis.clean.check import ColumnMatch, match_header
from sro_analysis.clean.declare import Layout, Source
from sro_analysis.clean.read import RawFile, RawFileError, Sheet, is_data_candidate, open_sheets


class CleanError(ValueError):
    """The run cannot go on; the message names the file(s) and what is wrong or missing."""


class UnusedFilesError(CleanError):
    """Data files no layout takes (run again with ``allow_unused=True`` to go on)."""


@dataclass
class SheetPlan:
    """One sheet taken by one layout: where its header is and which column is which."""

    sheet: Sheet
    source: Source
    layout: Layout
    header_index: int
    match: ColumnMatch
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.sheet.label


@dataclass
class UnusedSheet:
    """A data sheet no layout takes, with why and the nearest layout's missing columns."""

    sheet: Sheet | None
    label: str
    reason: str


@dataclass
class Inventory:
    """What discovery decided for every file under the raw folder."""

    plans: list[SheetPlan] = field(default_factory=list)
    unused: list[UnusedSheet] = field(default_factory=list)
    not_data: list[tuple[str, str]] = field(default_factory=list)

    def plans_of(self, source: Source) -> list[SheetPlan]:
        return [p for p in self.plans if p.source is source]


def raw_files(raw_dir: Path) -> list[RawFile]:
    """Every file under ``raw_dir`` (recursively, sorted by relative path), hidden ones skipped."""
    out = []
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(RawFile(path=path, relpath=rel.as_posix()))
    return out


def _candidates(sheet: Sheet, sources: list[Source]):
    for index, row in enumerate(sheet.head):
        if not any(c for c in row):
            continue
        for source in sources:
            for layout in source.layouts:
                if index >= layout.header_search:
                    continue
                match = match_header(row, layout)
                yield index, source, layout, match


def _spellings(col) -> str:
    """A missing column as the user should look for it: its name, and its other spellings if any."""
    others = [s for s in dict.fromkeys(col.spellings) if s != col.name]
    return f"{col.name} (or: {', '.join(others)})" if others else col.name


def recognise(sheet: Sheet, sources: list[Source]) -> SheetPlan | str:
    """The plan for a sheet, or why no layout takes it (naming the nearest layout's gaps)."""
    best: tuple | None = None
    near: tuple | None = None
    for index, source, layout, match in _candidates(sheet, sources):
        if match.complete and match.matched >= layout.min_columns:
            score = (-index, match.matched)
            if best is None or score > best[0]:
                best = (score, index, source, layout, match)
        elif layout.needed and not match.excluded:
            share = 1 - len(match.missing_needed) / len(layout.needed)
            if share >= 0.5 and (near is None or share > near[0]):
                near = (share, source, layout, match, index)
    if best is not None:
        _, index, source, layout, match = best
        return SheetPlan(sheet, source, layout, index, match)
    if near is not None:
        _, source, layout, match, index = near
        needed = layout.needed
        missing = [layout.column(n) for n in match.missing_needed]
        names = ", ".join(_spellings(c) for c in missing)
        return (f"looks like {source.name} / {layout.name} (header row {index + 1} has "
                f"{len(needed) - len(missing)} of its {len(needed)} needed columns) but lacks: {names}")
    first = next((row for row in sheet.head if any(c for c in row)), [])
    return f"no layout of the chosen sources recognises its header: {', '.join(first)[:160]}"


def read_facts(plan: SheetPlan) -> dict[str, str]:
    """File facts of a plan (after the header row, so title rows are known)."""
    sheet, layout = plan.sheet, plan.layout
    sheet.title = " ".join(c for row in sheet.head[:plan.header_index] for c in row if c)
    facts: dict[str, str] = {}
    for fact in layout.facts:
        got = fact.read(sheet.places)
        if got is None:
            if fact.required:
                raise CleanError(f"{sheet.label}: cannot tell its {fact.name} from its file name, sheet name or "
                                 f"title rows (pattern {fact.pattern!r}). {fact.hint}".strip())
            continue
        facts.update(got)
    return facts


def discover(raw_dir: Path, sources: list[Source]) -> Inventory:
    """Decide, for every file under ``raw_dir``, which layout reads it (see the module docstring)."""
    inventory = Inventory()
    for raw in raw_files(raw_dir):
        if not is_data_candidate(raw.path):
            inventory.not_data.append((raw.relpath, "documentation or manifest (not a data file)"))
            continue
        try:
            sheets = open_sheets(raw)
        except RawFileError as exc:
            reason = str(exc).split(": ", 1)[-1]
            if "empty" in reason:
                inventory.not_data.append((raw.relpath, reason))
            else:
                inventory.unused.append(UnusedSheet(None, raw.relpath, reason))
            continue
        for sheet in sheets:
            plan = recognise(sheet, sources)
            if isinstance(plan, str):
                inventory.unused.append(UnusedSheet(sheet, sheet.label, plan))
            else:
                plan.facts = read_facts(plan)
                inventory.plans.append(plan)
    return inventory


def unused_error(inventory: Inventory, raw_dir: Path) -> UnusedFilesError:
    """The error for data files nothing takes (``--allow-unused`` goes on, rejecting their rows)."""
    lines = "\n".join(f"  - {u.label}: {u.reason}" for u in inventory.unused)
    return UnusedFilesError(
        f"{len(inventory.unused)} data file(s) under {raw_dir} are not read by any layout of the chosen "
        f"source(s):\n{lines}\nAdd or fix the file, choose another --source, describe it in a --mapping, or run "
        "with --allow-unused to go on (their rows are then rejected in the ledger as file_not_used).")
