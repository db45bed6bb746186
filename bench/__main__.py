"""`make bench`: run every benchmark, print a table with the ratios, write bench/results.json."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from bench import causal, cooperation, current, density, knowledge, metaopt, native, scans, viz, walkers

# scans first: its pool is timed as `optiscape scan` runs it, from a process that has not started OpenMP threads
# (after the causal kernel has, a pool must start by forkserver, which pays the models' import once more).
BENCHMARKS = [scans, walkers, density, current, causal, metaopt, knowledge, cooperation, native, viz]


def main() -> None:
    results: list[dict] = []
    ratios: list[tuple] = []
    for module in BENCHMARKS:
        print(f"running {module.__name__} ...", flush=True)
        results.extend(module.run())
        ratios.extend(module.RATIOS)
    print(f"\n{'benchmark':<32} {'variant':<16} {'rate':>14}  unit   ({platform.processor() or platform.machine()})")
    for r in results:
        rate = f"{r['rate']:,.0f}" if r["rate"] >= 100 else f"{r['rate']:.3g}"
        print(f"{r['benchmark']:<32} {r['variant']:<16} {rate:>14}  {r['unit']}")
    print(f"\n{'ratio':<62} {'measured':>9} {'target':>8}")
    rate = {(r["benchmark"], r["variant"]): r["rate"] for r in results}
    for bench, fast, slow, target in ratios:
        ratio = rate[(bench, fast)] / rate[(bench, slow)]
        mark = "ok" if ratio >= target else "BELOW TARGET"
        print(f"{bench + ': ' + fast + ' / ' + slow:<62} {ratio:>8.1f}x {target:>7.1f}x  {mark}")
    path = Path(__file__).parent / "results.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
