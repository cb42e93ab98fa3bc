# A cross build on Debian (cmake/toolchains/): Windows x86_64 with mingw-w64, Linux aarch64 with
# gcc-aarch64-linux-gnu. The Vulkan headers, volk and cJSON have no package for these targets
# here; the first two are the same C for every target, so the host's are staged alone into the
# build folder (never the host's /usr/include itself, whose C library headers are the host's),
# and cJSON is compiled from Debian's source package (tests/cross.sh fetches it with apt-get
# source). Nothing is copied into the repository.
set(SEATTN_HOST_INCLUDE_DIR /usr/include CACHE PATH
    "Where the host's Vulkan headers (libvulkan-dev) and volk (libvulkan-volk-dev) are")
set(SEATTN_CJSON_SOURCE_DIR "" CACHE PATH
    "cJSON's source (Debian's source package, unpacked), compiled into the program")

set(stage ${PROJECT_BINARY_DIR}/host-include)
file(MAKE_DIRECTORY ${stage}/cjson)
foreach(entry vulkan vk_video volk.h volk.c)
  if(NOT EXISTS ${SEATTN_HOST_INCLUDE_DIR}/${entry})
    message(FATAL_ERROR "${SEATTN_HOST_INCLUDE_DIR}/${entry} not found (libvulkan-dev, "
                        "libvulkan-volk-dev)")
  endif()
  file(CREATE_LINK ${SEATTN_HOST_INCLUDE_DIR}/${entry} ${stage}/${entry} SYMBOLIC)
endforeach()
add_library(Vulkan::Headers INTERFACE IMPORTED)
target_include_directories(Vulkan::Headers SYSTEM INTERFACE ${stage})
set(VOLK_SOURCE_DIR ${stage})

if(NOT EXISTS ${SEATTN_CJSON_SOURCE_DIR}/cJSON.c)
  message(FATAL_ERROR "SEATTN_CJSON_SOURCE_DIR: cJSON's source is needed for the program "
                      "(apt-get source cjson; tests/cross.sh does it)")
endif()
file(CREATE_LINK ${SEATTN_CJSON_SOURCE_DIR}/cJSON.h ${stage}/cjson/cJSON.h SYMBOLIC)
add_library(seattn_cjson STATIC ${SEATTN_CJSON_SOURCE_DIR}/cJSON.c)
target_include_directories(seattn_cjson SYSTEM PUBLIC ${stage})
set_target_properties(seattn_cjson PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_library(PkgConfig::CJSON ALIAS seattn_cjson)

if(WIN32)
  # The examples and tests link the Vulkan loader (vulkan-1.dll), which mingw-w64 has no import
  # library for: GNU ld links against the DLL itself, Wine's here
  set(SEATTN_VULKAN_DLL /usr/lib/x86_64-linux-gnu/wine/x86_64-windows/vulkan-1.dll CACHE
      FILEPATH "A vulkan-1.dll to link the examples against (Wine's; on Windows, the SDK's)")
  add_library(Vulkan::Vulkan INTERFACE IMPORTED)
  target_link_libraries(Vulkan::Vulkan INTERFACE Vulkan::Headers ${SEATTN_VULKAN_DLL})
  # one folder for the DLL and the programs, where Windows looks for DLLs; no mingw runtime DLL
  set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  add_link_options(-static-libgcc)
endif()
