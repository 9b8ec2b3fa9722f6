// Fuzzes the SCSI target core's CDB parsing and every command handler: a sequence of arbitrary
// CDBs (with arbitrary data-out buffers, buffer sizes, directions, initiators and LUNs, and
// task-management aborts) runs against a malloc-backed LUN on a real reactor. Checks: no crash
// or out-of-bounds access (ASan), every task completes exactly once and never inline, status and
// sense agree, data_transferred never exceeds the buffer, nothing is left in flight.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "block/backends/malloc/malloc_bdev.hpp"
#include "fuzz_check.hpp"
#include "reactor/reactor.hpp"
#include "scsi/sense.hpp"
#include "scsi/target.hpp"
#include "scsi/target_channel.hpp"

namespace {

using namespace vhostd;

constexpr size_t kMaxBuffer = 8192;
constexpr size_t kMaxCommands = 16;

struct Counter final : scsi::TaskCompletion {
    bool in_execute = false;
    size_t completed = 0;
    void task_complete(scsi::Task&) noexcept override {
        FUZZ_CHECK(!in_execute);
        ++completed;
    }
};

struct Fixture {
    std::shared_ptr<block::Bdev> bdev =
        block::bdev_malloc_create({.name = "Fuzz0",
                                   .num_blocks = 256,
                                   .block_size = 512,
                                   .uuid = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"})
            .value();
    std::unique_ptr<reactor::Reactor> reactor =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    Fixture() { log::set_level(log::Level::off); }
};

void check_result(const scsi::Task& t) {
    FUZZ_CHECK(t.data_transferred <= t.transfer_length);
    switch (t.status) {
        case scsi::status::good:
        case scsi::status::reservation_conflict:
            FUZZ_CHECK(t.sense_length == 0);
            FUZZ_CHECK(!t.overrun && !t.aborted);
            break;
        case scsi::status::check_condition: {
            FUZZ_CHECK(t.sense_length == scsi::kFixedSenseLength);
            FUZZ_CHECK(t.sense[0] == 0x70);
            const scsi::SenseCode code = scsi::decode_sense(t.sense.data(), t.sense_length);
            FUZZ_CHECK(code.key != scsi::sense_key::no_sense);
            FUZZ_CHECK(!t.aborted);
            break;
        }
        case scsi::status::task_aborted:
            FUZZ_CHECK(t.aborted && t.sense_length == 0 && t.data_transferred == 0);
            break;
        default:
            FUZZ_CHECK(false);
    }
}

}  // namespace

// Input: a sequence of commands, each: [cdb length][flags][buffer size: 2 bytes][cdb bytes]
// [data-out bytes up to the buffer size]. Flags: bits 0-1 direction, bit 2 LUN 1 (absent),
// bits 3-4 initiator, bit 5 abort the task set right after, bit 6 a split buffer.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Fixture fixture;
    scsi::Target target(0);
    auto unit = target.add_lun(0, fixture.bdev);
    FUZZ_CHECK(unit.has_value());
    auto channel = std::make_unique<scsi::TargetChannel>(*fixture.reactor, 0);
    FUZZ_CHECK(channel->attach(*unit).has_value());

    std::vector<scsi::Task> tasks(kMaxCommands);
    std::vector<std::vector<uint8_t>> buffers(kMaxCommands);
    std::vector<std::array<iovec, 2>> iovs(kMaxCommands);
    Counter counter;
    size_t started = 0;
    size_t at = 0;
    while (started < kMaxCommands && size - at >= 4) {
        const uint8_t cdb_length = static_cast<uint8_t>(data[at] % (scsi::kMaxCdbLength + 1));
        const uint8_t flags = data[at + 1];
        const size_t buffer_size = (size_t{data[at + 2]} << 8 | data[at + 3]) % (kMaxBuffer + 1);
        at += 4;
        scsi::Task& t = tasks[started];
        const size_t n = std::min<size_t>(cdb_length, size - at);
        std::memcpy(t.cdb.data(), data + at, n);
        at += n;
        t.cdb_length = cdb_length;
        auto& buf = buffers[started];
        buf.assign(buffer_size, 0);
        const size_t fill = std::min(buffer_size, size - at);
        if (fill != 0) {
            std::memcpy(buf.data(), data + at, fill);
        }
        at += fill;
        t.direction = static_cast<scsi::DataDirection>((flags & 3) % 3);
        t.lun = (flags & 0x04) != 0 ? 1 : 0;
        t.initiator = (flags >> 3) & 3;
        t.tag = started;
        auto& iov = iovs[started];
        const size_t half = (flags & 0x40) != 0 ? buffer_size / 2 : buffer_size;
        iov[0] = {buf.data(), half};
        iov[1] = {buf.data() + half, buffer_size - half};
        t.iov = buffer_size != 0 ? iov.data() : nullptr;
        t.iovcnt = buffer_size == 0 ? 0 : (half == buffer_size ? 1 : 2);
        t.transfer_length = buffer_size;
        t.completion = &counter;
        counter.in_execute = true;
        channel->execute(t);
        counter.in_execute = false;
        ++started;
        if ((flags & 0x20) != 0) {
            channel->abort_task_set(t.lun, t.initiator, [](scsi::TmfResponse) {});
        }
        // Let some commands overlap: run the reactor only every other command.
        if ((started & 1) == 0) {
            fixture.reactor->run_once();
        }
    }
    for (int i = 0; i < 10000 && (counter.completed < started || channel->in_flight() != 0); ++i) {
        fixture.reactor->run_once();
    }
    FUZZ_CHECK(counter.completed == started);
    FUZZ_CHECK(channel->in_flight() == 0);
    for (size_t i = 0; i < started; ++i) {
        check_result(tasks[i]);
    }
    bool detached = false;
    channel->detach(0, [&] { detached = true; });
    for (int i = 0; i < 100 && !detached; ++i) {
        fixture.reactor->run_once();
    }
    FUZZ_CHECK(detached);
    return 0;
}
