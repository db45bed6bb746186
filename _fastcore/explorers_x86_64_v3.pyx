# explorers built for x86-64-v3 CPUs (AVX2): setup.py compiles this file with -march=x86-64-v3.
include "explorers.pyx"
