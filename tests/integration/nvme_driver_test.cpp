// vhostd's NVMe controllers (nvmf_* methods) driven by the frontend's NvmeDriver and by
// vhost-bench --transport nvme: identify, verified I/O on two queue pairs over two reactors,
// mapped and trapped doorbells with shadow doorbells on and off (doorbell messages counted),
// flush / write zeroes / deallocate, namespace hot add and remove with the event and the
// changed list, reconnect to a fresh controller (nvmf_get_stats counting across clients), idle
// gaps under adaptive polling, and a hostile driver the controller survives.
#include "frontend/nvme_driver.hpp"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <poll.h>

#include "bench_process.hpp"
#include "nvmf_fixture.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace nvme_spec;
using frontend::NvmeCompletion;
using frontend::NvmeDriver;
using frontend::NvmeQueuePair;

const std::string& kNqn = kNvmfTestNqn;
constexpr uint64_t kBlocks = 32768;  // Malloc0: 16 MiB of 512-byte blocks
constexpr auto kIoDeadline = std::chrono::seconds(20);

// A vhostd on two reactors (unless told otherwise) with Malloc0 of kBlocks.
class NvmeDriverTest : public NvmfFixture {
  protected:
    void start_two_reactors(std::vector<std::string> args = {"-m", "0x3"}) {
        start(kBlocks, std::move(args));
    }

    [[nodiscard]] std::string socket() const { return dir_ + "/cntrl"; }

