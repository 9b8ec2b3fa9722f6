// Fuzzes the vfio-user Session: the input is a program of operations (raw commands with fds of
// any kind, well-formed VERSION, DMA, interrupt and region commands with fuzzed parameters,
// completion of the function's set_memory / reset callbacks, disconnects). Checks: no crash,
// replies well-formed (msg_id and command echoed, error replies bare, No_reply honoured), the
// Function contract kept, the device's memory the session's, no fd or memory leak.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
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
#include "support/vfio_user_fakes.hpp"
#include "vfio_user/session.hpp"

namespace {

using namespace vhostd;
using namespace vhostd::vfio_user;
using vfio_user::testing::FakeFunction;
using vfio_user::testing::make_command;
using vfio_user::testing::make_command_with;

constexpr size_t kRegionSize = 64 * 1024;

using Input = FuzzInput;

struct Harness {
    FakeFunction function;
    std::unique_ptr<Session> session =
        std::make_unique<Session>(function, Session::Options{"fuzz"});
    int outstanding = 0;  // commands whose done has not run
    bool close_requested = false;
    std::array<size_t, 32> succeeded{};  // successful replies by command (VHOSTD_FUZZ_VERBOSE)

    void check_invariants() {
        FUZZ_CHECK(!function.contract_violated);
        // Once the session is idle, the device sees exactly the memory the table makes
        // reachable.
        if (!session->busy() && function.pending() == 0) {
            FUZZ_CHECK(function.memory == session->memory());
        }
    }

    void reconnect() {
        bool done = false;
        session->disconnect([&] { done = true; });
        for (int i = 0; i < 8 && !done; ++i) {
            function.complete();
        }
        FUZZ_CHECK(done);
        FUZZ_CHECK(outstanding == 0);
        FUZZ_CHECK(function.memory->is_empty());
        FUZZ_CHECK(session->dma().regions().empty());
        function.memory_history.clear();
        session = std::make_unique<Session>(function, Session::Options{"fuzz"});
        close_requested = false;
    }

    void send(Message m) {
        if (session->busy()) {
            return;  // the connection reads nothing while a command waits for the function
        }
        const Header request = m.header;
        ++outstanding;
        session->handle(std::move(m), [this, request](Session::Response r) {
            FUZZ_CHECK(outstanding > 0);
            --outstanding;
            if ((request.flags & kFlagNoReply) != 0) {
                FUZZ_CHECK(!r.reply);
            }
            if (r.reply) {
                const Header& h = r.reply->header;
                FUZZ_CHECK(h.msg_id == request.msg_id);
                FUZZ_CHECK(h.command == request.command);
                FUZZ_CHECK((h.flags & kTypeMask) == kTypeReply);
                FUZZ_CHECK((h.flags & ~(kTypeMask | kFlagError)) == 0);
                FUZZ_CHECK(h.msg_size == sizeof(Header) + r.reply->payload.size());
                FUZZ_CHECK(h.msg_size <= kMaxMessageSize);
                FUZZ_CHECK(r.reply->fds.size() <= 1);
                if ((h.flags & kFlagError) != 0) {
                    FUZZ_CHECK(h.error_no != 0);
                    FUZZ_CHECK(r.reply->payload.empty() && r.reply->fds.empty());
                }
            }
            close_requested |= r.close;
            if (r.reply && (r.reply->header.flags & kFlagError) == 0 && request.command < 32) {
                ++succeeded[request.command];
            }
        });
        settle();
    }

    void complete() {
        function.complete();
        settle();
    }

