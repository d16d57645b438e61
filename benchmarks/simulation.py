"""Simulation study: coverage of the package's intervals and false alarms of its funnel limits.

    .venv/bin/python benchmarks/simulation.py                        # seeds 1-20 (1-1000 null districts)
    .venv/bin/python benchmarks/simulation.py --seeds 1-200          # more seeds
    .venv/bin/python benchmarks/simulation.py --sizes small --kappa 5,16,60   # other between-school spreads
    .venv/bin/python benchmarks/simulation.py --pipeline-seeds 20181,1-19     # also end to end (~25 s a seed)

Sizes: ``demo`` (the 40 schools of the shipped demo district, their eligible contacts and the
mean and spread of their true rates, read from ``truth.json`` of ``sro-analysis clean --source
synthetic``) and ``small`` (40 schools x 15 contacts, same mean and spread). Per seed the true
school rates are drawn from that Beta, counts from the binomial; see
``sro_analysis.metrics.calibration`` for every column. The targets of issue #18: EB coverage of
the 95% intervals >= 0.93 on average and >= 0.85 on all seeds but at most one; EB mean absolute
error no worse than the raw rates'; funnel false alarms under the null <= 5% / 0.2%.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from sro_analysis.metrics import calibration


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        out += list(range(int(first), int(last or first) + 1))
    return out


def _verdict(row: pd.Series) -> str:
    checks = [row["eb_mean"] >= 0.93, row["eb_below_085"] <= 1, row["mae_eb"] <= row["mae_raw"]]
    if "false_alarm_95" in row and pd.notna(row["false_alarm_95"]):
        checks += [row["false_alarm_95"] <= 0.05, row["false_alarm_998"] <= 0.002]
    return "meets the targets" if all(checks) else "MISSES a target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1-20", help="seeds, e.g. 1-20 or 3,5,8-10 (default 1-20)")
    parser.add_argument("--null-seeds", default="1-1000", help="null districts for the funnel false alarms")
    parser.add_argument("--sizes", default="demo,small", help="comma-separated: demo, small")
    parser.add_argument("--kappa", default="", help="comma-separated prior concentrations instead of the demo's")
    parser.add_argument("--pipeline-seeds", default="", help="also run synthetic release -> clean -> rates on these")
    parser.add_argument("--csv", default="", help="write the per-seed rows to this CSV")
    args = parser.parse_args()

    started = time.perf_counter()
    seeds = _seeds(args.seeds)
    demo = calibration.demo_design()
    print(f"demo district (truth.json, seed {calibration.DEMO_SEED}): {len(demo.n)} schools, "
          f"{sum(demo.n)} eligible contacts, true rates mean {demo.mean:.4f}, kappa {demo.kappa:.2f}")
    base = {"demo": demo, "small": calibration.small_design(demo)}
    designs = []
    for size in filter(None, args.sizes.split(",")):
        design = base[size]
        if args.kappa:
            designs += [calibration.Design(f"{size}_kappa{k}", design.n, design.mean, float(k))
                        for k in args.kappa.split(",")]
        else:
            designs.append(design)
    runs = calibration.simulate(designs, seeds)
    if args.pipeline_seeds:
        runs = pd.concat([runs, pd.DataFrame([calibration.pipeline_replicate(s)
                                              for s in _seeds(args.pipeline_seeds)])], ignore_index=True)
    if args.csv:
        runs.to_csv(args.csv, index=False)
    table = calibration.summarise(runs).drop(columns=["false_alarm_95", "false_alarm_998"], errors="ignore")
    null = calibration.null_summary(designs, _seeds(args.null_seeds))
    table = table.merge(null, on="design", how="left")
    table["verdict"] = table.apply(_verdict, axis=1)
    with pd.option_context("display.width", 200, "display.max_columns", 40, "display.precision", 4):
        print(f"seeds {args.seeds} ({len(seeds)}); funnel false alarms over null districts {args.null_seeds}")
        print(table.set_index("design").T.to_string())
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
