# virtio-blk request path: a guest-written split ring (descriptors, indirect tables, headers,
# segments, all fuzzed) served by a real BlkQueue over a malloc bdev on a real reactor.
vhostd_fuzzer(virtio_blk_queue_fuzz
  SOURCES virtio_blk_queue_fuzz.cpp
  DEPS vhostd_virtio_blk vhostd_malloc)
