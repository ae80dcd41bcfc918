#!/bin/sh
# Build js/dist/auracodec.wasm: BRIO's C core (the Python extension's own
# sources), zstd (decompressor and compressor) and the brotli decoder
# (js/vendor/), and the C ABI (js/wasm/auracodec.c), with Debian's clang,
# lld, wasi-libc and libclang-rt-14-dev-wasm32:
#
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
#   sh js/wasm/build.sh            (from anywhere; CC=clang-14 to choose)
#
# The module imports nothing (no WASI calls: no stdio, no files, no clock),
# exports its memory and the ac_* functions, and has no entry point.  The
# build is deterministic: the same inputs give the same bytes (sources in a
# fixed order, objects linked in that order, no debug info, no paths or dates
# in the output).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
js=$(dirname "$here")
root=$(dirname "$js")
out=$js/dist/auracodec.wasm
CC=${CC:-clang}
brio=$root/src/auracodec/plugins/brio
zstd=$js/vendor/zstd/lib
brotli=$js/vendor/brotli/c

# BRIO: the core, one file per role; not _brio.c (the CPython binding)
sources="$here/auracodec.c
$brio/_predict.c $brio/_coder.c $brio/_session.c $brio/_model.c $brio/_train.c
$zstd/common/debug.c $zstd/common/entropy_common.c $zstd/common/error_private.c
$zstd/common/fse_decompress.c $zstd/common/xxhash.c $zstd/common/zstd_common.c
$zstd/decompress/huf_decompress.c $zstd/decompress/zstd_ddict.c
$zstd/decompress/zstd_decompress.c $zstd/decompress/zstd_decompress_block.c
$brotli/common/constants.c $brotli/common/context.c $brotli/common/dictionary.c
$brotli/common/platform.c $brotli/common/shared_dictionary.c $brotli/common/transform.c
$brotli/dec/bit_reader.c $brotli/dec/decode.c $brotli/dec/huffman.c $brotli/dec/prefix.c
$brotli/dec/state.c $brotli/dec/static_init.c"

# zstd's compressor, optimised for size (-Oz): its match finders are
# specialised for every strategy and dictionary mode, and at -O3 the module is
# 751,608 bytes raw, 220,358 gzip -9 (budget: 250 KB gzip), at -Oz 610,559
# and 192,772 for encoding 0-20% slower (measured on chat messages and logs).
# Adding ZSTD_NO_INLINE would save 21 KB gzip more, but code 1.4x slower.
small="$zstd/compress/fse_compress.c $zstd/compress/hist.c $zstd/compress/huf_compress.c
$zstd/compress/zstd_compress.c $zstd/compress/zstd_compress_literals.c
$zstd/compress/zstd_compress_sequences.c $zstd/compress/zstd_compress_superblock.c
$zstd/compress/zstd_double_fast.c $zstd/compress/zstd_fast.c $zstd/compress/zstd_lazy.c
$zstd/compress/zstd_ldm.c $zstd/compress/zstd_opt.c $zstd/compress/zstd_preSplit.c"

# zstd: no legacy formats, no assembly, no tracing hooks, no error strings
# (the ABI returns codes), no multithreading (ZSTD_MULTITHREAD undefined:
# zstd tests whether it is defined, not its value).
zstd_defs="-DZSTD_LEGACY_SUPPORT=0 -DZSTD_DISABLE_ASM -DZSTD_TRACE=0 -DDEBUGLEVEL=0
-DZSTD_STRIP_ERROR_STRINGS -DXXH_NAMESPACE=ZSTD_"

mkdir -p "$js/dist"
objs=$(mktemp -d)
trap 'rm -rf "$objs"' EXIT
# One object per source, named by its position: the link order is the list's.
compile() { # compile OPT SOURCES...
    opt=$1
    shift
    for src in "$@"; do
        n=$((n + 1))
        # shellcheck disable=SC2086  # word splitting of the lists is intended
        "$CC" --target=wasm32-wasi "$opt" -std=c11 -Wall -Wno-unused-function \
            -fno-ident -ffile-prefix-map="$root"=. \
            -I"$zstd" -I"$brotli/include" $zstd_defs \
            -c -o "$objs/$(printf %03d $n).o" "$src"
    done
}
n=0
# shellcheck disable=SC2086
compile -O3 $sources
# shellcheck disable=SC2086
compile -Oz $small
"$CC" --target=wasm32-wasi -nostartfiles -Wl,--no-entry -Wl,--strip-all -Wl,--gc-sections \
    -Wl,-z,stack-size=262144 -o "$out" "$objs"/*.o

raw=$(wc -c <"$out")
gz=$(gzip -9n <"$out" | wc -c)
imports=$(node -e '
const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
console.log(WebAssembly.Module.imports(m).map(i => i.module + "." + i.name).join(" ") || "none");
' "$out" 2>/dev/null || echo "(node not found)")
echo "$out: $raw bytes raw, $gz bytes gzip -9; imports: $imports"
sha256sum "$out" 2>/dev/null || true
