#!/usr/bin/env bash
# The commands of the README:
#   ./run.sh bench            install what is missing, build, run `seattn bench` on the default
#                             device
#   ./run.sh test             install what is missing, build (warnings as errors), run every
#                             test (the Python package's too)
#   ./run.sh install [PREFIX] install what is missing, build, install the library, the program
#                             and the Python package under PREFIX (default ~/.local, which
#                             Debian's python3 searches: no root, no pip)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake ninja-build gcc g++ pkg-config libvulkan-dev libvulkan-volk-dev glslang-tools
          libcriterion-dev libcjson-dev mesa-vulkan-drivers vulkan-validationlayers valgrind
          python3 python3-numpy python3-pytest)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "run.sh: not a Debian/Ubuntu system; install these (or their equivalents) and rerun:"
    printf '  %s\n' "${missing[@]}"
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "run.sh: need root or sudo to install: ${missing[*]}"; exit 1
    fi
  fi
  echo "run.sh: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

mode="${1:-}"
case "$mode" in
  bench)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
    cmake --build build
    shift
    exec ./build/seattn bench "$@"
    ;;
  test)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEATTN_WERROR=ON
    cmake --build build
    # A machine without a Vulkan driver must fail loudly, not skip.
    export SEATTN_TEST_REQUIRE_DEVICE=1
    ctest --test-dir build --output-on-failure
    ;;
  install)
    prefix="${2:-$HOME/.local}"
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
    cmake --build build
    cmake --install build --prefix "$prefix"
    echo "run.sh: installed under $prefix; try: python3 -c \"import seattn; print(seattn.__version__)\""
    ;;
  *)
    echo "usage: ./run.sh bench | test | install [PREFIX]"; exit 2 ;;
esac
