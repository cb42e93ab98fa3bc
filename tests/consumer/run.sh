#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then: only seattn_ symbols are exported by the
# shared library and are global in the static one, the headers compile as C++, a consumer
# builds and runs through find_package(seattn) and through pkg-config, and an app with its own
# volk links the static library.  Usage: run.sh BUILD_DIR SCRATCH_DIR
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

static=$libdir/libseattn.a
globals=$(nm -g --defined-only "$static" | awk 'NF == 3 {print $3}')
others=$(echo "$globals" | grep -v '^seattn_' || true)
if [ -n "$others" ]; then
  echo "libseattn.a has global symbols outside seattn_:"; echo "$others" | head; exit 1
fi
echo "libseattn.a: $(echo "$globals" | wc -l) global symbols, all seattn_"
cc -std=c11 -DVK_NO_PROTOTYPES -I"$prefix/include" "$here/static_with_volk.c" /usr/include/volk.c \
   "$static" -lpthread -ldl -lm -o "$scratch/static_with_volk"
"$scratch/static_with_volk"

c++ -std=c++11 -Wall -Wextra -Werror -I"$prefix/include" "$here/cxx_header.cpp" -L"$libdir" \
    -lseattn -o "$scratch/cxx_header"
echo "C++: the header compiles and links"

cmake -S "$here" -B "$scratch/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$scratch/cmake/consumer"
"$scratch/cmake/consumer_static"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 "$here/main.c" $(pkg-config --cflags --libs seattn) -lm -o "$scratch/pc_consumer"
LD_LIBRARY_PATH="$libdir" "$scratch/pc_consumer"

# The Python package, installed beside the library: it finds the library from the path that
# `cmake --install` recorded, with no SEATTN_LIBRARY, and runs on the CPU reference.
py=$(find "$prefix" -path '*/seattn/_install.py' | head -n 1)
if [ -n "$py" ]; then
  site=$(dirname "$(dirname "$py")")
  python=$(sed -n 's/^SEATTN_PYTHON_EXECUTABLE:FILEPATH=//p' "$build/CMakeCache.txt")
  env -u SEATTN_LIBRARY PYTHONPATH="$site" PYTHONDONTWRITEBYTECODE=1 "$python" -c '
import numpy as np, seattn
assert seattn._lib.path.startswith("'"$prefix"'"), seattn._lib.path
q = np.ones((2, 3, 8), np.float32)
out = seattn.attention(q, q, q, group_size=2, window=2, backend="cpu")
assert out.shape == q.shape and abs(float(out.max()) - 1.0) < 1e-6
print("python: seattn %s from %s" % (seattn.__version__, seattn._lib.path))'
fi
