#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then: only seattn_ symbols are exported, the
# header compiles as C++, and a consumer builds and runs through find_package(seattn) and
# through pkg-config.  Usage: run.sh BUILD_DIR SCRATCH_DIR
set -euo pipefail
build=$1 scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$(find "$prefix" -name libseattn.so | head -n 1)
libdir=$(dirname "$lib")

others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^seattn_' || true)
if [ -n "$others" ]; then
  echo "libseattn.so exports symbols outside seattn_:"; echo "$others"; exit 1
fi
echo "exports: $(nm -D --defined-only "$lib" | wc -l) symbols, all seattn_"

c++ -std=c++11 -Wall -Wextra -Werror -I"$prefix/include" "$here/cxx_header.cpp" -L"$libdir" \
    -lseattn -o "$scratch/cxx_header"
echo "C++: the header compiles and links"

cmake -S "$here" -B "$scratch/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$scratch/cmake/consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 "$here/main.c" $(pkg-config --cflags --libs seattn) -lm -o "$scratch/pc_consumer"
LD_LIBRARY_PATH="$libdir" "$scratch/pc_consumer"
