# Packed virtqueues: a guest-written packed descriptor ring (wrap counters, lists, buffer IDs,
# indirect tables, event suppression, ring base) served by PackedQueue, with and without
# inflight tracking.
vhostd_fuzzer(virtio_packed_queue_fuzz
  SOURCES virtio_packed_queue_fuzz.cpp
  DEPS vhostd_virtio)
