// Soak: for SOAK_SECONDS (default 60; CI runs 120), attackers connect to their own controllers and
// misbehave at random (silent or half-sent handshakes, garbage, fds of the wrong kind, memory
// cut off under queued requests, garbage descriptor chains, a call eventfd that cannot take a
// write) and disconnect, while well-behaved clients on other controllers of the same reactor
// write and verify, and sometimes reconnect. At the end: no verify error, the daemon's fd
// count back at its baseline, its memory not grown. Run longer by hand:
//   SOAK_SECONDS=1800 build/tests/integration/soak_integration_test
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fixtures.hpp"
#include "raw_frontend.hpp"
#include "spec/virtio_blk.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace vu = vhost_user;

constexpr uint64_t kBlocks = 16384;
constexpr size_t kGuestBytes = 1 << 20;

size_t rss_kib(pid_t pid) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::strtoull(line.c_str() + 6, nullptr, 10);
        }
    }
    return 0;
}

int eventfd_nb() {
    return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

// One attack on controller `socket`; every fd it makes is closed before it returns.
void attack(const std::string& socket, std::mt19937& rng) {
    auto f = RawFrontend::connect(socket);
    if (!f) {
        return;  // the controller is busy with the previous one's teardown
    }
    const int kind = static_cast<int>(rng() % 7);
    switch (kind) {
        case 0:  // connect and leave
            return;
        case 1: {  // garbage
            std::vector<std::byte> junk(1 + rng() % 300);
            for (auto& b : junk) {
                b = static_cast<std::byte>(rng());
            }
            f->send_raw(junk);
            std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
            return;
        }
        case 2: {  // half a header, then silence until the deadline cuts it
            const std::byte partial[7] = {};
            f->send_raw(partial);
            f->wait_closed(std::chrono::milliseconds(rng() % 400));
            return;
        }
        case 3: {  // notification fds of the wrong kind
            if (!f->negotiate()) {
                return;
            }
            int p[2];
            if (::pipe2(p, O_CLOEXEC) != 0) {
                return;
            }
            f->ack_u64(vu::Request::set_vring_kick, 0, std::span(&p[0], 1));
            f->ack_u64(vu::Request::set_vring_call, 0, std::span(&p[1], 1));
            ::close(p[0]);
            ::close(p[1]);
            return;
        }
        default:
            break;
    }
    // A ring of its own, then abuse of it.
    RawGuest guest(kGuestBytes);
    const int kick = eventfd_nb();
    const int call = eventfd_nb();
    if (guest.set_up_blk(*f, kick, call)) {
        if (kind == 4) {  // memory cut off under queued requests
            for (int i = 0; i < 4; ++i) {
                guest.post_request(virtio_blk::request_type::kOut, 8 * (rng() % 1000), 4096);
            }
            guest.shrink(0x8000 * (rng() % 3));
            ::eventfd_write(kick, 1);
        } else if (kind == 5) {  // garbage descriptors
            for (size_t i = 0; i < 16 * sizeof(virtio::VringDesc); ++i) {
                guest.at(guest.layout().desc)[i] = static_cast<uint8_t>(rng());
            }
            auto* avail = reinterpret_cast<uint16_t*>(guest.at(guest.layout().avail));
            for (int i = 0; i < 16; ++i) {
                avail[2 + i] = static_cast<uint16_t>(rng());
            }
            avail[1] = static_cast<uint16_t>(rng());
            ::eventfd_write(kick, 1);
        } else {  // a call eventfd that cannot take a write
            ::eventfd_write(call, 0xfffffffffffffffeULL);
            ::fcntl(call, F_SETFL, ::fcntl(call, F_GETFL) & ~O_NONBLOCK);
            guest.post_request(virtio_blk::request_type::kOut, 0, 4096);
            ::eventfd_write(kick, 1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 50));
    }
    f.reset();
    ::close(kick);
    ::close(call);
}

TEST(Soak, AttackersNeverHurtTheWellBehaved) {
    const char* env = std::getenv("SOAK_SECONDS");
    const auto duration = std::chrono::seconds(env != nullptr ? std::atoi(env) : 60);
    const uint32_t seed = std::random_device{}();
    RecordProperty("seed", static_cast<int>(seed));
    std::printf("soak: %lld s, seed %u\n", static_cast<long long>(duration.count()), seed);

    json bdevs = json::array();
    json ctrls = json::array();
    for (int i = 0; i < 4; ++i) {
        bdevs.push_back(malloc_bdev(fmt::format("Malloc{}", i), kBlocks));
        ctrls.push_back(blk_controller(i < 2 ? fmt::format("good{}", i) : fmt::format("bad{}", i),
                                       fmt::format("Malloc{}", i)));
    }
    VhostdProcess vhostd{{.config = make_config(bdevs, ctrls),
                          .args = {"--handshake-timeout-ms", "200"},
                          .sockets = {"good0", "good1", "bad2", "bad3"}}};
    START_VHOSTD(vhostd);
    const size_t fds_before = count_process_fds(vhostd.pid());
    const size_t rss_before = rss_kib(vhostd.pid());

    const auto deadline = Clock::now() + duration;
    std::atomic<uint64_t> verify_errors{0};
    std::atomic<uint64_t> verified{0};
    std::atomic<uint64_t> attacks{0};
    std::vector<std::thread> threads;
    for (int g = 0; g < 2; ++g) {
        threads.emplace_back([&, g] {
            std::mt19937 rng(seed + g);
            const std::string socket = vhostd.socket(fmt::format("good{}", g));
            while (Clock::now() < deadline) {
                auto client = connect_client(client_options(socket));
                if (!client) {
                    ++verify_errors;
                    return;
                }
                for (int round = 0; round < 200 && Clock::now() < deadline; ++round) {
                    const uint64_t sector = 8 * (rng() % (kBlocks / 8));
                    const auto data = pattern(static_cast<uint32_t>(rng()), 4096);
                    std::vector<std::byte> back(4096);
                    auto w = client->write(sector, data);
                    auto r = client->read(sector, back);
                    if (!w || *w != kOk || !r || *r != kOk || back != data) {
                        ++verify_errors;
                    }
                    ++verified;
                }
            }
        });
    }
    for (int a = 0; a < 2; ++a) {
        threads.emplace_back([&, a] {
            std::mt19937 rng(seed + 100 + a);
            const std::string socket = vhostd.socket(fmt::format("bad{}", a + 2));
            while (Clock::now() < deadline) {
                attack(socket, rng);
                ++attacks;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::printf("soak: %llu verified requests, %llu attacks\n",
                static_cast<unsigned long long>(verified.load()),
                static_cast<unsigned long long>(attacks.load()));
    EXPECT_EQ(verify_errors.load(), 0U);
    EXPECT_GT(verified.load(), 0U);
    ASSERT_TRUE(vhostd.running()) << vhostd.output();

    // Every connection is gone: the daemon is back where it started.
    const auto settle = Clock::now() + 10s;
    size_t fds = count_process_fds(vhostd.pid());
    while (fds != fds_before && Clock::now() < settle) {
        std::this_thread::sleep_for(50ms);
        fds = count_process_fds(vhostd.pid());
    }
    EXPECT_EQ(fds, fds_before) << "fds leaked";
    // Allocator caches and the first touch of pools account for a little; a leak per attack
    // would be far more over thousands of attacks.
    EXPECT_LT(rss_kib(vhostd.pid()), rss_before + 32 * 1024) << "memory grew";
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

}  // namespace
}  // namespace vhostd::testing
