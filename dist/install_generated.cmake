# Runs at install time (cmake --install, make install): writes the files that name the install
# prefix, so that `make install PREFIX=/usr` needs no reconfiguration. IOTSEC_DIST, IOTSEC_VERSION,
# IOTSEC_LIBDIR, IOTSEC_INCLUDEDIR and IOTSEC_BINDIR are set by dist/CMakeLists.txt.
set(PREFIX "${CMAKE_INSTALL_PREFIX}")
set(root "$ENV{DESTDIR}${PREFIX}")
set(VERSION "${IOTSEC_VERSION}")
set(LIBDIR "${IOTSEC_LIBDIR}")
set(INCLUDEDIR "${IOTSEC_INCLUDEDIR}")
set(BINDIR "${PREFIX}/${IOTSEC_BINDIR}")
foreach(pair "iotsec-device.pc.in|${LIBDIR}/pkgconfig/iotsec-device.pc"
             "iotsec-device-http.pc.in|${LIBDIR}/pkgconfig/iotsec-device-http.pc"
             "iotsecd.service.in|lib/systemd/system/iotsecd.service")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 in)
  list(GET pair 1 out)
  message(STATUS "Installing: ${root}/${out}")
  configure_file("${IOTSEC_DIST}/${in}" "${root}/${out}" @ONLY)
endforeach()
