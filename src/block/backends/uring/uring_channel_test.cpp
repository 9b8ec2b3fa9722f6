// UringChannel behaviour the shared backend tests cannot reach: unaligned buffers under
// O_DIRECT, short transfers and EOF (through a pipe standing in for a file), the eventfd
// waking a sleeping reactor, and teardown with a request still in the kernel.
#include "block/backends/uring/uring_channel.hpp"

#include <atomic>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "block/backends/uring/uring_bdev.hpp"
#include "support/block_io.hpp"

namespace vhostd::block {
namespace {

using testing::AlignedBuffer;
using testing::Harness;

// A "file" whose reads complete only when the test writes to the pipe.
struct PipeFile {
    PipeFile() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        auto f = std::make_shared<UringFile>();
        f->filename = "pipe";
        f->fd.reset(fds[0]);
        f->size_bytes = 1 << 20;
        file = f;
        writer.reset(fds[1]);
    }
    void write(const uint8_t* data, size_t len) {
        ASSERT_EQ(::write(writer.get(), data, len), static_cast<ssize_t>(len));
    }
    std::shared_ptr<const UringFile> file;
    UniqueFd writer;
};

std::unique_ptr<UringChannel> channel_on(reactor::Reactor& r, const PipeFile& pipe) {
    const RequestLimits limits = RequestLimits::fixed(512, pipe.file->size_bytes / 512);
    auto ch = UringChannel::create(r, pipe.file, limits, "pipe");
    EXPECT_TRUE(ch.has_value()) << (ch ? "" : ch.error().describe());
    return ch ? std::move(*ch) : nullptr;
}

std::unique_ptr<reactor::Reactor> make_reactor(reactor::PollMode mode) {
    auto r = reactor::Reactor::create(
        1, reactor::ReactorOptions{mode, std::chrono::microseconds(100), -1});
    EXPECT_TRUE(r.has_value());
    return std::move(*r);
}

template <class Pred>
bool spin(reactor::Reactor& r, Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        r.run_once();
    }
    return true;
}

TEST(UringChannel, UnalignedBuffersStillSucceedUnderODirect) {
    testing::TempFile file("/tmp", 1 << 20);
    auto bdev = bdev_uring_create({"Uring0", file.path, 0, {}});
    ASSERT_TRUE(bdev.has_value());
    Harness h(**bdev);
    auto& ch = dynamic_cast<UringChannel&>(*h.channel);

    // Buffers one byte off any alignment, split at odd places.
    AlignedBuffer out(8 * 512 + 1), in(8 * 512 + 1);
    uint8_t* src = out.data + 1;
    uint8_t* dst = in.data + 1;
    for (size_t i = 0; i < 8 * 512; ++i)
        src[i] = static_cast<uint8_t>(i * 7 + 3);
    auto wiov = testing::split(src, 8 * 512, {100, 1000, 2000});
    auto riov = testing::split(dst, 8 * 512, {3, 4000});
    EXPECT_EQ(h.rw(IoType::write, 512 * 16, wiov), IoStatus::success);
    EXPECT_EQ(h.rw(IoType::read, 512 * 16, riov), IoStatus::success);
    EXPECT_EQ(std::memcmp(src, dst, 8 * 512), 0);

    // Aligned I/O sees the unaligned write (the page cache and O_DIRECT stay coherent).
    AlignedBuffer aligned(8 * 512);
    auto aiov = testing::split(aligned.data, aligned.size, {});
    EXPECT_EQ(h.rw(IoType::read, 512 * 16, aiov), IoStatus::success);
    EXPECT_EQ(std::memcmp(src, aligned.data, 8 * 512), 0);

    struct statfs fs {};
    ASSERT_EQ(::statfs("/tmp", &fs), 0);
    if (uring_file(**bdev)->direct_io &&
        (fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC)) {
        EXPECT_GE(ch.stats().buffered_retries, 2U);  // these refuse unaligned O_DIRECT
    }
}

TEST(UringChannel, ShortReadsAreResubmittedForTheRest) {
    auto r = make_reactor(reactor::PollMode::never);
    PipeFile pipe;
    auto ch = channel_on(*r, pipe);
    ASSERT_NE(ch, nullptr);

    std::vector<uint8_t> data(4096);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(i * 13 + 1);
    AlignedBuffer buf(4096);
    auto iov = testing::split(buf.data, buf.size, {700, 1400});  // the cut lands mid-entry
    testing::Recorder rec;
    IoRequest req;
    req.type = IoType::read;
    req.length = 4096;
    req.iov = iov.data();
    req.iovcnt = static_cast<uint32_t>(iov.size());
    req.completion = &rec;
    ch->submit(req);

    pipe.write(data.data(), 1000);  // the first read returns these 1000 bytes only
    ASSERT_TRUE(spin(*r, [&] { return ch->stats().short_resubmits == 1; }));
    EXPECT_EQ(rec.completed, 0U);
    EXPECT_EQ(scratch(req).transferred, 1000U);
    pipe.write(data.data() + 1000, 3096);
    ASSERT_TRUE(spin(*r, [&] { return rec.completed == 1; }));
    EXPECT_EQ(req.status, IoStatus::success);
    EXPECT_EQ(std::memcmp(buf.data, data.data(), data.size()), 0);
}