    // A driver with `queues` I/O queue pairs. The server notices a previous client's
    // departure on its own time, so connecting is retried (bounded).
    std::unique_ptr<NvmeDriver> connect(uint16_t queues = 2, bool shadow = true,
                                        bool interrupts = false) {
        NvmeDriver::Options o;
        o.interrupts = interrupts;
        o.socket = socket();
        o.io_queues = queues;
        o.io_queue_entries = 64;
        o.shadow_doorbells = shadow;
        for (int attempt = 0;; ++attempt) {
            auto driver = NvmeDriver::connect(o);
            if (driver) {
                return std::move(*driver);
            }
            if (attempt == 50) {
                ADD_FAILURE() << driver.error().describe() << "\n" << vhostd_->output();
                return nullptr;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
};

// Submits one command through `submit`, kicks, and polls until it completes (bounded).
template <class Submit>
Result<NvmeCompletion> run_io(NvmeQueuePair& q, Submit&& submit) {
    static uint64_t tag = 1000;
    const uint64_t mine = ++tag;
    if (!submit(mine)) {
        return make_error(EBUSY, "submission refused");
    }
    q.kick();
    const auto deadline = std::chrono::steady_clock::now() + kIoDeadline;
    std::array<NvmeCompletion, 4> out;
    while (std::chrono::steady_clock::now() < deadline) {
        const size_t n = VHOSTD_TRY(q.poll(out));
        for (size_t i = 0; i < n; ++i) {
            if (out[i].tag == mine) {
                return out[i];
            }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return make_error(ETIMEDOUT, "no completion");
}

bool all_bytes(const frontend::GuestBuffer& b, uint8_t value) {
    for (uint64_t i = 0; i < b.size; ++i) {
        if (b.host[i] != value) {
            return false;
        }
    }
    return true;
}

uint64_t ios_of(const BenchRun& run) {
    return run.result["read_ios"].get<uint64_t>() + run.result["write_ios"].get<uint64_t>() +
           run.result["verify"]["readback"].get<uint64_t>();
}

uint64_t messages_of(const BenchRun& run) {
    return run.result["doorbells"]["sq_messages"].get<uint64_t>() +
           run.result["doorbells"]["cq_messages"].get<uint64_t>();
}

TEST_F(NvmeDriverTest, IdentifiesTheControllerAndItsNamespace) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    auto driver = connect();
    ASSERT_TRUE(driver);
    EXPECT_TRUE(driver->mapped());
    EXPECT_FALSE(driver->shadow_doorbells());
    EXPECT_GE(driver->version(), version(1, 3));
    const IdentifyController& id = driver->controller();
    EXPECT_EQ(std::string(id.sn.data(), 12), "VHOSTDSN0001");
    EXPECT_EQ(std::string(id.subnqn.data(), kNqn.size()), kNqn);
    auto active = driver->active_namespaces();
    ASSERT_TRUE(active) << active.error().describe();
    EXPECT_EQ(*active, std::vector<uint32_t>{1});
    auto geometry = driver->namespace_geometry(1);
    ASSERT_TRUE(geometry) << geometry.error().describe();
    EXPECT_EQ(geometry->block_size, 512U);
    EXPECT_EQ(geometry->blocks, kBlocks);
    EXPECT_FALSE(driver->namespace_geometry(7)) << "an inactive NSID has no geometry";
    EXPECT_EQ(driver->io_queue_count(), 2U);
    EXPECT_TRUE(driver->shutdown()) << vhostd_->output();
}

TEST_F(NvmeDriverTest, BenchVerifiesOnTwoQueuePairsOverTwoReactors) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    const BenchRun run =
        run_bench(vhostd_->dir(), {"--transport", "nvme", "--socket", socket(), "--queues", "2",
                                   "--qsize", "64", "--iodepth", "16", "--rw", "randrw", "--bs",
                                   "4k", "--verify", "--number-ios", "20000"});
    expect_clean(run, true);
    EXPECT_EQ(run.result["doorbells"]["mode"], "mapped") << run.output;
    EXPECT_EQ(messages_of(run), 0U) << run.output;
    // Both queue pairs carried I/O, on the controller's two reactors.
    const json stats = vhostctl_json(*vhostd_, {"nvmf_get_subsystems"});
    EXPECT_FALSE(stats.empty());
}

TEST_F(NvmeDriverTest, TrappedDoorbellsWithShadowDoorbellsSendFewMessages) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create({"-M"}));
    const std::vector<std::string> common = {
        "--transport", "nvme", "--socket",  socket(),       "--queues", "2",
        "--qsize",     "64",   "--iodepth", "32",           "--rw",     "randrw",
        "--bs",        "4k",   "--verify",  "--number-ios", "20000"};
    std::vector<std::string> with = common;
    with.insert(with.end(), {"--shadow-doorbells", "on"});
    const BenchRun shadow = run_bench(vhostd_->dir(), with);
    expect_clean(shadow, true);
    EXPECT_EQ(shadow.result["doorbells"]["mode"], "trapped+shadow") << shadow.output;
    std::vector<std::string> without = common;
    without.insert(without.end(), {"--shadow-doorbells", "off"});
    const BenchRun plain = run_bench(vhostd_->dir(), without);
    expect_clean(plain, true);
    EXPECT_EQ(plain.result["doorbells"]["mode"], "trapped") << plain.output;
    // Structural, not timing: without shadow doorbells every batch is a message; with them
    // only the wake-ups the EventIdx asks for are, far fewer than the I/Os.
    EXPECT_GT(messages_of(plain), 0U) << plain.output;
    EXPECT_LT(messages_of(shadow), ios_of(shadow)) << shadow.output;
    EXPECT_LT(messages_of(shadow), messages_of(plain)) << shadow.output << plain.output;
    std::printf("doorbell messages per I/O: shadow on %.4f (%llu / %llu), off %.4f\n",
                static_cast<double>(messages_of(shadow)) / static_cast<double>(ios_of(shadow)),
                static_cast<unsigned long long>(messages_of(shadow)),
                static_cast<unsigned long long>(ios_of(shadow)),
                static_cast<double>(messages_of(plain)) / static_cast<double>(ios_of(plain)));
}

TEST_F(NvmeDriverTest, FlushWriteZeroesAndDeallocate) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    auto driver = connect(1);
    ASSERT_TRUE(driver);
    NvmeQueuePair& q = driver->io_queue(0);
    auto buffer = driver->ram().alloc(16 * 512, 4096);
    ASSERT_TRUE(buffer);
    auto write_pattern = [&](uint64_t slba) {
        std::memset(buffer->host, 0x5a, buffer->size);
        return run_io(q, [&](uint64_t tag) {
            return q.submit_rw(tag, true, 1, slba, 16, buffer->gpa, buffer->size);
        });
    };
    auto read_back = [&](uint64_t slba) {
        std::memset(buffer->host, 0xee, buffer->size);
        return run_io(q, [&](uint64_t tag) {
            return q.submit_rw(tag, false, 1, slba, 16, buffer->gpa, buffer->size);
        });
    };

    auto done = write_pattern(64);
    ASSERT_TRUE(done && done->ok());
    done = run_io(q, [&](uint64_t tag) { return q.submit_flush(tag, 1); });
    ASSERT_TRUE(done && done->ok());
    done = read_back(64);
    ASSERT_TRUE(done && done->ok());
    EXPECT_TRUE(all_bytes(*buffer, 0x5a));

    done = run_io(q, [&](uint64_t tag) { return q.submit_write_zeroes(tag, 1, 64, 16, false); });
    ASSERT_TRUE(done && done->ok()) << (done ? done->status : 0);
    done = read_back(64);
    ASSERT_TRUE(done && done->ok());
    EXPECT_TRUE(all_bytes(*buffer, 0));

    // Deallocate: the malloc bdev reads deallocated blocks back as zeroes.
    ASSERT_TRUE(write_pattern(128));
    const std::array<DsmRange, 1> range{DsmRange{0, 16, 128}};
    done = run_io(q, [&](uint64_t tag) { return q.submit_deallocate(tag, 1, range); });
    ASSERT_TRUE(done && done->ok()) << (done ? done->status : 0);
    done = read_back(128);
    ASSERT_TRUE(done && done->ok());
    EXPECT_TRUE(all_bytes(*buffer, 0));

