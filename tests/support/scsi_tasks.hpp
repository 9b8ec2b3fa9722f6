// Test helpers for the SCSI core (tests only): a reactor, a malloc-backed LUN attached to a
// TargetChannel, and running CDBs to completion with a data buffer.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "reactor/reactor.hpp"
#include "scsi/sense.hpp"
#include "scsi/target.hpp"
#include "scsi/target_channel.hpp"

namespace vhostd::scsi::testing {

using namespace std::chrono_literals;

struct Recorder final : TaskCompletion {
    bool in_execute = false;
    int inline_completions = 0;
    size_t completed = 0;
    void task_complete(Task&) noexcept override {
        inline_completions += in_execute ? 1 : 0;
        ++completed;
    }
};

struct Harness {
    explicit Harness(uint64_t num_blocks = 2048, uint32_t block_size = 512) {
        auto r = reactor::Reactor::create(
            0, reactor::ReactorOptions{reactor::PollMode::never, 100us, -1});
        EXPECT_TRUE(r.has_value());
        reactor = std::move(*r);
        channel = std::make_unique<TargetChannel>(*reactor, 0);
        add_lun(0, num_blocks, block_size);
    }
    ~Harness() { channel.reset(); }

    std::shared_ptr<LogicalUnit> add_lun(uint64_t lun, uint64_t num_blocks,
                                         uint32_t block_size = 512) {
        auto bdev = block::bdev_malloc_create(
            {"Malloc" + std::to_string(lun), num_blocks, block_size,
             "1b4e28ba-2fa1-41d2-883f-0016d3cca4" + std::to_string(10 + lun % 90)});
        EXPECT_TRUE(bdev.has_value());
        auto unit = target.add_lun(lun, *bdev);
        EXPECT_TRUE(unit.has_value()) << (unit ? "" : unit.error().describe());
        EXPECT_TRUE(channel->attach(*unit).has_value());
        return *unit;
    }

    // Executes `task` and runs the reactor until it completes; checks it did not complete
    // inline.
    void run(Task& task) {
        task.completion = &recorder;
        const size_t before = recorder.completed;
        recorder.in_execute = true;
        channel->execute(task);
        recorder.in_execute = false;
        EXPECT_EQ(recorder.completed, before) << "completed inside execute()";
        ASSERT_TRUE(run_until([&] { return recorder.completed > before; }));
        EXPECT_EQ(recorder.inline_completions, 0);
    }

    template <class Pred>
    bool run_until(Pred pred, std::chrono::seconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            reactor->run_once();
        }
        return true;
    }

    // Runs `cdb` on `lun` over the buffers `iov` (their total is the transfer length).
    Task command_iov(std::initializer_list<uint8_t> cdb, std::vector<iovec>& iov, DataDirection dir,
                     uint64_t lun = 0) {
        Task task;
        std::copy(cdb.begin(), cdb.end(), task.cdb.begin());
        task.cdb_length = static_cast<uint8_t>(cdb.size());
        task.lun = lun;
        task.initiator = initiator;
        task.iov = iov.empty() ? nullptr : iov.data();
        task.iovcnt = static_cast<uint32_t>(iov.size());
        for (const iovec& v : iov) {
            task.transfer_length += v.iov_len;
        }
        task.direction = iov.empty() ? DataDirection::none : dir;
        run(task);
        return task;
    }
    // Runs `cdb` on `lun` with a buffer of `buffer.size()` bytes in `dir`; returns the task.
    Task command(std::initializer_list<uint8_t> cdb, std::vector<uint8_t>& buffer,
                 DataDirection dir = DataDirection::from_device, uint64_t lun = 0) {
        std::vector<iovec> iov;
        if (!buffer.empty()) {
            iov.push_back({buffer.data(), buffer.size()});
        }
        return command_iov(cdb, iov, dir, lun);
    }
    Task command(std::initializer_list<uint8_t> cdb, uint64_t lun = 0) {
        std::vector<uint8_t> none;
        return command(cdb, none, DataDirection::none, lun);
    }

    std::unique_ptr<reactor::Reactor> reactor;
    Target target{0};
    std::unique_ptr<TargetChannel> channel;
    Recorder recorder;
    uint32_t initiator = 0;  // the I_T nexus command() and command_iov() use
};

inline SenseCode sense_of(const Task& task) {
    return decode_sense(task.sense.data(), task.sense_length);
}

}  // namespace vhostd::scsi::testing
