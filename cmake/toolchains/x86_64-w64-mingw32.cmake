# Windows x86_64 with Debian's mingw-w64 (gcc-mingw-w64-x86-64):
#   cmake -S . -B build-mingw -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32.cmake
# The Vulkan headers and volk are headers and a source file, the same for every target: they
# are taken from the host's /usr/include, staged alone (cmake/CrossBuild.cmake), so that the host's C
# library headers never mix with mingw's. tests/cross.sh builds and runs it under Wine.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
# the win32 flavour: no winpthreads (the library uses Windows' own InitOnce), no runtime DLL
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-win32)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# ctest runs the programs under Wine (Debian's wine64 package has it in /usr/lib/wine)
find_program(SEATTN_WINE NAMES wine64 wine PATHS /usr/lib/wine)
if(SEATTN_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SEATTN_WINE})
endif()
