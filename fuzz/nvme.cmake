# NVMe controller: I/O commands (every SQE field, PRPs, PRP lists, SGL segments, Dataset
# Management ranges, all fuzzed in guest memory) and admin commands (Identify, features, log
# pages, queue management, Doorbell Buffer Config) served by a real controller over a malloc
# bdev, driven through the pci::Function interface by the test driver.
vhostd_fuzzer(nvme_command_fuzz
  SOURCES nvme_command_fuzz.cpp
  DEPS vhostd_nvme vhostd_malloc vhostd_testing_nvme)
vhostd_fuzzer(nvme_admin_fuzz
  SOURCES nvme_admin_fuzz.cpp
  DEPS vhostd_nvme vhostd_malloc vhostd_testing_nvme)
