"""Where a run ran: the NumPy, the BLAS and the processor its numbers depend on.

A run is exact for its seed on one machine: run again, it gives the same
numbers to the last bit. Across machines it need not. The matrix products
come from BLAS; OpenBLAS chooses its kernels when it loads, by processor
(Haswell's on an AVX2 chip, SkylakeX's on an AVX-512 one), and splits the
work by thread count, and each choice rounds a float32 sum in its own order.
Over tens of thousands of SGD steps those last bits grow into another net, as
good but not the same. Measured: 300 steps of `two-layer-best` end at loss
0.469052 with OpenBLAS's Haswell kernels and 0.469708 with its Sandybridge
ones (``OPENBLAS_CORETYPE``), on one machine; the whole run, seed 0, scored
0.9944 / 0.9933 on the faster host the preset was made on (2026-12-06) and
0.9946 / 0.9931 on an AMD EPYC with AVX2 (2026-12-07), though the code of
both days gives the same losses here, bit for bit, over 20 epochs. So every
summary says where it ran, and a figure can be checked against a rerun on a
like machine.
"""
import os
import platform

import numpy as np
from threadpoolctl import threadpool_info

# What threadpoolctl reports of a BLAS library that a rerun must match.
BLAS_FIELDS = ("internal_api", "version", "architecture", "num_threads", "threading_layer")


def numpy_blas():
    """threadpoolctl's record of the BLAS NumPy calls (a dict; empty if none is found).

    Other libraries may load a BLAS of their own (SciPy, PyTorch); NumPy's is
    the one in NumPy's folder, else the first BLAS listed.
    """
    libraries = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    ours = [info for info in libraries if f"{os.sep}numpy" in info.get("filepath", "")]
    return (ours or libraries or [{}])[0]


def processor():
    """The processor's model name (Linux's /proc/cpuinfo), else what ``platform`` knows, else None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def describe():
    """A JSON-ready dict: Python's and NumPy's versions, NumPy's BLAS (library,
    version, kernel architecture, threads), the processor and its core count."""
    blas = numpy_blas()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": {field: blas.get(field) for field in BLAS_FIELDS},
        "processor": processor(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
