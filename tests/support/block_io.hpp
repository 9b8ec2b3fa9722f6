// Test helpers for the block layer (tests only): a reactor driving one channel, a completion
// recorder that catches inline completions, aligned buffers, temporary files.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/bdev.hpp"
#include "block/module/bdev_module.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block::testing {

using namespace std::chrono_literals;

// Counts completions; a completion while `in_submit` is set would be an inline completion.
struct Recorder final : IoCompletion {
    bool in_submit = false;
    int inline_completions = 0;
    size_t completed = 0;
    void io_complete(IoRequest&) noexcept override {
        inline_completions += in_submit ? 1 : 0;
        ++completed;
    }
};

// Memory aligned for O_DIRECT (4 KiB), zero-filled.
struct AlignedBuffer {
    explicit AlignedBuffer(size_t bytes)
        : data(static_cast<uint8_t*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096))),
          size(bytes) {
        std::fill(data, data + size, 0);
    }
    ~AlignedBuffer() { std::free(data); }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    void fill_pattern(uint32_t seed) {
        for (size_t i = 0; i < size; ++i) {
            data[i] = static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 9)) & 0xff);
        }
    }
    [[nodiscard]] bool all(uint8_t value) const {
        return std::all_of(data, data + size, [&](uint8_t b) { return b == value; });
    }
    uint8_t* data;
    size_t size;
};

// Splits [base, base + total) into iovecs of the given lengths (the last takes the rest).
inline std::vector<iovec> split(uint8_t* base, size_t total, std::vector<size_t> lengths) {
    std::vector<iovec> iov;
    size_t at = 0;
    for (size_t len : lengths) {
        if (at + len >= total)
            break;
        iov.push_back({base + at, len});
        at += len;
    }
    iov.push_back({base + at, total - at});
    return iov;
}

// A temporary file of `size` bytes in `dir`, removed on destruction.
struct TempFile {
    TempFile(const std::string& dir, uint64_t size) {
        std::string tmpl = dir + "/vhostd-block-test-XXXXXX";
        const int fd = ::mkstemp(tmpl.data());
        EXPECT_GE(fd, 0) << "mkstemp in " << dir;
        if (fd >= 0) {
            EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
            ::close(fd);
            path = tmpl;
        }
    }
    ~TempFile() {
        if (!path.empty())
            ::unlink(path.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path;
};

// One reactor (not running on a thread: driven with run_once) and one backend channel of
// `bdev` (the backend's own, without the bdev layer's channel around it).
struct Harness {
    explicit Harness(Bdev& bdev, reactor::PollMode mode = reactor::PollMode::never) {
        auto r = reactor::Reactor::create(0, reactor::ReactorOptions{mode, 100us, -1});
        EXPECT_TRUE(r.has_value());
        reactor = std::move(*r);
        auto ch = BdevModuleAccess::backend_of(bdev).create_channel(*reactor);
        EXPECT_TRUE(ch.has_value()) << (ch ? "" : ch.error().describe());
        if (ch)
            channel = std::move(*ch);
    }
    ~Harness() {
        channel.reset();  // before the reactor it is registered with
    }

    void submit(IoRequest& r) {
        r.completion = &recorder;
        recorder.in_submit = true;
        channel->submit(r);
        recorder.in_submit = false;
    }

    // Iterates the reactor until `count` completions in total; false on a (generous) timeout.
    bool run_until_completed(size_t count, std::chrono::seconds limit = 20s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (recorder.completed < count) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            reactor->run_once();
        }
        return true;
    }

    // Submits one request and runs it to completion; returns its status.
    IoStatus run(IoRequest& r) {
        const size_t before = recorder.completed;
        submit(r);
        EXPECT_EQ(recorder.completed, before) << "completed inside submit()";
        EXPECT_TRUE(run_until_completed(before + 1));
        EXPECT_EQ(recorder.inline_completions, 0);
        return r.status;
    }

    IoStatus rw(IoType type, uint64_t offset, std::vector<iovec>& iov) {
        IoRequest r;
        r.type = type;
        r.offset = offset;
        r.iov = iov.data();
        r.iovcnt = static_cast<uint32_t>(iov.size());
        for (const iovec& v : iov)
            r.length += v.iov_len;
        return run(r);
    }

    IoStatus range(IoType type, uint64_t offset, uint64_t length, bool unmap = false) {
        IoRequest r;
        r.type = type;
        r.offset = offset;
        r.length = length;
        r.unmap = unmap;
        return run(r);
    }

    std::unique_ptr<reactor::Reactor> reactor;
    std::unique_ptr<BackendChannel> channel;
    Recorder recorder;
};

}  // namespace vhostd::block::testing
