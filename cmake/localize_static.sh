#!/bin/sh
# Rewrites a static library as one relocatable object whose hidden symbols are local:
# ld -r joins the members (internal references resolve there), objcopy --localize-hidden hides
# the rest. An app linking libseattn.a then sees only the seattn_ functions, never our copy of
# volk's globals.  Usage: localize_static.sh LIB.a LD OBJCOPY AR
set -eu
lib=$1 ld=$2 objcopy=$3 ar=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && "$ar" x "$lib")
"$ld" -r -o "$dir/seattn_all.o" "$dir"/*.o
"$objcopy" --localize-hidden "$dir/seattn_all.o"
rm -f "$lib"
"$ar" rcs "$lib" "$dir/seattn_all.o"
