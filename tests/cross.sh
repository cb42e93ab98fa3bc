#!/usr/bin/env bash
# tests/cross.sh windows|arm64: the library, the program and the tests of tests/cross/ built for
# another system with Debian's cross compilers (warnings as errors), then run here:
#   windows  mingw-w64 (x86_64), run under Wine (wine64) in a virtual X server (xvfb-run), whose
#            Vulkan (vulkan-1.dll, winevulkan) reaches this machine's lavapipe;
#   arm64    gcc-aarch64-linux-gnu, run under qemu-user (the CPU backend).
# Installs what is missing (apt-get; root or sudo). cJSON, which has no package for either
# target, is compiled from Debian's source package: `apt-get source cjson`, with a deb-src
# entry derived from the machine's own Debian entries where there is none. Builds in
# build-windows/ or build-arm64/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tests/cross.sh windows|arm64}
case "$target" in
  windows) packages=(gcc-mingw-w64-x86-64 wine64 xvfb xauth dpkg-dev)
           toolchain=cmake/toolchains/x86_64-w64-mingw32.cmake ;;
  arm64)   packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user dpkg-dev)
           toolchain=cmake/toolchains/aarch64-linux-gnu.cmake ;;
  *) echo "usage: tests/cross.sh windows|arm64"; exit 2 ;;
esac
build=build-$target

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# cJSON's source, Debian's (its patches applied), once per build folder
src=$PWD/$build/cjson-src
if [ ! -f "$src/cJSON.c" ]; then
  if ! apt-get source --print-uris cjson >/dev/null 2>&1; then
    # deb-src twins of the machine's own deb entries (the same archives and suites)
    list=/etc/apt/sources.list.d/seattn-deb-src.sources
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && [ "$f" != "$list" ] || continue
      awk 'BEGIN { RS = ""; ORS = "\n\n" } /Types:[ \t]*deb/ && /debian/ {
             sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f"
    done | $SUDO tee "$list" >/dev/null
    if [ -f /etc/apt/sources.list ]; then
      sed -n 's/^deb \(.*debian.*\)/deb-src \1/p' /etc/apt/sources.list |
        $SUDO tee /etc/apt/sources.list.d/seattn-deb-src.list >/dev/null
    fi
    $SUDO apt-get update -q >/dev/null
  fi
  rm -rf "$build/cjson-dl" "$src"
  mkdir -p "$build/cjson-dl"
  (cd "$build/cjson-dl" && apt-get source -q --download-only cjson >/dev/null 2>&1)
  dpkg-source -x "$build"/cjson-dl/cjson_*.dsc "$src" >/dev/null
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEATTN_WERROR=ON -DSEATTN_PYTHON=OFF \
      -DSEATTN_CJSON_SOURCE_DIR="$src"
cmake --build "$build"

if [ "$target" = windows ]; then
  # Wine's own prefix in the build folder; lavapipe (Mesa 22.3) behind Wine's Vulkan
  export WINEPREFIX=$PWD/$build/wineprefix WINEDEBUG=-all
  export VK_DRIVER_FILES=${SEATTN_TEST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}
  xvfb-run -a ctest --test-dir "$build" --output-on-failure
else
  ctest --test-dir "$build" --output-on-failure
fi
