# virtio-scsi request and control paths: a guest-written split ring (descriptors, indirect
# tables, request headers, CDBs, TMFs, all fuzzed) served by ScsiRequestQueue /
# ScsiControlQueue over a target on a malloc bdev on a real reactor.
vhostd_fuzzer(virtio_scsi_queue_fuzz
  SOURCES virtio_scsi_queue_fuzz.cpp
  DEPS vhostd_virtio_scsi vhostd_malloc)
