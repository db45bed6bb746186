"""Build optiscape: the Cython kernels in _fastcore/ and the console script `optiscape`."""
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
# Per kernel, on top: this machine's vector ISA (a local build). The causal world's register machine selects
# per lane (clip, min, max, where), which baseline x86-64 (SSE2) has no blend instruction for; the explorers'
# sin(2πx), cos(2πx) and log (vecmath.h) round and select per lane too. IEEE results are the same bits on any
# ISA: no contraction, no fast-math, libm calls stay scalar.
NATIVE = ("causalvm", "explorers", "vecmath")
KERNEL_ARGS = {name: ["-march=native"] for name in NATIVE} if platform.machine() in ("x86_64", "AMD64") else {}

# Every _fastcore/*.pyx is a kernel module: adding one needs no change here.
KERNELS = sorted(path.stem for path in Path(__file__).parent.glob("_fastcore/*.pyx"))

extensions = [
    Extension(
        f"_fastcore.{name}",
        [f"_fastcore/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=COMPILE_ARGS + KERNEL_ARGS.get(name, []),
        extra_link_args=LINK_ARGS,
        depends=sorted(str(path) for path in Path("_fastcore").glob("*.h")),  # headers the kernels include
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
)
