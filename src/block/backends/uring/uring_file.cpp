// Opening a uring bdev's file: access mode, O_DIRECT fallback, geometry detection.
#include "block/backends/uring/uring_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

namespace vhostd::block {
namespace {

// open(2) with O_NONBLOCK so that a FIFO given by mistake cannot block the control thread;
// the flag is cleared again because io_uring fails I/O on O_NONBLOCK files with EAGAIN
// instead of waiting for it.
Result<UniqueFd> open_blocking(const std::string& filename, int flags) {
    UniqueFd fd(::open(filename.c_str(), flags | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        return errno_error(fmt::format("cannot open {}", filename));
    }
    const int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
        return errno_error(fmt::format("cannot clear O_NONBLOCK on {}", filename));
    }
    return fd;
}

// Opens with `access` (O_RDWR or O_RDONLY), with O_DIRECT if the file system allows it.
Result<UniqueFd> open_fd(const std::string& filename, int access, bool& direct) {
    auto fd = open_blocking(filename, access | O_DIRECT);
    direct = fd.has_value();
    if (!fd && fd.error().code == EINVAL) {
        fd = open_blocking(filename, access);
    }
    return fd;
}

Result<void> detect_geometry(UringFile& file) {
    struct stat st {};
    if (::fstat(file.fd.get(), &st) != 0) {
        return errno_error(fmt::format("cannot stat {}", file.filename));
    }
    if (S_ISREG(st.st_mode)) {
        file.size_bytes = static_cast<uint64_t>(st.st_size);
        return {};
    }
    if (!S_ISBLK(st.st_mode)) {
        return make_error(EINVAL, "{} is neither a regular file nor a block device", file.filename);
    }
    int logical = 0;
    unsigned int physical = 0;
    if (::ioctl(file.fd.get(), BLKSSZGET, &logical) != 0 ||
        ::ioctl(file.fd.get(), BLKPBSZGET, &physical) != 0) {
        return errno_error(
            fmt::format("cannot read the geometry of block device {}", file.filename));
    }
    file.block_device = true;
    file.logical_block_size = static_cast<uint32_t>(logical);
    file.physical_block_size = physical;
    file.size_bytes = VHOSTD_TRY(current_size_bytes(file));
    return {};
}

}  // namespace

Result<uint64_t> current_size_bytes(const UringFile& file) {
    if (file.block_device) {
        uint64_t size = 0;
        if (::ioctl(file.fd.get(), BLKGETSIZE64, &size) != 0) {
            return errno_error(fmt::format("cannot read the size of {}", file.filename));
        }
        return size;
    }
    struct stat st {};
    if (::fstat(file.fd.get(), &st) != 0) {
        return errno_error(fmt::format("cannot stat {}", file.filename));
    }
    return static_cast<uint64_t>(st.st_size);
}

Result<std::shared_ptr<const UringFile>> open_uring_file(const std::string& filename) {
    auto file = std::make_shared<UringFile>();
    file->filename = filename;
    auto fd = open_fd(filename, O_RDWR, file->direct_io);
    if (!fd &&
        (fd.error().code == EACCES || fd.error().code == EPERM || fd.error().code == EROFS)) {
        fd = open_fd(filename, O_RDONLY, file->direct_io);
        file->read_only = fd.has_value();
    }
    if (!fd) {
        return std::unexpected(std::move(fd).error());
    }
    file->fd = std::move(*fd);
    VHOSTD_TRY(detect_geometry(*file));
    if (file->direct_io) {
        file->buffered_fd =
            VHOSTD_TRY(open_blocking(filename, file->read_only ? O_RDONLY : O_RDWR));
    }
    return file;
}

}  // namespace vhostd::block
