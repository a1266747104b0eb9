# Install-time script (install(SCRIPT)): copies the systemd units of tools/systemd/ into
# <prefix>/lib/systemd/system with the paths they name rewritten for the prefix being
# installed to. The units in the source tree name the package's paths (/usr/bin/fabricctl,
# /usr/share/doc/fabricctl), so a `cmake --install --prefix /usr/local` gets units that start
# the binary it installed. Reads FABRICCTL_UNIT_SOURCES, FABRICCTL_UNIT_STAGING and the
# install directories FABRICCTL_UNIT_BINDIR and FABRICCTL_UNIT_DOCDIR (relative to the prefix).
set(bindir "${CMAKE_INSTALL_PREFIX}/${FABRICCTL_UNIT_BINDIR}")
set(docdir "${CMAKE_INSTALL_PREFIX}/${FABRICCTL_UNIT_DOCDIR}")
foreach(unit ${FABRICCTL_UNIT_SOURCES})
  get_filename_component(name "${unit}" NAME)
  file(READ "${unit}" text)
  string(REPLACE "/usr/bin/fabricctl" "${bindir}/fabricctl" text "${text}")
  string(REPLACE "/usr/share/doc/fabricctl" "${docdir}" text "${text}")
  file(MAKE_DIRECTORY "${FABRICCTL_UNIT_STAGING}")
  file(WRITE "${FABRICCTL_UNIT_STAGING}/${name}" "${text}")
  file(INSTALL "${FABRICCTL_UNIT_STAGING}/${name}" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
