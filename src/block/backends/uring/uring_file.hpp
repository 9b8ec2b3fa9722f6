// UringFile: the open file or block device behind a uring bdev, shared by the bdev and its
// channels (one io_uring each). Opening decides O_DIRECT and read-only, and detects geometry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd::block {

struct UringFile {
    std::string filename;
    UniqueFd fd;           // the I/O fd: O_DIRECT when direct_io
    UniqueFd buffered_fd;  // without O_DIRECT, for I/O O_DIRECT rejects; only when direct_io
    bool direct_io = false;
    bool read_only = false;
    bool block_device = false;
    uint32_t logical_block_size = 512;  // BLKSSZGET for block devices; 512 for files
    uint32_t physical_block_size = 0;   // BLKPBSZGET for block devices; 0 (unknown) for files
    uint64_t size_bytes = 0;

    [[nodiscard]] int buffered() const { return direct_io ? buffered_fd.get() : fd.get(); }
};

// Opens `filename` (a regular file or a block device) read-write with O_DIRECT, and:
// - without O_DIRECT when the file system refuses it at open (EINVAL: tmpfs, some FUSE);
// - read-only when read-write is refused (EACCES, EPERM, EROFS), with read_only set;
// - with a second, buffered fd when O_DIRECT is on, to retry I/O it rejects.
[[nodiscard]] Result<std::shared_ptr<const UringFile>> open_uring_file(const std::string& filename);

// The size of the open file or block device now (it may have grown or shrunk since opening).
[[nodiscard]] Result<uint64_t> current_size_bytes(const UringFile& file);

}  // namespace vhostd::block
