# Writes the service definitions with the paths of this installation, at
# install time (so `cmake --install --prefix P` puts P's binary into them).
# Included by the install rules in CMakeLists.txt, and run on its own with
# `cmake -D... -P` by scripts/check-install.py to check the launchd plist on
# Linux. Inputs:
#   JOELCLAW_SOURCE_DIR     the repository root
#   JOELCLAW_OUT_DIR        where to write the configured files
#   JOELCLAW_SERVICE_FILES  launchd, systemd or none
#   JOELCLAW_BINDIR         bin directory, relative to CMAKE_INSTALL_PREFIX or absolute
#   JOELCLAW_DOCDIR         documentation directory, likewise (optional: share/doc/joelclaw_exporter)
#   JOELCLAW_CONFIG_FILE    the --config.file the service passes
#   JOELCLAW_LOG_DIR        launchd log directory; empty: <prefix>/var/log
#   JOELCLAW_LOG_OWNER      user owning the launchd log after rotation; empty: the
#                           user who ran `sudo cmake --install` ($SUDO_USER), else $USER
#   CMAKE_INSTALL_PREFIX    the prefix (set by cmake --install)
foreach(var JOELCLAW_SOURCE_DIR JOELCLAW_OUT_DIR JOELCLAW_SERVICE_FILES JOELCLAW_BINDIR
            JOELCLAW_CONFIG_FILE CMAKE_INSTALL_PREFIX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "configure-service-files.cmake: ${var} is not set")
  endif()
endforeach()

if(IS_ABSOLUTE "${JOELCLAW_BINDIR}")
  set(JOELCLAW_BINARY "${JOELCLAW_BINDIR}/joelclaw_exporter")
else()
  set(JOELCLAW_BINARY "${CMAKE_INSTALL_PREFIX}/${JOELCLAW_BINDIR}/joelclaw_exporter")
endif()
if(NOT JOELCLAW_DOCDIR)
  set(JOELCLAW_DOCDIR "share/doc/joelclaw_exporter")
endif()
if(IS_ABSOLUTE "${JOELCLAW_DOCDIR}")
  set(JOELCLAW_DOC_DIR "${JOELCLAW_DOCDIR}")
else()
  set(JOELCLAW_DOC_DIR "${CMAKE_INSTALL_PREFIX}/${JOELCLAW_DOCDIR}")
endif()
if(NOT JOELCLAW_LOG_DIR)
  set(JOELCLAW_LOG_DIR "${CMAKE_INSTALL_PREFIX}/var/log")
endif()
# The agent runs as its user, who must be able to write the fresh log file
# newsyslog creates (as root:admin unless told otherwise).
if(NOT JOELCLAW_LOG_OWNER)
  if(NOT "$ENV{SUDO_USER}" STREQUAL "")
    set(JOELCLAW_LOG_OWNER "$ENV{SUDO_USER}")
  elseif(NOT "$ENV{USER}" STREQUAL "")
    set(JOELCLAW_LOG_OWNER "$ENV{USER}")
  else()
    set(JOELCLAW_LOG_OWNER "root")
  endif()
endif()

if(JOELCLAW_SERVICE_FILES STREQUAL "systemd")
  configure_file("${JOELCLAW_SOURCE_DIR}/packaging/systemd/joelclaw-exporter.service.in"
                 "${JOELCLAW_OUT_DIR}/joelclaw-exporter.service" @ONLY)
elseif(JOELCLAW_SERVICE_FILES STREQUAL "launchd")
  configure_file("${JOELCLAW_SOURCE_DIR}/packaging/launchd/com.joelclaw.exporter.plist.in"
                 "${JOELCLAW_OUT_DIR}/com.joelclaw.exporter.plist" @ONLY)
  configure_file("${JOELCLAW_SOURCE_DIR}/packaging/launchd/joelclaw-exporter.newsyslog.conf.in"
                 "${JOELCLAW_OUT_DIR}/joelclaw-exporter.conf" @ONLY)
elseif(NOT JOELCLAW_SERVICE_FILES STREQUAL "none")
  message(FATAL_ERROR "JOELCLAW_SERVICE_FILES must be launchd, systemd or none, "
                      "not '${JOELCLAW_SERVICE_FILES}'")
endif()
