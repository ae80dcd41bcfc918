"""The compiled parts of auracodec; all other metadata is in pyproject.toml.

Every machine with a C compiler and the Python headers builds them on
``pip install``. ``AURACODEC_SANITIZE=1`` builds them with AddressSanitizer and
UndefinedBehaviorSanitizer for the fuzzing benchmarks (bench/fuzz_*.py).
"""

import os
from collections.abc import Sequence
from pathlib import Path

from setuptools import Extension, setup

CFLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
          "-Wno-missing-field-initializers"]
LDFLAGS: list[str] = []
if os.environ.get("AURACODEC_SANITIZE"):
    sanitizers = "-fsanitize=address,undefined"
    CFLAGS += [sanitizers, "-fno-omit-frame-pointer", "-g", "-O1"]
    LDFLAGS += [sanitizers]


def extension(name: str, *sources: str, extra: Sequence[str] = ()) -> Extension:
    return Extension(
        name,
        list(sources),
        extra_compile_args=[*CFLAGS, *extra],
        extra_link_args=LDFLAGS,
        depends=[str(p) for p in Path("src/auracodec").rglob("*.h")],
    )


setup(
    ext_modules=[
        extension("auracodec.core._speedups", "src/auracodec/core/_speedups.c"),
        extension("auracodec.plugins.zstd._compact", "src/auracodec/plugins/zstd/_compact.c"),
        # BRIO's coding loops are its cost; -O3 is worth ~10% there. Its
        # arithmetic is integer-only, so every build produces the same bytes.
        extension(
            "auracodec.plugins.brio._brio",
            "src/auracodec/plugins/brio/_brio.c",
            # the C core, one file per role (_internal.h); no Python in it
            "src/auracodec/plugins/brio/_predict.c",
            "src/auracodec/plugins/brio/_coder.c",
            "src/auracodec/plugins/brio/_session.c",
            "src/auracodec/plugins/brio/_model.c",
            "src/auracodec/plugins/brio/_train.c",
            extra=[] if os.environ.get("AURACODEC_SANITIZE") else ["-O3"],
        ),
    ]
)
