"""Run the speed and memory benchmarks (same as `make bench` / `sro-analysis bench`).

    .venv/bin/python benchmarks/run.py                                   # 10^5, 10^6 raw rows, both schedulers
    .venv/bin/python benchmarks/run.py --sizes 1e7 --schedulers in-process   # by hand only (minutes, GBs)
    .venv/bin/python benchmarks/run.py --sizes 1e5 --no-rates

Prints the table and the issue-16 target lines; writes benchmarks/results.csv (git-ignored).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sro_analysis import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e5,1e6", help="comma-separated raw row counts")
    parser.add_argument("--schedulers", default=",".join(bench.SCHEDULERS), help="subset of: " + ",".join(bench.SCHEDULERS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.csv")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept, releases reused); default a temp folder")
    parser.add_argument("--no-rates", action="store_true", help="skip timing contacts + rates")
    args = parser.parse_args()
    print(bench.run(sizes=[int(float(s)) for s in args.sizes.split(",")], out_csv=args.out, work_dir=args.work,
                    schedulers=[s for s in args.schedulers.split(",") if s], with_rates=not args.no_rates))


if __name__ == "__main__":
    main()