    // Beyond the namespace: an error status, not a hang or a broken queue.
    done = run_io(q, [&](uint64_t tag) {
        return q.submit_rw(tag, false, 1, kBlocks - 8, 16, buffer->gpa, buffer->size);
    });
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status & 0xff, generic_sc::kLbaOutOfRange);
}

TEST_F(NvmeDriverTest, NamespaceHotAddAndRemoveRaiseTheEvent) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    auto driver = connect(1);
    ASSERT_TRUE(driver);
    // Namespace 1 became active before the driver came: read (and so clear) that change.
    ASSERT_TRUE(driver->changed_namespaces());
    ASSERT_TRUE(driver->arm_async_events(1));
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_subsystem_add_ns", kNqn, "Malloc1", "-n", "5"}));
    auto event = driver->wait_async_event(std::chrono::seconds(20));
    ASSERT_TRUE(event) << event.error().describe();
    EXPECT_EQ(*event, aen_dw0(aen_type::kNotice, aen_notice::kNamespaceAttributeChanged,
                              log_id::kChangedNamespaces));
    auto changed = driver->changed_namespaces();
    ASSERT_TRUE(changed);
    EXPECT_EQ(*changed, std::vector<uint32_t>{5});
    auto geometry = driver->namespace_geometry(5);
    ASSERT_TRUE(geometry);
    EXPECT_EQ(geometry->block_size, 4096U);

    // The driver re-armed the event by itself.
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_subsystem_remove_ns", kNqn, "5"}));
    event = driver->wait_async_event(std::chrono::seconds(20));
    ASSERT_TRUE(event) << event.error().describe();
    changed = driver->changed_namespaces();
    ASSERT_TRUE(changed);
    EXPECT_EQ(*changed, std::vector<uint32_t>{5});
    auto active = driver->active_namespaces();
    ASSERT_TRUE(active);
    EXPECT_EQ(*active, std::vector<uint32_t>{1});
}

TEST_F(NvmeDriverTest, ReconnectFindsAFreshControllerAndTheSameData) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    for (int round = 0; round < 3; ++round) {
        // Each driver creates queues 1 and 2 again: only a fresh controller accepts that.
        auto driver = connect(2);
        ASSERT_TRUE(driver) << "round " << round;
        NvmeQueuePair& q = driver->io_queue(1);
        auto buffer = driver->ram().alloc(4096, 4096);
        ASSERT_TRUE(buffer);
        if (round != 0) {
            auto done = run_io(q, [&](uint64_t tag) {
                return q.submit_rw(tag, false, 1, 256, 8, buffer->gpa, buffer->size);
            });
            ASSERT_TRUE(done && done->ok());
            EXPECT_TRUE(all_bytes(*buffer, static_cast<uint8_t>(round - 1)));
        }
        std::memset(buffer->host, round, buffer->size);
        auto done = run_io(q, [&](uint64_t tag) {
            return q.submit_rw(tag, true, 1, 256, 8, buffer->gpa, buffer->size);
        });
        ASSERT_TRUE(done && done->ok());
        if (round == 1) {
            ASSERT_TRUE(driver->reset()) << "a controller reset brings the same queues back";
            ASSERT_TRUE(driver->shutdown());
        }
        // Leaving without a shutdown in the other rounds: the server drops the state.
    }
    // nvmf_get_stats counts what the poll groups served since the controller was created, as
    // SPDK's does: across the three clients and the reset, 5 I/O commands, and at least one
    // admin queue and 2 I/O queue pairs per enable (4 enables).
    const json stats = vhostctl_json(*vhostd_, {"nvmf_get_stats"});
    uint64_t completed = 0;
    uint64_t io_qpairs = 0;
    uint64_t admin_qpairs = 0;
    for (const json& group : stats.at("poll_groups")) {
        completed += group.at("completed_nvme_io").get<uint64_t>();
        io_qpairs += group.at("io_qpairs").get<uint64_t>();
        admin_qpairs += group.at("admin_qpairs").get<uint64_t>();
    }
    EXPECT_EQ(completed, 5u) << stats.dump();
    EXPECT_GE(io_qpairs, 8u) << stats.dump();
    EXPECT_GE(admin_qpairs, 4u) << stats.dump();
}

