// Adaptive polling's sleep/wake race: queues are starved (so their reactor falls asleep after a
// 20 µs idle threshold) and resumed thousands of times, with gaps around the threshold, on one
// and on two reactors, while another queue is kept busy. Every request must be answered.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "fixtures.hpp"

namespace vhostd::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr uint64_t kBlocks = 8192;

// One request on `queue`, waited for on the call eventfd (the driver sleeps too). Returns the
// virtio status, or -1 if no completion arrived in time.
int one_request(frontend::BlkQueue& queue, const frontend::GuestBuffer& buffer, uint64_t sector,
                bool write) {
    const frontend::DataSegment data{buffer.gpa, 4096};
    const bool ok = write ? queue.submit_write(1, sector, {&data, 1})
                          : queue.submit_read(1, sector, {&data, 1});
    if (!ok) {
        return -2;
    }
    queue.kick();
    frontend::BlkCompletion done;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto n = queue.poll({&done, 1});
        if (n && *n == 1) {
            return done.status;
        }
        if (!queue.wait(2000ms)) {
            break;
        }
    }
    auto n = queue.poll({&done, 1});
    return n && *n == 1 ? done.status : -1;
}

class AdaptiveStarve : public ::testing::TestWithParam<const char*> {};

TEST_P(AdaptiveStarve, StarvedQueuesAlwaysWake) {
    const std::string mask = GetParam();
    VhostdProcess vhostd(
        {.config =
             make_config(json::array({malloc_bdev("Malloc0", kBlocks)}),
                         json::array({blk_controller("vhost.0", "Malloc0", {{"cpumask", mask}})})),
         .args = {"--poll", "adaptive", "--idle-threshold-us", "20", "-m", mask},
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    auto options = client_options(vhostd.socket("vhost.0"), 2);
    auto client = connect_client(options);
    ASSERT_TRUE(client);
    auto busy_buffer = client->ram().alloc(4096, 4096);
    auto starved_buffer = client->ram().alloc(4096, 4096);
    ASSERT_TRUE(busy_buffer && starved_buffer);

    // Queue 0: bursts of back-to-back requests separated by pauses, until told to stop.
    std::atomic<bool> stop{false};
    std::atomic<int> busy_failures{0};
    std::atomic<uint64_t> busy_done{0};
    std::thread busy([&] {
        std::minstd_rand rng(7);
        while (!stop.load()) {
            for (int i = 0; i < 50 && !stop.load(); ++i) {
                if (one_request(client->queue(0), *busy_buffer, rng() % kBlocks / 8 * 8, i % 2) !=
                    kOk) {
                    busy_failures.fetch_add(1);
                }
                busy_done.fetch_add(1);
            }
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
        }
    });

    // Queue 1: single requests after gaps from 0 to ~200 µs, i.e. on both sides of the idle
    // threshold, so a kick often races the reactor going to sleep.
    std::minstd_rand rng(11);
    int failures = 0;
    constexpr int kRequests = 3000;
    for (int i = 0; i < kRequests; ++i) {
        const auto gap = std::chrono::microseconds(rng() % 200);
        const auto until = std::chrono::steady_clock::now() + gap;
        while (std::chrono::steady_clock::now() < until) {
            // spin: sleeping would round small gaps up to the timer slack
        }
        const int status =
            one_request(client->queue(1), *starved_buffer, rng() % kBlocks / 8 * 8, false);
        if (status != kOk) {
            ADD_FAILURE() << "request " << i << " on the starved queue: status " << status;
            if (++failures > 3) {
                break;
            }
        }
        if (i % 500 == 0) {
            std::this_thread::sleep_for(5ms);  // a long starvation: the whole reactor sleeps
        }
    }
    stop.store(true);
    busy.join();
    EXPECT_EQ(busy_failures.load(), 0);
    EXPECT_GT(busy_done.load(), 0U);
    EXPECT_EQ(client->queue(0).in_flight(), 0);
    EXPECT_EQ(client->queue(1).in_flight(), 0);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

INSTANTIATE_TEST_SUITE_P(Reactors, AdaptiveStarve, ::testing::Values("0x1", "0x3"),
                         [](const auto& param_info) {
                             return std::string(param_info.param) == "0x1" ? "OneReactor"
                                                                           : "TwoReactors";
                         });

}  // namespace
}  // namespace vhostd::testing
