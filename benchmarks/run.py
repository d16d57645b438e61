"""Run the speed and memory benchmarks (same as `make bench` / `sro-analysis bench`).

    .venv/bin/python benchmarks/run.py                       # 10^4, 10^5, 10^6 raw rows
    .venv/bin/python benchmarks/run.py --sizes 1e4,1e7       # 10^7: streaming clean only (minutes)
    .venv/bin/python benchmarks/run.py --stages parse_floor,clean --no-demo

Prints the table and writes benchmarks/results.csv (git-ignored). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sro_analysis import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e4,1e5,1e6", help="comma-separated raw row counts")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.csv")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept); default a temp folder")
    parser.add_argument("--stages", default=",".join(bench.ALL_STAGES), help="subset of: " + ",".join(bench.ALL_STAGES))
    parser.add_argument("--no-demo", action="store_true", help="skip timing the demo clean + report + publish")
    args = parser.parse_args()
    print(bench.run(sizes=[int(float(s)) for s in args.sizes.split(",")], out_csv=args.out, work_dir=args.work,
                    stages=[s for s in args.stages.split(",") if s], demo=not args.no_demo))


if __name__ == "__main__":
    main()
