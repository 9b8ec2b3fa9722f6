# SCSI target core: arbitrary CDB sequences (with data-out buffers, LUNs, initiators and aborts)
# executed against a malloc-backed LUN on a real reactor.
vhostd_fuzzer(scsi_cdb_fuzz
  SOURCES scsi_cdb_fuzz.cpp
  DEPS vhostd_scsi vhostd_malloc)
