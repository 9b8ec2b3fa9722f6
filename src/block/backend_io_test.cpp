// The I/O contract every data-keeping backend honours (malloc; uring with and without
// O_DIRECT), driven through a real reactor: round trips over multi-iovec buffers, flush,
// discard and write-zeroes reading back zeroes, completions never inline, more requests in
// flight than a ring holds, malformed requests refused.
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "block/backends/uring/uring_bdev.hpp"
#include "block/backends/uring/uring_channel.hpp"
#include "support/block_io.hpp"

namespace vhostd::block {
namespace {

using testing::AlignedBuffer;
using testing::Harness;
using testing::TempFile;
using namespace std::chrono_literals;

constexpr uint32_t kBlock = 512;
constexpr uint64_t kBlocks = 4096;  // 2 MiB: room for one request per block beyond the ring
constexpr uint64_t kSize = kBlock * kBlocks;

struct Backend {
    const char* label;
    const char* dir;  // for uring: where the backing file lives; nullptr for malloc
};

class BackendIo : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        const Backend& b = GetParam();
        if (b.dir == nullptr) {
            bdev_ = *bdev_malloc_create({"Malloc0", kBlocks, kBlock, {}});
        } else {
            struct stat st {};
            if (::stat(b.dir, &st) != 0)
                GTEST_SKIP() << b.dir << " does not exist";
            file_ = std::make_unique<TempFile>(b.dir, kSize);
            auto bdev = bdev_uring_create({"Uring0", file_->path, 0, {}});
            ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
            bdev_ = *bdev;
            // What the file system supports decides what the bdev can do (tmpfs punches holes
            // but has no FALLOC_FL_ZERO_RANGE; ramfs has neither): ask it on a scratch file.
            TempFile probe(b.dir, 1 << 16);
            const int fd = ::open(probe.path.c_str(), O_RDWR);
            ASSERT_GE(fd, 0);
            punch_ = ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
            zero_range_ = ::fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
            ::close(fd);
        }
        harness_ = std::make_unique<Harness>(*bdev_);
        ASSERT_NE(harness_->channel, nullptr);
    }
    void TearDown() override { harness_.reset(); }

    std::unique_ptr<TempFile> file_;
    std::shared_ptr<Bdev> bdev_;
    std::unique_ptr<Harness> harness_;
    bool punch_ = true;       // the file system punches holes (discard, unmapping zeroes)
    bool zero_range_ = true;  // it zeroes ranges (write_zeroes without unmap)
};

TEST_P(BackendIo, WritesAndReadsBackThroughMultipleIovecs) {
    AlignedBuffer out(16 * kBlock);
    AlignedBuffer in(16 * kBlock);
    out.fill_pattern(1);
    auto wiov = testing::split(out.data, out.size, {kBlock, 3 * kBlock, 4 * kBlock});
    auto riov = testing::split(in.data, in.size, {8 * kBlock, kBlock});
    EXPECT_EQ(harness_->rw(IoType::write, 40 * kBlock, wiov), IoStatus::success);
    EXPECT_EQ(harness_->rw(IoType::read, 40 * kBlock, riov), IoStatus::success);
    EXPECT_EQ(std::memcmp(in.data, out.data, out.size), 0);
    EXPECT_EQ(harness_->range(IoType::flush, 0, 0), IoStatus::success);
}

TEST_P(BackendIo, CompletionComesFromThePollerNotFromSubmit) {
    AlignedBuffer buf(kBlock);
    iovec iov{buf.data, kBlock};
    IoRequest r;
    r.type = IoType::read;
    r.length = kBlock;
    r.iov = &iov;
    r.iovcnt = 1;
    harness_->submit(r);
    EXPECT_EQ(harness_->recorder.completed, 0U);
    ASSERT_TRUE(harness_->run_until_completed(1));
    EXPECT_EQ(harness_->recorder.inline_completions, 0);
    EXPECT_EQ(r.status, IoStatus::success);
}

TEST_P(BackendIo, DiscardAndWriteZeroesReadBackZeroes) {
    AlignedBuffer data(64 * kBlock);
    data.fill_pattern(2);
    auto iov = testing::split(data.data, data.size, {});
    ASSERT_EQ(harness_->rw(IoType::write, 0, iov), IoStatus::success);

    // Zero three ranges; everything else must survive untouched. Where the file system
    // cannot do an operation the request fails as unsupported and changes nothing. Unmapping
    // write-zeroes falls back to zeroing the range when punching is refused.
    const auto expect = [](bool supported) {
        return supported ? IoStatus::success : IoStatus::unsupported;
    };
    const IoStatus discard = harness_->range(IoType::discard, 8 * kBlock, 8 * kBlock);
    EXPECT_EQ(discard, expect(punch_));
    const IoStatus unmap = harness_->range(IoType::write_zeroes, 24 * kBlock, 8 * kBlock, true);
    EXPECT_EQ(unmap, expect(punch_ || zero_range_));
    const IoStatus zr = harness_->range(IoType::write_zeroes, 40 * kBlock, 8 * kBlock, false);
    EXPECT_EQ(zr, expect(zero_range_));

    AlignedBuffer back(64 * kBlock);
    auto riov = testing::split(back.data, back.size, {});
    ASSERT_EQ(harness_->rw(IoType::read, 0, riov), IoStatus::success);
    for (uint64_t block = 0; block < 64; ++block) {
        const bool zeroed = (block >= 8 && block < 16 && discard == IoStatus::success) ||
                            (block >= 24 && block < 32 && unmap == IoStatus::success) ||
                            (block >= 40 && block < 48 && zr == IoStatus::success);
        for (uint64_t i = block * kBlock; i < (block + 1) * kBlock; ++i) {
            ASSERT_EQ(back.data[i], zeroed ? 0 : data.data[i]) << "block " << block;
        }
    }
}