TEST(UringChannel, ReadThatHitsEndOfFileFails) {
    auto r = make_reactor(reactor::PollMode::never);
    PipeFile pipe;
    auto ch = channel_on(*r, pipe);
    ASSERT_NE(ch, nullptr);
    std::vector<uint8_t> data(1000, 0x5a);
    pipe.write(data.data(), data.size());
    pipe.writer.reset();  // EOF after 1000 bytes
    AlignedBuffer buf(4096);
    iovec iov{buf.data, buf.size};
    testing::Recorder rec;
    IoRequest req;
    req.type = IoType::read;
    req.length = 4096;
    req.iov = &iov;
    req.iovcnt = 1;
    req.completion = &rec;
    ch->submit(req);
    ASSERT_TRUE(spin(*r, [&] { return rec.completed == 1; }));
    EXPECT_EQ(req.status, IoStatus::io_error);
}

TEST(UringChannel, EventFdWakesASleepingReactor) {
    // PollMode::never: the reactor sleeps in epoll whenever an iteration finds nothing. The
    // read waits on the pipe until the test writes, long after the reactor fell asleep; only
    // the ring's eventfd can wake it to reap the completion.
    auto r = make_reactor(reactor::PollMode::never);
    PipeFile pipe;
    std::unique_ptr<UringChannel> ch;
    std::thread loop([&] { r->run(); });
    reactor::run_sync(*r, [&] { ch = channel_on(*r, pipe); });
    ASSERT_NE(ch, nullptr);

    AlignedBuffer buf(512);
    iovec iov{buf.data, buf.size};
    struct Flag final : IoCompletion {
        std::atomic<bool> done{false};
        void io_complete(IoRequest&) noexcept override { done.store(true); }
    } flag;
    IoRequest req;
    req.type = IoType::read;
    req.length = 512;
    req.iov = &iov;
    req.iovcnt = 1;
    req.completion = &flag;
    // Read the sleep count on the reactor thread, before it can go back to sleep, then wait
    // until it has gone to sleep after submitting.
    uint64_t sleeps = 0;
    reactor::run_sync(*r, [&] {
        ch->submit(req);
        sleeps = r->stats().sleeps.load();
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (r->stats().sleeps.load() <= sleeps && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_FALSE(flag.done.load());
    std::vector<uint8_t> data(512, 0x42);
    pipe.write(data.data(), data.size());
    while (!flag.done.load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(flag.done.load()) << "completion did not wake the reactor";
    EXPECT_EQ(req.status, IoStatus::success);
    EXPECT_EQ(buf.data[0], 0x42);

    reactor::run_sync(*r, [&] { ch.reset(); });
    r->request_stop();
    loop.join();
}

TEST(UringChannel, AdaptiveReactorServesFileIoOnItsThread) {
    testing::TempFile file("/tmp", 1 << 20);
    auto bdev = bdev_uring_create({"Uring0", file.path, 0, {}});
    ASSERT_TRUE(bdev.has_value());
    auto r = make_reactor(reactor::PollMode::adaptive);
    std::thread loop([&] { r->run(); });
    std::unique_ptr<BackendChannel> ch;
    reactor::run_sync(*r, [&] {
        ch = std::move(BdevModuleAccess::backend_of(**bdev).create_channel(*r)).value();
    });

    // Writes then reads, each batch submitted from the reactor thread; the reactor sleeps in
    // between batches (adaptive) and must be woken by completions or messages.
    constexpr size_t kCount = 64;
    AlignedBuffer out(kCount * 4096), in(kCount * 4096);
    out.fill_pattern(11);
    std::vector<iovec> iov(kCount);
    std::vector<IoRequest> reqs(kCount);
    struct Counter final : IoCompletion {
        std::atomic<size_t> n{0};
        void io_complete(IoRequest&) noexcept override { n.fetch_add(1); }
    } counter;
    for (IoType type : {IoType::write, IoType::read}) {
        AlignedBuffer& buf = type == IoType::write ? out : in;
        const size_t base = counter.n.load();
        reactor::run_sync(*r, [&] {
            for (size_t i = 0; i < kCount; ++i) {
                iov[i] = {buf.data + i * 4096, 4096};
                reqs[i] = IoRequest{};
                reqs[i].type = type;
                reqs[i].offset = i * 4096;
                reqs[i].length = 4096;
                reqs[i].iov = &iov[i];
                reqs[i].iovcnt = 1;
                reqs[i].completion = &counter;
                ch->submit(reqs[i]);
            }
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (counter.n.load() < base + kCount && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ASSERT_EQ(counter.n.load(), base + kCount);
        for (const IoRequest& req : reqs)
            EXPECT_EQ(req.status, IoStatus::success);
    }
    EXPECT_EQ(std::memcmp(in.data, out.data, out.size), 0);
    reactor::run_sync(*r, [&] { ch.reset(); });
    r->request_stop();
    loop.join();
}

TEST(UringChannel, DestroyedWithARequestInTheKernelWaitsWithoutCompletingIt) {
    auto r = make_reactor(reactor::PollMode::never);
    PipeFile pipe;
    auto ch = channel_on(*r, pipe);
    ASSERT_NE(ch, nullptr);
    AlignedBuffer buf(512);
    iovec iov{buf.data, buf.size};
    testing::Recorder rec;
    IoRequest req;
    req.type = IoType::read;
    req.length = 512;
    req.iov = &iov;
    req.iovcnt = 1;
    req.completion = &rec;
    ch->submit(req);
    r->run_once();  // submitted; the read now waits on the empty pipe
    EXPECT_EQ(ch->in_flight(), 1U);
    ch.reset();  // breaks the drain rule on purpose: must cancel, not hang or complete
    EXPECT_EQ(rec.completed, 0U);
}

}  // namespace
}  // namespace vhostd::block