    void settle() {
        check_invariants();
        if (close_requested && !session->busy()) {
            reconnect();
        }
        if (function.memory_history.size() > 64 && function.pending() == 0) {
            function.memory_history.clear();
        }
    }
};

constexpr FdMenu kFdMenu{.memfd_size = kRegionSize, .maybe_sealed = true};

std::vector<UniqueFd> make_fds(Input& in, size_t count) {
    return hostile_fds(in, count, kFdMenu);
}

uint32_t header_flags(Input& in) {
    const uint8_t b = in.byte();
    // Mostly a plain command, sometimes No_reply, rarely anything at all.
    return b < 200 ? 0 : b < 240 ? kFlagNoReply : static_cast<uint32_t>(b & 0x3f);
}

Message raw_command(Input& in) {
    const uint8_t code = in.byte();
    const uint16_t command = code < 40 ? code % 20 : in.u16();
    const uint32_t flags = header_flags(in);
    const size_t size = in.byte() < 16 ? in.u16() % 8192 : in.byte();
    auto m = make_command(static_cast<Command>(command), in.bytes(size),
                          make_fds(in, in.byte() % 4), flags, in.u16());
    m.fds_truncated = in.byte() == 0xff;
    return m;
}

Message version_command(Input& in) {
    static const char* const kQemu =
        R"({"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"pgsizes":4096,)"
        R"("max_dma_maps":65535,"migration":{"pgsize":4096},"write_multiple":true}})";
    static const char* const kJson[] = {
        "",
        kQemu,
        R"({"capabilities":{"max_msg_fds":0}})",
        R"({"capabilities":{"max_msg_fds":-1}})",
        R"({"capabilities":[]})",
        R"({"capabilities":{"twin_socket":{"supported":true}}})",
        R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])",
        "{",
        R"({"a":"\u0000"})",
    };
    const Version version{static_cast<uint16_t>(in.byte() < 240 ? 0 : in.byte()), in.u16()};
    std::vector<std::byte> payload(sizeof(version));
    std::memcpy(payload.data(), &version, sizeof(version));
    std::string json = kJson[in.byte() % std::size(kJson)];
    if (in.byte() % 8 == 0) {  // mangle a byte
        if (!json.empty()) {
            json[in.byte() % json.size()] = static_cast<char>(in.byte());
        }
    }
    if (!json.empty()) {
        const size_t at = payload.size();
        payload.resize(at + json.size() + (in.byte() % 8 != 0 ? 1 : 0));
        std::memcpy(payload.data() + at, json.data(), json.size());
    }
    return make_command(Command::version, payload, make_fds(in, in.byte() % 8 == 0 ? 1 : 0),
                        header_flags(in), in.u16());
}

Message dma_command(Input& in) {
    const uint32_t flags = header_flags(in);
    const uint64_t iova =
        (static_cast<uint64_t>(in.byte() % 16) << 16) | (in.byte() % 8 == 0 ? in.u16() : 0);
    uint64_t size = kRegionSize * (1 + in.byte() % 2);
    if (in.byte() % 8 == 0) {
        size = in.interesting(4 * kRegionSize);
    }
    switch (in.byte() % 4) {
        case 0:
        case 1: {
            std::vector<UniqueFd> fds;
            const uint8_t kind = in.byte() % 8;
            if (kind < 5) {
                fds.push_back(vfio_user::testing::make_memfd(2 * kRegionSize, kind & 1));
            } else if (kind == 5) {
                fds = make_fds(in, 1 + in.byte() % 2);
            }
            uint32_t access = kDmaRead | kDmaWrite;
            if (in.byte() % 8 == 0) {
                access = in.byte();
            }
            const uint64_t offset = in.byte() % 8 == 0 ? in.interesting(kRegionSize) : 0;
            return make_command_with(
                Command::dma_map,
                DmaMap{in.byte() % 16 == 0 ? in.u32() : 32, access, offset, iova, size},
                std::move(fds), flags, in.u16());
        }
        case 2:
            return make_command_with(Command::dma_unmap,
                                     DmaUnmap{in.byte() % 16 == 0 ? in.u32() : 24,
                                              in.byte() % 8 == 0 ? in.byte() % 4 : 0U, iova, size},
                                     make_fds(in, in.byte() % 8 == 0 ? 1 : 0), flags, in.u16());
        default:
            return make_command_with(Command::dma_unmap, DmaUnmap{24, kUnmapAll, 0, 0}, {}, flags,
                                     in.u16());
    }
}

Message irq_command(Input& in) {
    static const uint32_t kFlags[] = {
        kIrqDataEventfd | kIrqActionTrigger, kIrqDataNone | kIrqActionTrigger,
        kIrqDataBool | kIrqActionTrigger,    kIrqDataNone | kIrqActionMask,
        kIrqDataBool | kIrqActionUnmask,     kIrqDataEventfd | kIrqActionMask,
    };
    const uint32_t flags = in.byte() % 8 == 0 ? in.byte() : kFlags[in.byte() % std::size(kFlags)];
    const uint32_t index = in.byte() % 6;
    const uint32_t start = in.byte() % 16 == 0 ? in.u32() : in.byte() % 10;
    const uint32_t count = in.byte() % 16 == 0 ? in.u32() : in.byte() % 10;
    std::vector<std::byte> payload(sizeof(IrqSet));
    const IrqSet set{in.byte() % 16 == 0 ? in.u32() : 20U, flags, index, start, count};
    std::memcpy(payload.data(), &set, sizeof(set));
    if ((flags & kIrqDataBool) != 0) {
        const auto bools = in.bytes(in.byte() % 16 == 0 ? in.byte() % 16 : std::min(count, 16U));
        payload.insert(payload.end(), bools.begin(), bools.end());
    }
    std::vector<UniqueFd> fds;
    const uint8_t how = in.byte() % 4;
    if (how < 2) {
        for (uint32_t i = 0; i < std::min(count, 16U); ++i) {
            fds.push_back(std::move(*make_event_fd()));
        }
    } else if (how == 2) {
        fds = make_fds(in, in.byte() % 4);
    }
    return make_command(Command::device_set_irqs, payload, std::move(fds), header_flags(in),
                        in.u16());
}

