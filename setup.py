"""Build optiscape: the Cython kernels in _fastcore/ and the console script `optiscape`."""
import platform
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# No -ffast-math, and no contraction into fused multiply-adds: kernels must equal the
# pure-Python references to the last bit. OpenMP for kernels that split a batch over threads (prange).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-fopenmp"]
LINK_ARGS = ["-fopenmp"]
# Per kernel, on top: the causal world's register machine selects per lane (clip, min, max, where), which
# baseline x86-64 (SSE2) has no blend instruction for; this machine's vector ISA (a local build) halves its
# time. IEEE results are the same on any ISA: no contraction, no fast-math, libm calls stay scalar.
KERNEL_ARGS = {"causalvm": ["-march=native"]} if platform.machine() in ("x86_64", "AMD64") else {}

# Every _fastcore/*.pyx is a kernel module: adding one needs no change here.
KERNELS = sorted(path.stem for path in Path(__file__).parent.glob("_fastcore/*.pyx"))

extensions = [
    Extension(
        f"_fastcore.{name}",
        [f"_fastcore/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=COMPILE_ARGS + KERNEL_ARGS.get(name, []),
        extra_link_args=LINK_ARGS,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
)
