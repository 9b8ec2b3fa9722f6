// Fuzzes the vhost-user Session: the input is a program of operations (raw requests with fds,
// well-formed memory and ring requests with fuzzed parameters, negotiation, completion of
// queue stops, broken-queue reports). Checks: no crash, replies well-formed, QueueControl and
// Device contracts kept, started rings inside guest memory, no fd or memory leak.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "hostile_fds.hpp"
#include "spec/virtio.hpp"
#include "support/vhost_user_fakes.hpp"
#include "vhost_user/session.hpp"

namespace {

using namespace vhostd;
using namespace vhostd::vhost_user;
using vhost_user::testing::FakeDevice;
using vhost_user::testing::FakeQueueControl;

constexpr uint64_t kUva = 0x7f0000000000;
constexpr size_t kRegionSize = 64 * 1024;

using Input = FuzzInput;

// True if [p, p + len) lies inside one region of `memory`.
bool inside(const guest_memory::GuestMemory& memory, const void* p, uint64_t len) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (const auto& r : memory.regions()) {
        if (b >= r->host() && len <= r->size() &&
            b - r->host() <= static_cast<ptrdiff_t>(r->size() - len)) {
            return true;
        }
    }
    return false;
}

struct Harness {
    FakeDevice device{3, 256, 60};
    FakeQueueControl queues;
    std::unique_ptr<Session> session =
        std::make_unique<Session>(device, queues, Session::Options{"fuzz"});
    int outstanding = 0;  // requests whose done has not run

    void check_invariants() {
        FUZZ_CHECK(!queues.contract_violated);
        FUZZ_CHECK(!device.contract_violated);
        for (uint16_t i = 0; i < device.num_queues_; ++i) {
            if (!queues.running(i))
                continue;
            const auto& c = queues.config(i);
            FUZZ_CHECK(c.memory != nullptr);
            const uint32_t n = c.ring.size;
            FUZZ_CHECK(n != 0 && (n & (n - 1)) == 0 && n <= device.max_queue_size_);
            FUZZ_CHECK(inside(*c.memory, c.ring.desc, virtio::desc_table_bytes(n)));
            FUZZ_CHECK(inside(*c.memory, c.ring.avail, virtio::avail_ring_bytes(n)));
            FUZZ_CHECK(inside(*c.memory, c.ring.used, virtio::used_ring_bytes(n)));
            FUZZ_CHECK(reinterpret_cast<uintptr_t>(c.ring.desc) % 16 == 0);
            FUZZ_CHECK(reinterpret_cast<uintptr_t>(c.ring.avail) % 2 == 0);
            FUZZ_CHECK(reinterpret_cast<uintptr_t>(c.ring.used) % 4 == 0);
        }
    }

    // The connection closes on a violation: tear the session down and start a fresh one, as the
    // server does.
    void reconnect() {
        bool done = false;
        session->disconnect([&] { done = true; });
        for (int i = 0; i < 8 && !done; ++i)
            queues.complete_stops();
        FUZZ_CHECK(done);
        FUZZ_CHECK(queues.running_count() == 0);
        FUZZ_CHECK(outstanding == 0);
        session = std::make_unique<Session>(device, queues, Session::Options{"fuzz"});
    }

    void send(Message m) {
        if (session->busy()) {
            return;  // the connection reads nothing while a request waits for stops
        }
        const auto request = m.header.request;
        ++outstanding;
        session->handle(std::move(m), [this, request](Session::Response r) {
            FUZZ_CHECK(outstanding > 0);
            --outstanding;
            FUZZ_CHECK(!(r.close && r.reply));
            if (r.reply) {
                FUZZ_CHECK(r.reply->header.request == request);
                FUZZ_CHECK(r.reply->header.flags == (kVersion | kFlagReply));
                FUZZ_CHECK(r.reply->header.size <= kMaxPayloadSize);
                // Only GET_INFLIGHT_FD's reply carries an fd (the inflight region's).
                FUZZ_CHECK(r.reply->fds.size() <=
                           (request == static_cast<uint32_t>(Request::get_inflight_fd) ? 1U : 0U));
            }
            close_requested |= r.close;
        });
        settle();
    }

    void complete() {
        queues.complete_stops();
        settle();
    }

    void settle() {
        check_invariants();
        if (close_requested && !session->busy()) {
            close_requested = false;
            reconnect();
        }
    }

    bool close_requested = false;
};

constexpr FdMenu kFdMenu{.memfd_size = kRegionSize, .either_pipe_end = true};

UniqueFd any_fd(Input& in) {
    return hostile_fd(in, kFdMenu);
}

std::vector<UniqueFd> make_fds(Input& in, size_t count) {
    return hostile_fds(in, count, kFdMenu);
}

Message raw_request(Input& in) {
    Message m;
    const uint8_t code = in.byte();
    m.header.request = code < 48 ? code : in.u32();
    m.header.flags = kVersion | ((in.byte() & 1) ? kFlagNeedReply : 0);
    m.header.size = in.u16() % (kMaxPayloadSize + 1);
    in.fill(std::span(m.payload).first(m.header.size));
    m.fds = make_fds(in, in.byte() % 10);
    return m;
}

