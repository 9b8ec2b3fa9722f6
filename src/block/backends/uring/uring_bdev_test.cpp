// Uring bdev creation: geometry detection, refusals, O_DIRECT fallback, read-only files.
#include "block/backends/uring/uring_bdev.hpp"

#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/block_io.hpp"

namespace vhostd::block {
namespace {

using testing::TempFile;

std::string error_of(const UringParams& params) {
    auto r = bdev_uring_create(params);
    return r ? std::string("created") : r.error().message;
}

const UringFile& file_of(const std::shared_ptr<Bdev>& bdev) {
    return *uring_file(*bdev);
}

TEST(UringBdev, DetectsGeometryOfARegularFile) {
    TempFile file("/tmp", 4096 * 10 + 100);  // a partial block at the end is left unused
    auto bdev = bdev_uring_create({"Uring0", file.path, 0, {}});
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    EXPECT_EQ((*bdev)->block_size(), 512U);  // files: 512 unless told otherwise
    EXPECT_EQ((*bdev)->num_blocks(), 80U);
    EXPECT_EQ((*bdev)->product_name(), "URING bdev");
    const Capabilities& caps = (*bdev)->capabilities();
    EXPECT_TRUE(caps.flush);
    EXPECT_TRUE(caps.discard);
    EXPECT_TRUE(caps.write_zeroes);
    EXPECT_FALSE(caps.read_only);
    EXPECT_GT(caps.max_segments, 0U);
    EXPECT_FALSE(file_of(*bdev).block_device);

    auto big = bdev_uring_create({"Uring1", file.path, 4096, {}});
    ASSERT_TRUE(big.has_value());
    EXPECT_EQ((*big)->block_size(), 4096U);
    EXPECT_EQ((*big)->num_blocks(), 10U);

    nlohmann::json info = (*big)->driver_specific();
    EXPECT_EQ(info["uring"]["filename"], file.path);
    EXPECT_EQ(info["uring"]["block_size"], 4096);
    EXPECT_EQ(info["uring"]["name"], "Uring1");
    EXPECT_EQ(info["uring"]["uuid"], (*big)->uuid());
}

TEST(UringBdev, RescanFollowsTheFileSize) {
    TempFile file("/tmp", 4096 * 10);
    auto bdev = bdev_uring_create({"Uring0", file.path, 0, {}});
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    Bdev& b = **bdev;
    testing::Harness h(b);
    int heard = 0;
    (void)b.add_listener([&](Bdev&, BdevEvent) { ++heard; });

    ASSERT_EQ(::truncate(file.path.c_str(), 4096 * 20 + 300), 0);  // partial block: unused
    auto grown = bdev_uring_rescan(b, false);
    ASSERT_TRUE(grown.has_value()) << grown.error().describe();
    EXPECT_EQ(*grown, 160U);
    EXPECT_EQ(b.num_blocks(), 160U);
    EXPECT_EQ(heard, 1);
    // The channel made before the rescan reaches the new blocks.
    EXPECT_EQ(h.range(IoType::write_zeroes, 4096 * 15, 4096, true), IoStatus::success);

    ASSERT_EQ(::truncate(file.path.c_str(), 4096 * 5), 0);
    EXPECT_EQ(bdev_uring_rescan(b, false).error().code, EBUSY);  // in use: no shrinking
    EXPECT_EQ(b.num_blocks(), 160U);
    auto shrunk = bdev_uring_rescan(b, true);
    ASSERT_TRUE(shrunk.has_value());
    EXPECT_EQ(*shrunk, 40U);
    EXPECT_EQ(heard, 2);
    EXPECT_EQ(h.range(IoType::write_zeroes, 4096 * 15, 4096, true), IoStatus::io_error);

    ASSERT_EQ(::truncate(file.path.c_str(), 100), 0);
    EXPECT_EQ(bdev_uring_rescan(b, true).error().code, EINVAL);  // less than one block
}

TEST(UringBdev, RefusesEmptyAndTooSmallFiles) {
    TempFile empty("/tmp", 0);
    EXPECT_EQ(error_of({"U", empty.path, 0, {}}),
              "bdev U: " + empty.path + " holds 0 bytes, less than one block of 512");
    TempFile small("/tmp", 1024);
    EXPECT_EQ(error_of({"U", small.path, 4096, {}}),
              "bdev U: " + small.path + " holds 1024 bytes, less than one block of 4096");
}

TEST(UringBdev, RefusesBadParametersAndUnusableFiles) {
    TempFile file("/tmp", 4096);
    EXPECT_EQ(error_of({"U", "", 0, {}}), "bdev U: filename must not be empty");
    EXPECT_EQ(error_of({"U", file.path, 1000, {}}),
              "bdev U: block_size 1000 must be a power of two from 512 to 65536");
    EXPECT_EQ(error_of({"", file.path, 0, {}}), "bdev name must not be empty");
    EXPECT_EQ(error_of({"U", file.path, 0, "nope"}).rfind("bdev U: invalid UUID", 0), 0U);

    auto missing = bdev_uring_create({"U", "/nonexistent/vhostd-disk.img", 0, {}});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_EQ(missing.error().message, "bdev U: cannot open /nonexistent/vhostd-disk.img");

    EXPECT_FALSE(bdev_uring_create({"U", "/tmp", 0, {}}).has_value());  // a directory
    EXPECT_EQ(error_of({"U", "/dev/null", 0, {}}),
              "bdev U: /dev/null is neither a regular file nor a block device");

    // A FIFO must be refused, not block the control thread in open().
    const std::string fifo = file.path + ".fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(error_of({"U", fifo, 0, {}}),
              "bdev U: " + fifo + " is neither a regular file nor a block device");
    ::unlink(fifo.c_str());
}

// O_DIRECT where the file system takes it, buffered I/O where open(O_DIRECT) says EINVAL
// (tmpfs before Linux 6.6, some FUSE file systems), decided per file system at open.
TEST(UringBdev, UsesODirectExactlyWhereTheFileSystemAllowsIt) {
    for (const char* dir : {"/tmp", "/dev/shm"}) {
        struct statfs fs {};
        if (::statfs(dir, &fs) != 0)
            continue;
        TempFile file(dir, 1 << 20);
        const int probe = ::open(file.path.c_str(), O_RDWR | O_DIRECT);
        const bool fs_direct = probe >= 0;
        if (probe >= 0)
            ::close(probe);
        auto bdev = bdev_uring_create({"Uring0", file.path, 0, {}});
        ASSERT_TRUE(bdev.has_value()) << dir << ": " << bdev.error().describe();
        const UringFile& f = file_of(*bdev);
        EXPECT_EQ(f.direct_io, fs_direct) << dir;
        EXPECT_EQ(f.buffered_fd.valid(), fs_direct) << dir;  // needed only beside O_DIRECT
        if (!fs_direct) {
            EXPECT_GE(f.fd.get(), 0);
        }
    }
}

TEST(UringBdev, ReadOnlyFileBecomesAReadOnlyBdev) {
    TempFile file("/tmp", 64 * 512);
    ASSERT_EQ(::chmod(file.path.c_str(), 0444), 0);
    // root ignores permission bits: act as nobody for the open (setfsuid is per thread).
    const bool root = ::geteuid() == 0;
    if (root)
        ::setfsuid(65534);
    auto bdev = bdev_uring_create({"Uring0", file.path, 0, {}});
    if (root)
        ::setfsuid(0);
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    const Capabilities& caps = (*bdev)->capabilities();
    EXPECT_TRUE(caps.read_only);
    EXPECT_FALSE(caps.discard);
    EXPECT_FALSE(caps.write_zeroes);
    EXPECT_TRUE(file_of(*bdev).read_only);

    testing::Harness h(**bdev);
    testing::AlignedBuffer buf(4096);
    auto iov = testing::split(buf.data, buf.size, {});
    EXPECT_EQ(h.rw(IoType::read, 0, iov), IoStatus::success);
    EXPECT_EQ(h.rw(IoType::write, 0, iov), IoStatus::io_error);
    EXPECT_EQ(h.range(IoType::discard, 0, 512), IoStatus::io_error);
    EXPECT_EQ(h.range(IoType::flush, 0, 0), IoStatus::success);
}

// Opt-in, as it needs a scratch block device whose contents it overwrites:
// VHOSTD_TEST_BLOCK_DEVICE=/dev/loop0 (e.g. losetup --sector-size 4096 over a file).
TEST(UringBdev, ServesABlockDevice) {
    const char* dev = std::getenv("VHOSTD_TEST_BLOCK_DEVICE");
    if (dev == nullptr)
        GTEST_SKIP() << "set VHOSTD_TEST_BLOCK_DEVICE to run";
    auto bdev = bdev_uring_create({"Dev0", dev, 0, {}});
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    const UringFile& f = file_of(*bdev);
    const uint32_t bs = f.logical_block_size;
    EXPECT_TRUE(f.block_device);
    EXPECT_EQ((*bdev)->block_size(), bs);
    EXPECT_EQ((*bdev)->num_blocks(), f.size_bytes / bs);
    if (bs > 512) {
        EXPECT_FALSE(bdev_uring_create({"Dev1", dev, 512, {}}).has_value());
    }

    testing::Harness h(**bdev);
    testing::AlignedBuffer out(8 * bs + 1), in(8 * bs + 1);
    out.fill_pattern(4);
    for (size_t shift : {0, 1}) {  // aligned, then unaligned buffers (buffered retry)
        auto wiov = testing::split(out.data + shift, 8 * bs, {bs, 2 * bs});
        auto riov = testing::split(in.data + shift, 8 * bs, {5 * bs});
        EXPECT_EQ(h.rw(IoType::write, 4 * bs, wiov), IoStatus::success);
        EXPECT_EQ(h.rw(IoType::read, 4 * bs, riov), IoStatus::success);
        EXPECT_EQ(std::memcmp(out.data + shift, in.data + shift, 8 * bs), 0);
    }
    EXPECT_EQ(h.range(IoType::flush, 0, 0), IoStatus::success);
    // Whether the device can discard or zero is its business; the outcome must be clean.
    for (IoType t : {IoType::discard, IoType::write_zeroes}) {
        const IoStatus st = h.range(t, 4 * bs, 2 * bs, true);
        EXPECT_TRUE(st == IoStatus::success || st == IoStatus::unsupported) << to_string(t);
    }
}

}  // namespace
}  // namespace vhostd::block
