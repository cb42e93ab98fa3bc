#!/usr/bin/env bash
# tests/mesa_backports.sh DIR: the lavapipe of Debian 12's backported Mesa (25.x, what current
# distributions ship) unpacked into DIR beside the system's Mesa 22.3, which stays installed
# and default. Prints DIR on success; DIR/lvp_icd.json is its Vulkan driver manifest (and
# DIR/radeon_icd.json RADV's, for tests/gpu_budget.sh), used with
#   LD_LIBRARY_PATH=DIR/root/usr/lib/x86_64-linux-gnu VK_DRIVER_FILES=DIR/lvp_icd.json
# The backports suite is added to apt's sources from the machine's own Debian 12 entry (the
# same archive, another suite); nothing is installed. Exits 3, saying why, where that cannot be
# done (not Debian 12, no root), so callers can skip.
set -euo pipefail
dest=${1:?usage: mesa_backports.sh DIR}
radv_icd() { # RADV of the same Mesa: tests/gpu_budget.sh compiles for AMD chips with it
  printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s/root/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so", "api_version": "1.3.0"}}\n' \
    "$dest" >"$dest/radeon_icd.json"
}
if [ -f "$dest/ok" ]; then
  [ -f "$dest/radeon_icd.json" ] || radv_icd
  echo "$dest"
  exit 0
fi
skip() { echo "mesa_backports: $*" >&2; exit 3; }
[ "$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")" = bookworm ] ||
  skip "not Debian 12 (bookworm): the system's own Mesa is the one to test"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || skip "needs root or sudo to add the backports suite"
  SUDO=sudo
fi
policy=$(apt-cache policy mesa-vulkan-drivers 2>/dev/null || true)
if [[ $policy != *bookworm-backports* ]]; then
  uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -q '^Suites:.*\bbookworm\b' "$f" || continue
    uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
    break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || skip "no Debian bookworm entry in apt's sources to derive backports from"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
    "$uri" /usr/share/keyrings/debian-archive-keyring.gpg |
    $SUDO tee /etc/apt/sources.list.d/seattn-bookworm-backports.sources >/dev/null
  $SUDO apt-get update -q >/dev/null
fi
rm -rf "$dest"
mkdir -p "$dest/debs"
(cd "$dest/debs" && apt-get download -q mesa-vulkan-drivers/bookworm-backports \
   libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports >/dev/null 2>&1)
for d in "$dest"/debs/*.deb; do dpkg -x "$d" "$dest/root"; done
lib=$dest/root/usr/lib/x86_64-linux-gnu
[ -f "$lib/libvulkan_lvp.so" ] || skip "the backported mesa-vulkan-drivers has no lavapipe"
printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s/libvulkan_lvp.so", "api_version": "1.3.0"}}\n' \
  "$lib" >"$dest/lvp_icd.json"
[ -f "$lib/libvulkan_radeon.so" ] && radv_icd
touch "$dest/ok"
echo "$dest"
