# Run by `cmake --install`: puts python/seattn where SEATTN_PYTHON_EXECUTABLE looks for packages
# under the install prefix (cmake/python_sitedir.py; SEATTN_PYTHON_SITEDIR overrides it,
# relative to the prefix) and records in seattn/_install.py the way from the package to the
# installed library, so `import seattn` finds it with no environment variable.
# In: SEATTN_PYTHON_EXECUTABLE, SEATTN_PYTHON_SOURCE, SEATTN_PYTHON_SITEDIR, SEATTN_LIBDIR.
set(site "${SEATTN_PYTHON_SITEDIR}")
if(NOT site)
  execute_process(
    COMMAND "${SEATTN_PYTHON_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/python_sitedir.py"
            "${CMAKE_INSTALL_PREFIX}"
    OUTPUT_VARIABLE site OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT site)
    message(FATAL_ERROR "${SEATTN_PYTHON_EXECUTABLE} could not say where packages go under "
                        "${CMAKE_INSTALL_PREFIX}; set SEATTN_PYTHON_SITEDIR")
  endif()
endif()
set(pkg "${CMAKE_INSTALL_PREFIX}/${site}/seattn")
file(INSTALL "${SEATTN_PYTHON_SOURCE}/" DESTINATION "$ENV{DESTDIR}${pkg}"
     FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
file(RELATIVE_PATH libdir "${pkg}" "${CMAKE_INSTALL_PREFIX}/${SEATTN_LIBDIR}")
file(WRITE "$ENV{DESTDIR}${pkg}/_install.py"
     "# Written by cmake --install: the library, relative to this folder.\nLIBDIR = \"${libdir}\"\n")
message(STATUS "Python package: ${pkg} (library in ${CMAKE_INSTALL_PREFIX}/${SEATTN_LIBDIR})")
