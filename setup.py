"""Build optiscape: the Cython kernels in _fastcore/ and the console script `optiscape`."""
import os
import platform
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# No -ffast-math, and no contraction into fused multiply-adds: kernels must equal the
# pure-Python references to the last bit. OpenMP for kernels that split a batch over threads (prange).
# -fno-math-errno: nothing reads errno, and a sqrt that need not set it can be vectorised (same values).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fopenmp"]
LINK_ARGS = ["-fopenmp"]
DIRECTIVES = {"language_level": "3", "boundscheck": False, "wraparound": False, "cdivision": True,
              "initializedcheck": False}
KERNEL_ARGS = {
    # GCC's jump threading turns clip's repeated tests (value, then each tangent) back into branches, which keeps
    # its loop scalar: with it off, the bench world's kernel runs 1.2x faster (19.8 against 23.4 ms). Its loop
    # distribution turns a clamp's row of zeros into memset (a `rep stos` per 1 KiB): without, 1.07x (8.1 against 8.6).
    "causalvm": ["-fno-thread-jumps", "-fno-tree-loop-distribute-patterns"],
}
# Portable by default: a wheel or a Dask worker image built here must run on any x86-64 (or other) CPU.
# _fastcore/*_x86_64_v3.pyx are kernels built a second time for x86-64-v3 (AVX2) CPUs, which _fastcore/__init__.py
# loads in their place on such a CPU (the same bits: no contraction); elsewhere they are not built.
# OPTISCAPE_NATIVE=1 adds this machine's vector ISA (-march=native) to every kernel, for a local build only.
NATIVE = os.environ.get("OPTISCAPE_NATIVE", "") not in ("", "0")
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
V3 = "_x86_64_v3"


def compile_args(name: str) -> list[str]:
    machine = ["-march=native"] if NATIVE else ["-march=x86-64-v3"] if name.endswith(V3) else []
    return COMPILE_ARGS + KERNEL_ARGS.get(name.removesuffix(V3), []) + machine


# Every _fastcore/*.pyx is a kernel module: adding one needs no change here.
KERNELS = sorted(path.stem for path in Path(__file__).parent.glob("_fastcore/*.pyx")
                 if X86_64 or not path.stem.endswith(V3))

extensions = [
    Extension(
        f"_fastcore.{name}",
        [f"_fastcore/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=compile_args(name),
        extra_link_args=LINK_ARGS,
        depends=sorted(str(path) for path in Path("_fastcore").glob("*.h")),  # headers the kernels include
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

# The kernels compile side by side, on the cores this build may use (most of a fresh install's time).
JOBS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

setup(
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, nthreads=JOBS),
    options={"build_ext": {"parallel": JOBS}},
)