TEST_P(BackendIo, MoreRequestsInFlightThanTheRingHolds) {
    constexpr size_t kCount = 3 * UringChannel::kRingEntries + 17;
    static_assert(kCount <= kBlocks);
    AlignedBuffer out(kCount * kBlock);
    AlignedBuffer in(kCount * kBlock);
    out.fill_pattern(3);
    std::vector<iovec> iov(kCount);
    std::vector<IoRequest> reqs(kCount);
    auto submit_all = [&](IoType type, AlignedBuffer& buf) {
        const size_t base = harness_->recorder.completed;
        for (size_t i = 0; i < kCount; ++i) {
            iov[i] = {buf.data + i * kBlock, kBlock};
            reqs[i] = IoRequest{};
            reqs[i].type = type;
            reqs[i].offset = i * kBlock;
            reqs[i].length = kBlock;
            reqs[i].iov = &iov[i];
            reqs[i].iovcnt = 1;
            harness_->submit(reqs[i]);
        }
        EXPECT_EQ(harness_->recorder.completed, base);
        ASSERT_TRUE(harness_->run_until_completed(base + kCount));
        for (const IoRequest& r : reqs)
            ASSERT_EQ(r.status, IoStatus::success);
    };
    submit_all(IoType::write, out);
    submit_all(IoType::read, in);
    EXPECT_EQ(std::memcmp(in.data, out.data, out.size), 0);
    EXPECT_EQ(harness_->recorder.inline_completions, 0);
    if (auto* uring = dynamic_cast<UringChannel*>(harness_->channel.get())) {
        EXPECT_GT(uring->stats().parked, 0U);  // the overflow list was used
        EXPECT_EQ(uring->in_flight(), 0U);
    }
}

TEST_P(BackendIo, CompletionCallbacksMayResubmit) {
    // A device reuses a request slot from its completion; chains of these must not recurse.
    struct Chain final : IoCompletion {
        BackendChannel* channel = nullptr;
        int remaining = 100;
        void io_complete(IoRequest& r) noexcept override {
            if (--remaining > 0) {
                r.offset = (r.offset + kBlock) % kSize;
                r.iov->iov_len = kBlock;
                channel->submit(r);
            }
        }
    } chain;
    chain.channel = harness_->channel.get();
    AlignedBuffer buf(kBlock);
    iovec iov{buf.data, kBlock};
    IoRequest r;
    r.type = IoType::write;
    r.length = kBlock;
    r.iov = &iov;
    r.iovcnt = 1;
    r.completion = &chain;
    harness_->channel->submit(r);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (chain.remaining > 0 && std::chrono::steady_clock::now() < deadline) {
        harness_->reactor->run_once();
    }
    EXPECT_EQ(chain.remaining, 0);
}

TEST_P(BackendIo, MalformedRequestsFailWithoutTouchingAnything) {
    AlignedBuffer buf(2 * kBlock);
    auto iov = testing::split(buf.data, buf.size, {});
    EXPECT_EQ(harness_->rw(IoType::read, kSize - kBlock, iov), IoStatus::io_error);  // past end
    EXPECT_EQ(harness_->rw(IoType::write, 100, iov), IoStatus::io_error);  // unaligned offset
    EXPECT_EQ(harness_->range(IoType::discard, kSize, kBlock), IoStatus::io_error);
    EXPECT_EQ(harness_->range(IoType::write_zeroes, UINT64_MAX - kBlock + 1, kBlock),
              IoStatus::io_error);  // offset + length wraps
    IoRequest r;
    r.type = IoType::read;
    r.length = 2 * kBlock;  // more than the iovecs hold
    r.iov = iov.data();
    r.iovcnt = 1;
    iov[0].iov_len = kBlock;
    EXPECT_EQ(harness_->run(r), IoStatus::io_error);
}

TEST_P(BackendIo, EmptyTransfersSucceed) {
    IoRequest r;
    r.type = IoType::read;
    EXPECT_EQ(harness_->run(r), IoStatus::success);
    EXPECT_EQ(harness_->range(IoType::discard, kBlock, 0), IoStatus::success);
}

std::vector<Backend> backends() {
    std::vector<Backend> list = {
        {"malloc", nullptr}, {"uring_tmp", "/tmp"}, {"uring_tmpfs", "/dev/shm"}};
    // Opt-in: another directory for the backing file, e.g. a ramfs, which refuses O_DIRECT
    // and fallocate, to exercise the buffered-only and unsupported paths.
    if (const char* dir = std::getenv("VHOSTD_TEST_DIR")) {
        list.push_back({"uring_env", dir});
    }
    return list;
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendIo, ::testing::ValuesIn(backends()),
                         [](const auto& p) { return std::string(p.param.label); });

}  // namespace
}  // namespace vhostd::block
