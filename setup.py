"""The compiled parts of auracodec; all other metadata is in pyproject.toml.

Every machine with a C compiler and the Python headers builds them on
``pip install``. ``AURACODEC_SANITIZE=1`` builds them with AddressSanitizer and
UndefinedBehaviorSanitizer for the fuzzing benchmarks (bench/fuzz_*.py).
"""

import os

from setuptools import Extension, setup

CFLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
          "-Wno-missing-field-initializers"]
LDFLAGS: list[str] = []
if os.environ.get("AURACODEC_SANITIZE"):
    sanitizers = "-fsanitize=address,undefined"
    CFLAGS += [sanitizers, "-fno-omit-frame-pointer", "-g", "-O1"]
    LDFLAGS += [sanitizers]


def extension(name: str, *sources: str) -> Extension:
    return Extension(name, list(sources), extra_compile_args=CFLAGS, extra_link_args=LDFLAGS)


setup(
    ext_modules=[
        extension("auracodec.core._speedups", "src/auracodec/core/_speedups.c"),
        extension("auracodec.plugins.zstd._compact", "src/auracodec/plugins/zstd/_compact.c"),
    ]
)