Message memory_request(Input& in) {
    const uint8_t kind = in.byte() % 3;
    MemoryRegion region{static_cast<uint64_t>(in.byte()) << 16, kRegionSize,
                        kUva + (static_cast<uint64_t>(in.byte()) << 16), 0};
    if (in.byte() & 1) {  // occasionally a skewed region
        region.memory_size = in.u32() % (2 * kRegionSize);
        region.mmap_offset = in.u16();
    }
    const uint32_t flags = kVersion | ((in.byte() & 1) ? kFlagNeedReply : 0);
    std::vector<UniqueFd> fds;
    if (kind == 0) {
        const uint32_t count = 1 + in.byte() % 3;
        MemoryTable table{};
        table.num_regions = count;
        for (uint32_t i = 0; i < count; ++i) {
            table.regions[i] = region;
            region.guest_phys_addr += kRegionSize * (1 + (in.byte() & 3));
            region.userspace_addr += kRegionSize * (1 + (in.byte() & 3));
            fds.push_back(vhost_user::testing::make_memfd(kRegionSize));
        }
        return vhost_user::testing::make_request(
            Request::set_mem_table, std::as_bytes(std::span(&table, 1)).first(8 + 32 * count),
            std::move(fds), flags);
    }
    if (kind == 1) {
        fds.push_back(vhost_user::testing::make_memfd(kRegionSize));
    }
    return vhost_user::testing::make_request_with(
        kind == 1 ? Request::add_mem_reg : Request::rem_mem_reg, SingleMemoryRegion{0, region},
        std::move(fds), flags);
}

Message ring_request(Input& in) {
    const uint32_t index = in.byte() % 4;  // one past the last ring, sometimes
    const uint32_t flags = kVersion | ((in.byte() & 1) ? kFlagNeedReply : 0);
    using vhost_user::testing::make_request_with;
    switch (in.byte() % 8) {
        case 0:
            return make_request_with(Request::set_vring_num,
                                     VringState{index, 1U << (in.byte() % 10)}, {}, flags);
        case 1:
            return make_request_with(Request::set_vring_base, VringState{index, in.u16()}, {},
                                     flags);
        case 2: {
            auto addr = [&] { return kUva + (static_cast<uint64_t>(in.u16()) << 2); };
            return make_request_with(Request::set_vring_addr,
                                     VringAddr{index, 0, addr(), addr(), addr(), 0}, {}, flags);
        }
        case 3:
        case 4:
        case 5: {
            const Request r = std::array{Request::set_vring_kick, Request::set_vring_call,
                                         Request::set_vring_err}[in.byte() % 3];
            const bool no_fd = in.byte() & 1;
            std::vector<UniqueFd> fds;
            if (!no_fd) {
                // Mostly the eventfd the request asks for; sometimes any other kind.
                if (in.byte() % 4 != 0) {
                    fds.push_back(std::move(*make_event_fd()));
                } else if (auto fd = any_fd(in)) {
                    fds.push_back(std::move(fd));
                }
            }
            return make_request_with(r, uint64_t{index} | (no_fd ? kVringNoFd : 0), std::move(fds),
                                     flags);
        }
        case 6:
            return make_request_with(Request::set_vring_enable, VringState{index, in.byte() % 3U},
                                     {}, flags);
        default:
            return make_request_with(Request::get_vring_base, VringState{index, 0}, {}, flags);
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    vhostd::log::set_level(vhostd::log::Level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const size_t fds_before = vhost_user::testing::count_open_fds();
    {
        Input in(data, size);
        Harness h;
        for (int steps = 0; !in.empty() && steps < 256; ++steps) {
            switch (in.byte() % 8) {
                case 0:
                case 1:
                    h.send(raw_request(in));
                    break;
                case 2:
                    h.complete();
                    break;
                case 3: {
                    const uint8_t b = in.byte();
                    h.queues.auto_complete = b & 1;
                    h.queues.report_broken = b & 2;
                    h.queues.progress[b >> 4 & 3] = in.u16();
                    break;
                }
                case 4:
                    h.session->queue_broken(in.byte() % 4);
                    break;
                case 5:
                    h.send(memory_request(in));
                    break;
                case 6:
                    h.send(ring_request(in));
                    break;
                default: {
                    const uint64_t offered = h.session->offered_features();
                    h.send(vhost_user::testing::make_request_with(
                        Request::set_protocol_features,
                        Session::offered_protocol_features() & in.u32()));
                    h.send(vhost_user::testing::make_request_with(Request::set_features,
                                                                  offered & ~uint64_t{in.byte()}));
                    break;
                }
            }
        }
        // The frontend goes away: everything stops, nothing leaks.
        h.reconnect();
        static const bool verbose = std::getenv("VHOSTD_FUZZ_VERBOSE") != nullptr;
        if (verbose) {
            fprintf(stderr, "starts %zu stops %zu call-fd changes %zu\n", h.queues.starts.size(),
                    h.queues.stops.size(), h.queues.call_fd_changes.size());
        }
        h.session.reset();
    }
    FUZZ_CHECK(vhost_user::testing::count_open_fds() == fds_before);
    return 0;
}
