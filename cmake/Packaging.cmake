# What `cmake --install` installs and the Debian package `cpack -G DEB` builds from it:
# fabricctl, its man pages and bash completion (generated from its own --help after every
# link, tools/man/help2docs.py), the systemd units of tools/systemd/ and the docs.
# Benchmarks, fuzz targets and tests are not installed.
include(GNUInstallDirs)

install(TARGETS fabricctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Sanitizer and fuzz builds are for tests only: they never install, and an instrumented
# fabricctl has no business running at build time.
if(NOT FABRICCTL_SANITIZE AND NOT FABRICCTL_FUZZ)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(CLI_DOCS_DIR ${CMAKE_BINARY_DIR}/cli-docs)
  add_custom_command(
    OUTPUT ${CLI_DOCS_DIR}/stamp
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/man/help2docs.py --binary $<TARGET_FILE:fabricctl>
            --man-dir ${CLI_DOCS_DIR}/man1 --completion ${CLI_DOCS_DIR}/fabricctl.bash
    COMMAND ${CMAKE_COMMAND} -E touch ${CLI_DOCS_DIR}/stamp
    DEPENDS fabricctl ${PROJECT_SOURCE_DIR}/tools/man/help2docs.py
    COMMENT "Writing the man pages and bash completion from fabricctl --help")
  add_custom_target(fabricctl_cli_docs ALL DEPENDS ${CLI_DOCS_DIR}/stamp)
  install(DIRECTORY ${CLI_DOCS_DIR}/man1/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1.gz")
  install(FILES ${CLI_DOCS_DIR}/fabricctl.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME fabricctl)
endif()

file(GLOB SYSTEMD_UNITS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/systemd/*.service
     ${PROJECT_SOURCE_DIR}/tools/systemd/*.timer)
install(CODE "set(FABRICCTL_UNIT_SOURCES \"${SYSTEMD_UNITS}\")
set(FABRICCTL_UNIT_STAGING \"${CMAKE_BINARY_DIR}/systemd-units\")
set(FABRICCTL_UNIT_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(FABRICCTL_UNIT_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/InstallSystemdUnits.cmake)

file(GLOB DOC_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${DOC_PAGES} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Debian policy wants the copyright and a compressed changelog in the package's doc folder
# (changelog.gz: the version has no Debian revision, so the package is native). The years of
# the copyright and the changelog's date come from the commits the build is made from
# (gzip -n: no name or time stamp inside, so the same commit gives the same file).
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 --format=%cD OUTPUT_VARIABLE FABRICCTL_PACKAGE_DATE
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log --format=%cd --date=format:%Y OUTPUT_VARIABLE commit_years
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT FABRICCTL_PACKAGE_DATE OR NOT commit_years)
  set(FABRICCTL_PACKAGE_DATE "Thu, 01 Jan 1970 00:00:00 +0000")
  set(commit_years 1970)
endif()
string(REPLACE "\n" ";" commit_years "${commit_years}")
list(SORT commit_years)
list(GET commit_years 0 first_year)
list(GET commit_years -1 last_year)
set(FABRICCTL_COPYRIGHT_YEARS ${first_year})
if(NOT first_year STREQUAL last_year)
  set(FABRICCTL_COPYRIGHT_YEARS ${first_year}-${last_year})
endif()
set(PACKAGING_DIR ${CMAKE_BINARY_DIR}/packaging)
configure_file(${PROJECT_SOURCE_DIR}/tools/packaging/copyright.in ${PACKAGING_DIR}/copyright @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/tools/packaging/changelog.in ${PACKAGING_DIR}/changelog @ONLY)
add_custom_command(
  OUTPUT ${PACKAGING_DIR}/changelog.gz
  COMMAND gzip -9nfk changelog
  DEPENDS ${PACKAGING_DIR}/changelog
  WORKING_DIRECTORY ${PACKAGING_DIR}
  COMMENT "Compressing the Debian changelog")
add_custom_target(fabricctl_changelog ALL DEPENDS ${PACKAGING_DIR}/changelog.gz)
install(FILES ${PACKAGING_DIR}/copyright ${PACKAGING_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The package: name and version from project(), library dependencies from dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fabricctl)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "fabricctl developers <dev@fabricctl.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "fabric manager and diagnostic tool for RDMA clusters")
set(CPACK_PACKAGE_DESCRIPTION
    "fabricctl finds the topology of an InfiniBand or RoCE fabric (directed-route
SMPs or a topology file), computes and verifies deadlock-free routes, deploys
route tables to the switches, probes latency and bandwidth over RDMA verbs or
TCP, and runs link-health sweeps that name the degraded link. Ships systemd
units for the probe agent, the always-on monitor and a nightly sweep; none is
enabled on install.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "opensm, infiniband-diags, prometheus-node-exporter")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