TEST_F(NvmeDriverTest, IdleGapsUnderAdaptivePollingLoseNothing) {
    ASSERT_NO_FATAL_FAILURE(
        start_two_reactors({"--poll", "adaptive", "--idle-threshold-us", "50", "-m", "0x3"}));
    ASSERT_NO_FATAL_FAILURE(create({"-M"}));
    // Trapped with shadow doorbells: a sleeping queue asks for a real doorbell through its
    // EventIdx; a lost wake-up would leave I/Os in flight until the drain times out.
    for (const char* shadow : {"on", "off"}) {
        const BenchRun run = run_bench(vhostd_->dir(), {"--transport", "nvme",
                                                        "--socket",    socket(),
                                                        "--queues",    "2",
                                                        "--qsize",     "64",
                                                        "--iodepth",   "4",
                                                        "--rw",        "randrw",
                                                        "--bs",        "4k",
                                                        "--verify",    "--time",
                                                        "1.5",         "--idle-every-ms",
                                                        "5",           "--idle-gap-ms",
                                                        "2",           "--shadow-doorbells",
                                                        shadow});
        expect_clean(run, true);
    }
}

TEST_F(NvmeDriverTest, CompletionsRaiseTheQueuesMsixEventfd) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    auto driver = connect(2, true, true);
    ASSERT_TRUE(driver);
    for (size_t i = 0; i < 2; ++i) {
        NvmeQueuePair& q = driver->io_queue(i);
        const int fd = driver->interrupt_fd(i);
        ASSERT_GE(fd, 0);
        auto buffer = driver->ram().alloc(4096, 4096);
        ASSERT_TRUE(buffer);
        ASSERT_TRUE(q.submit_rw(1, false, 1, 0, 8, buffer->gpa, buffer->size));
        q.kick();
        // The completion's interrupt: the eventfd becomes readable (bounded wait).
        pollfd p{fd, POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 20000), 1) << "queue " << i << "\n" << vhostd_->output();
        std::array<NvmeCompletion, 2> out;
        auto n = q.poll(out);
        ASSERT_TRUE(n);
        ASSERT_EQ(*n, 1U);
        EXPECT_TRUE(out[0].ok());
    }
}

TEST_F(NvmeDriverTest, AHostileDriverGetsErrorsAndTheControllerCarriesOn) {
    ASSERT_NO_FATAL_FAILURE(start_two_reactors());
    ASSERT_NO_FATAL_FAILURE(create());
    auto driver = connect(1);
    ASSERT_TRUE(driver);
    ASSERT_TRUE(driver->arm_async_events(1));
    NvmeQueuePair& q = driver->io_queue(0);
    // PRPs that point outside guest memory: an error status.
    Command bad{};
    bad.opcode = io_opcode::kRead;
    bad.nsid = 1;
    bad.dptr1 = uint64_t{1} << 50;
    auto done = run_io(q, [&](uint64_t tag) { return q.submit(tag, bad); });
    ASSERT_TRUE(done) << done.error().describe();
    EXPECT_FALSE(done->ok());
    // A PRP2 list entry with an offset (4.3: list entries are page aligned).
    auto buffer = driver->ram().alloc(3 * 4096, 4096);
    auto list = driver->ram().alloc(4096, 4096);
    ASSERT_TRUE(buffer && list);
    reinterpret_cast<uint64_t*>(list->host)[0] = buffer->gpa + 4096 + 8;
    reinterpret_cast<uint64_t*>(list->host)[1] = buffer->gpa + 2 * 4096;
    bad.dptr1 = buffer->gpa;
    bad.dptr2 = list->gpa;
    bad.cdw12 = 23;  // 24 blocks: three pages
    done = run_io(q, [&](uint64_t tag) { return q.submit(tag, bad); });
    ASSERT_TRUE(done) << done.error().describe();
    EXPECT_FALSE(done->ok());

    // An SQ tail doorbell past the queue size: the Invalid Doorbell Write Value event.
    ASSERT_TRUE(driver->doorbells().ring(sq_doorbell_index(1), 1000));
    auto event = driver->wait_async_event(std::chrono::seconds(20));
    ASSERT_TRUE(event) << event.error().describe();
    EXPECT_EQ(*event & 0x7, aen_type::kErrorStatus);
    EXPECT_EQ((*event >> 8) & 0xff, aen_error::kInvalidDoorbellValue);
    // The admin queue still answers, and a reset brings the I/O queue back.
    EXPECT_TRUE(driver->active_namespaces());
    ASSERT_TRUE(driver->reset()) << vhostd_->output();
    NvmeQueuePair& again = driver->io_queue(0);
    auto good = driver->ram().alloc(4096, 4096);
    ASSERT_TRUE(good);
    done = run_io(again, [&](uint64_t tag) {
        return again.submit_rw(tag, false, 1, 0, 8, good->gpa, good->size);
    });
    ASSERT_TRUE(done) << done.error().describe();
    EXPECT_TRUE(done->ok());
    EXPECT_EQ(vhostctl(*vhostd_, {"nvmf_get_subsystems"}).exit_code, 0);
}

}  // namespace
}  // namespace vhostd::testing
