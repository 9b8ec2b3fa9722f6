# Inflight tracking: a frontend-supplied inflight region slice (split and packed layouts) and
# the ring state its recovery reads, validated, recovered and then used.
vhostd_fuzzer(vhost_inflight_fuzz
  SOURCES vhost_inflight_fuzz.cpp
  DEPS vhostd_virtio)
