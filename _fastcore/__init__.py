"""Compiled kernels: arrays and a numpy Generator in, arrays out (no Mesa, no I/O).

The build is portable (any CPU of its architecture). On x86-64 the kernels whose loops gain most from wider vectors
are also built for x86-64-v3 CPUs (AVX2; `_fastcore/<name>_x86_64_v3.pyx`), and on such a CPU importing
`_fastcore.<name>` gives that build: the same numbers to the bit (no contraction, no fast-math), 1.5-4x sooner
(bench/native.py). OPTISCAPE_ISA=baseline keeps the portable build; `BASELINE` holds the portable modules replaced.
"""

import importlib
import os
import sys

VECTOR_KERNELS = ("causalvm", "explorers")
# x86-64-v3's features as /proc/cpuinfo names them (LZCNT is "abm"); the OS lists only those it has enabled
X86_64_V3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
BASELINE: dict = {}


def cpu_is_x86_64_v3() -> bool:
    """Whether this CPU (and OS) runs x86-64-v3 code; False where /proc/cpuinfo is missing or lists no flags."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    except OSError:
        return False
    return X86_64_V3 <= set(flags)


def _load_vector_builds() -> None:
    if os.environ.get("OPTISCAPE_ISA", "") == "baseline" or not cpu_is_x86_64_v3():
        return
    for name in VECTOR_KERNELS:
        try:
            wider = importlib.import_module(f"{__name__}.{name}_x86_64_v3")
        except ModuleNotFoundError:  # not built: another architecture
            return
        BASELINE[name] = importlib.import_module(f"{__name__}.{name}")
        sys.modules[f"{__name__}.{name}"] = wider
        globals()[name] = wider


_load_vector_builds()
