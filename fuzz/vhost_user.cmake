# vhost-user transport: the session state machine fed arbitrary request streams (with memfds
# and eventfds as fds) against a fake device and queue control, and the message reader fed
# arbitrary byte streams through a socket.
vhostd_fuzzer(vhost_user_session_fuzz
  SOURCES vhost_user_session_fuzz.cpp
  DEPS vhostd_vhost_user vhostd_testing_vhost_user)
vhostd_fuzzer(vhost_user_reader_fuzz
  SOURCES vhost_user_reader_fuzz.cpp
  DEPS vhostd_vhost_user vhostd_testing_vhost_user)
