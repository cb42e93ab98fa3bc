#!/bin/sh
# Rewrites a static library as one relocatable object whose hidden symbols are local:
# ld -r joins the members (internal references resolve there), objcopy --localize-hidden hides
# the rest. An app linking libseattn.a then sees only the seattn_ functions, never our copy of
# volk's globals. COFF (Windows) has no hidden visibility: there every global symbol but the
# seattn_ functions is made local by name.  Usage: localize_static.sh LIB.a LD OBJCOPY AR [coff]
set -eu
lib=$1 ld=$2 objcopy=$3 ar=$4 format=${5:-elf}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# every member, taken by the linker itself: members of the same name (src/context.c and
# src/vulkan/context.c) would overwrite each other if extracted with ar x
"$ld" -r -o "$dir/seattn_all.o" --whole-archive "$lib"
if [ "$format" = coff ]; then
  "$objcopy" --wildcard --keep-global-symbol='!seattn__*' --keep-global-symbol='seattn_*' \
    "$dir/seattn_all.o"
else
  "$objcopy" --localize-hidden "$dir/seattn_all.o"
fi
rm -f "$lib"
"$ar" rcs "$lib" "$dir/seattn_all.o"
