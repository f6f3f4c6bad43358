"""What a run through the Python package costs against the same run through the binary.

    python benches/python/overhead.py [--scale 0.1] [--pairs 5] [--bin target/release/rentree]

Both sides do the same work, as whole processes, alternated (A B A B ...) so that a busy moment of the machine
falls on both: `rentree run --scale S --out DIR` against `python -c "import rentree;
rentree.run(scale=S).write(DIR)"` (interpreter start, import of polars and the package, the run, the same four
files written). Prints each side's median wall time, the ratio, and the in-process time of `rentree.run` and
`.write` alone. Run it with the Python of a venv that has the package (`pip install ./python`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    repo = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--bin", default=str(repo / "target/release/rentree"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cli = [args.bin, "run", "--scale", str(args.scale), "--out", f"{tmp}/cli"]
        py = [sys.executable, "-W", "ignore", "-c",
              f"import rentree; rentree.run(scale={args.scale}).write({tmp + '/py'!r})"]
        # One of each first, not timed: page cache and the models' first read.
        timed(cli)
        timed(py)
        a: list[float] = []
        b: list[float] = []
        for _ in range(args.pairs):
            a.append(timed(cli))
            b.append(timed(py))
        import warnings

        import rentree

        warnings.simplefilter("ignore", rentree.ScaleWarning)
        inner_run: list[float] = []
        inner_write: list[float] = []
        for _ in range(max(1, args.pairs // 2)):
            t = time.perf_counter()
            r = rentree.run(scale=args.scale)
            inner_run.append(time.perf_counter() - t)
            t = time.perf_counter()
            r.write(f"{tmp}/inner")
            inner_write.append(time.perf_counter() - t)

    ma, mb = statistics.median(a), statistics.median(b)
    print(f"replay at scale {args.scale}, {args.pairs} pairs alternated, whole processes, medians:")
    print(f"  rentree run (binary)            {ma:7.2f} s   [{min(a):.2f} .. {max(a):.2f}]")
    print(f"  python: rentree.run().write()   {mb:7.2f} s   [{min(b):.2f} .. {max(b):.2f}]")
    print(f"  ratio python / binary           {mb / ma:7.3f}")
    print(f"  in one process: rentree.run {statistics.median(inner_run):.2f} s, .write {statistics.median(inner_write):.2f} s (medians)")


if __name__ == "__main__":
    main()
