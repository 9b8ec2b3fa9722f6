# vfio-user transport: the session state machine fed arbitrary command streams (with memfds,
# eventfds and fds of other kinds) against a fake PCI function, and the message reader fed
# arbitrary byte streams through a socket.
vhostd_fuzzer(vfio_user_session_fuzz
  SOURCES vfio_user_session_fuzz.cpp
  DEPS vhostd_vfio_user vhostd_testing_vfio_user)
vhostd_fuzzer(vfio_user_reader_fuzz
  SOURCES vfio_user_reader_fuzz.cpp
  DEPS vhostd_vfio_user vhostd_testing_vfio_user)