Message region_command(Input& in) {
    const uint32_t region = in.byte() % 10;
    const uint64_t offset = in.interesting(FakeFunction::kBar0Size);
    const uint32_t count = in.byte() % 16 == 0
                               ? static_cast<uint32_t>(in.interesting(kMaxDataXferSize + 1))
                               : 1U << (in.byte() % 4);
    const uint32_t flags = header_flags(in);
    if (in.byte() & 1) {
        return make_command_with(Command::region_read, RegionAccess{offset, region, count}, {},
                                 flags, in.u16());
    }
    std::vector<std::byte> payload(sizeof(RegionAccess));
    const RegionAccess access{offset, region, count};
    std::memcpy(payload.data(), &access, sizeof(access));
    const size_t data = in.byte() % 8 == 0 ? in.byte() % 16 : std::min<uint32_t>(count, 4096);
    const auto bytes = in.bytes(data);
    payload.insert(payload.end(), bytes.begin(), bytes.end());
    return make_command(Command::region_write, payload, {}, flags, in.u16());
}

Message info_command(Input& in) {
    const uint32_t argsz = in.byte() % 4 == 0 ? in.u32() : 512;
    const uint32_t flags = header_flags(in);
    switch (in.byte() % 5) {
        case 0:
            return make_command_with(Command::device_get_info, DeviceInfo{argsz, 0, 0, 0}, {},
                                     flags, in.u16());
        case 1:
            return make_command_with(Command::device_get_region_info,
                                     RegionInfo{argsz, 0, in.byte() % 10U, 0, 0, 0}, {}, flags,
                                     in.u16());
        case 2:
            return make_command_with(Command::device_get_irq_info,
                                     IrqInfo{argsz, 0, in.byte() % 6U, 0}, {}, flags, in.u16());
        case 3:
            return make_command_with(Command::device_get_region_io_fds,
                                     RegionIoFds{argsz, 0, in.byte() % 10U, 0}, {}, flags,
                                     in.u16());
        default:
            return make_command(Command::device_reset, {}, {}, flags, in.u16());
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    vhostd::log::set_level(vhostd::log::Level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const size_t fds_before = vfio_user::testing::count_open_fds();
    {
        Input in(data, size);
        Harness h;
        for (int steps = 0; !in.empty() && steps < 256; ++steps) {
            switch (in.byte() % 10) {
                case 0:
                case 1:
                    h.send(raw_command(in));
                    break;
                case 2:
                    h.send(version_command(in));
                    break;
                case 3:
                    h.function.auto_complete = in.byte() & 1;
                    h.function.failing_offset = in.byte() % 4 == 0 ? in.byte() * 4ULL : ~0ULL;
                    h.complete();
                    break;
                case 4:
                    h.send(dma_command(in));
                    break;
                case 5:
                    h.send(irq_command(in));
                    break;
                case 6:
                    h.send(region_command(in));
                    break;
                case 7:
                    h.send(info_command(in));
                    break;
                case 8:
                    if (in.byte() % 8 == 0) {
                        h.reconnect();
                    }
                    break;
                default:
                    // Most programs should get past VERSION.
                    if (!h.session->negotiated()) {
                        auto m =
                            make_command(Command::version, std::as_bytes(std::span("\0\0\0\0", 4)));
                        h.send(std::move(m));
                    }
                    break;
            }
        }
        // The client goes away: the function is reset, the memory released, nothing leaks.
        h.reconnect();
        static const bool verbose = std::getenv("VHOSTD_FUZZ_VERBOSE") != nullptr;
        if (verbose) {
            fprintf(stderr, "succeeded:");
            for (size_t c = 0; c < h.succeeded.size(); ++c) {
                if (h.succeeded[c] != 0) {
                    fprintf(stderr, " %s=%zu", to_string(static_cast<Command>(c)), h.succeeded[c]);
                }
            }
            fprintf(stderr, "\n");
        }
        h.session.reset();
        h.function.memory_history.clear();
        h.function.memory.reset();
    }
    FUZZ_CHECK(vfio_user::testing::count_open_fds() == fds_before);
    return 0;
}
