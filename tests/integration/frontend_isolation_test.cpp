// One hostile frontend hurts only its own device. A raw-protocol client (raw_frontend.hpp)
// attacks controller A while a well-behaved client verifies I/O on controller B, both served
// by one reactor: guest memory cut off under the daemon at each place it is touched, kick and
// call fds of the wrong kind or in blocking mode, a call eventfd that cannot take a write,
// handshakes that never finish, ring addresses outside memory. Each time the daemon stays up,
// B keeps verifying, the process's fd count returns to its baseline, and the test is bounded.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/unique_fd.hpp"
#include "raw_frontend.hpp"
#include "scsi_fixtures.hpp"
#include "spec/virtio_blk.hpp"
#include "spec/virtio_scsi.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace vu = vhost_user;
namespace blk = virtio_blk;

constexpr size_t kGuestBytes = 1 << 20;
constexpr uint64_t kCut = 0x80000;     // the memfd is cut to this size
constexpr uint64_t kBeyond = 0xC0000;  // where the part under test lives
constexpr uint64_t kBlocks = 8192;

int make_eventfd(bool nonblocking = true) {
    return ::eventfd(0, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0));
}

// A frontend's kick, call and error eventfds (ours: the daemon gets its own duplicates),
// closed at the end of the scope whatever the test did.
struct Notifiers {
    explicit Notifiers(bool blocking_kick = false)
        : kick_fd(make_eventfd(!blocking_kick)), call_fd(make_eventfd()), err_fd(make_eventfd()) {}
    [[nodiscard]] int kick() const { return kick_fd.get(); }
    [[nodiscard]] int call() const { return call_fd.get(); }
    [[nodiscard]] int err() const { return err_fd.get(); }
    UniqueFd kick_fd, call_fd, err_fd;
};

// Waits for an eventfd (ours: the daemon has the other end) to be signalled, and consumes the
// signal so the next wait sees only new ones.
bool signalled(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
        return false;
    }
    eventfd_t value;
    return ::eventfd_read(fd, &value) == 0;
}

class FrontendIsolationTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(std::ofstream(vhostd_.dir() + "/disk.img").good());
        std::filesystem::resize_file(vhostd_.dir() + "/disk.img", kBlocks * 512);
    }
    void TearDown() override {
        EXPECT_TRUE(vhostd_.running()) << "the daemon died:\n" << vhostd_.output();
        EXPECT_EQ(vhostd_.stop(), 0) << vhostd_.output();
    }

    void start(std::vector<std::string> extra_args = {}) {
        auto config = make_config(
            json::array({malloc_bdev("Malloc0", kBlocks), malloc_bdev("Malloc1", kBlocks),
                         malloc_bdev("Malloc2", kBlocks)}),
            json::array({blk_controller("a", "Malloc0", {{"cpumask", "0x1"}}),
                         blk_controller("b", "Malloc1", {{"cpumask", "0x1"}})}));
        // A uring bdev for the kernel's side of guest memory (io_uring gets EFAULT).
        config["subsystems"][0]["config"].push_back(
            {{"method", "bdev_uring_create"},
             {"params", {{"name", "Disk0"}, {"filename", vhostd_.dir() + "/disk.img"}}}});
        config["subsystems"][1]["config"].push_back(blk_controller("u", "Disk0"));
        config["subsystems"].push_back(
            {{"subsystem", "vhost_scsi"},
             {"config", json::array({scsi_controller("s"), scsi_target("s", 0, "Malloc2")})}});
        vhostd_.set_config(std::move(config));
        vhostd_.set_args(std::move(extra_args));
        ASSERT_TRUE(vhostd_.start()) << vhostd_.output();
        good_ = connect_client(client_options(vhostd_.socket("b")));
        ASSERT_TRUE(good_);
        verify_good(0);
        baseline_ = count_process_fds(vhostd_.pid());
    }

    // B writes a pattern and reads it back.
    void verify_good(uint32_t seed) {
        const auto data = pattern(seed, 8192);
        ASSERT_EQ(good_->write(64 * seed, data).value(), kOk);
        std::vector<std::byte> back(8192);
        ASSERT_EQ(good_->read(64 * seed, back).value(), kOk);
        EXPECT_EQ(back, data) << "controller b lost data";
    }

    // After the attacker has gone, the daemon's fds return to the baseline (teardown is
    // asynchronous: give it a moment).
    void expect_fds_back() {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        size_t now = count_process_fds(vhostd_.pid());
        while (now != baseline_ && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
            now = count_process_fds(vhostd_.pid());
        }
        EXPECT_EQ(now, baseline_) << "fds leaked";
    }

    VhostdProcess vhostd_{{.sockets = {"a", "b", "u", "s"}}};
    std::unique_ptr<frontend::BlkClient> good_;
    size_t baseline_ = 0;
};

// --- guest memory cut off under the daemon ------------------------------------------------

struct CutCase {
    const char* part;
    // a: blk on a RAM bdev (vhostd copies), u: blk on uring (the kernel copies), s: scsi on a
    // RAM bdev.
    const char* controller;
    RawGuest::Layout layout;
    bool write;
    bool ring_breaks;  // else: the request completes with an error status
};

RawGuest::Layout beyond(const char* part) {
    RawGuest::Layout l;
    const std::string p = part;
    (p == "desc"     ? l.desc
     : p == "avail"  ? l.avail
     : p == "header" ? l.header
     : p == "status" ? l.status
                     : l.data) = kBeyond;
    return l;
}

class MemoryCutTest : public FrontendIsolationTest,
                      public ::testing::WithParamInterface<CutCase> {};

TEST_P(MemoryCutTest, OnlyTheAttackedDeviceNotices) {
    const CutCase& c = GetParam();
    const bool scsi = std::string(c.controller) == "s";
    start();
    {
        RawGuest guest(kGuestBytes, c.layout);
        auto attacker = RawFrontend::connect(vhostd_.socket(c.controller));
        ASSERT_TRUE(attacker);
        const Notifiers fds;
        const int kick = fds.kick(), call = fds.call(), err = fds.err();
        ASSERT_TRUE(scsi ? guest.set_up_scsi(*attacker, kick, call, err)
                         : guest.set_up_blk(*attacker, kick, call, err))
            << vhostd_.output();
        auto post = [&](bool write, uint64_t sector, uint64_t writable_end) {
            if (scsi) {
                guest.post_scsi_request(write, sector, 8, writable_end);
            } else {
                guest.post_request(write ? blk::request_type::kOut : blk::request_type::kIn, sector,
                                   4096, writable_end);
            }
            ::eventfd_write(kick, 1);
        };
        // A good request first: the ring works.
        post(true, 0, UINT64_MAX);
        ASSERT_TRUE(signalled(call, 5s));
        ASSERT_EQ(guest.used_idx(), 1);
        if (scsi) {
            // The first command may report the power-on unit attention; either way it ended.
            EXPECT_EQ(guest.scsi_response(), virtio_scsi::response::kOk);
        } else {
            EXPECT_EQ(*guest.at(guest.layout().status), blk::status::kOk);
        }

        ASSERT_TRUE(guest.shrink(kCut));
        post(c.write, 8, kCut);
        if (c.ring_breaks) {
            EXPECT_TRUE(signalled(err, 10s)) << "the ring did not report the fault";
            EXPECT_EQ(guest.used_idx(), 1) << "a request over lost memory was acknowledged";
        } else {
            ASSERT_TRUE(signalled(call, 10s));
            ASSERT_EQ(guest.used_idx(), 2);
            EXPECT_EQ(*guest.at(guest.layout().status), blk::status::kIoErr);
        }
        verify_good(1);
    }
    verify_good(2);
    expect_fds_back();
    // The attacked controller takes a well-behaved frontend again.
    if (scsi) {
        auto again = connect_scsi(vhostd_.socket("s"));
        ASSERT_TRUE(again);
        auto inquiry = again->execute({.target = 0, .cdb = cdb_inquiry(36), .data_in_length = 36});
        ASSERT_TRUE(inquiry);
        EXPECT_EQ(inquiry->response, virtio_scsi::response::kOk);
    } else {
        auto again = connect_client(client_options(vhostd_.socket(c.controller)));
        ASSERT_TRUE(again);
        std::vector<std::byte> buf(4096);
        EXPECT_EQ(again->read(0, buf).value(), kOk);
    }
}

INSTANTIATE_TEST_SUITE_P(
    EachTouchPoint, MemoryCutTest,
    ::testing::Values(CutCase{"desc", "a", beyond("desc"), true, true},
                      CutCase{"avail", "a", beyond("avail"), true, true},
                      CutCase{"header", "a", beyond("header"), true, true},
                      CutCase{"write_data", "a", beyond("data"), true, true},
                      CutCase{"read_data", "a", beyond("data"), false, true},
                      CutCase{"status", "a", beyond("status"), true, true},
                      CutCase{"uring_write_data", "u", beyond("data"), true, false},
                      CutCase{"uring_read_data", "u", beyond("data"), false, false},
                      CutCase{"scsi_desc", "s", beyond("desc"), true, true},
                      CutCase{"scsi_avail", "s", beyond("avail"), true, true},
                      CutCase{"scsi_command", "s", beyond("header"), true, true},
                      CutCase{"scsi_write_data", "s", beyond("data"), true, true},
                      CutCase{"scsi_read_data", "s", beyond("data"), false, true},
                      CutCase{"scsi_response", "s", beyond("status"), true, true}),
    [](const ::testing::TestParamInfo<CutCase>& param) { return std::string(param.param.part); });

// --- notification fds -----------------------------------------------------------------------

TEST_F(FrontendIsolationTest, NotificationFdsOfTheWrongKindAreRefused) {
    start();
    auto attacker = RawFrontend::connect(vhostd_.socket("a"));
    ASSERT_TRUE(attacker);
    RawGuest guest(kGuestBytes);
    ASSERT_TRUE(attacker->negotiate()) << vhostd_.output();

    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    int sockets[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const int dir_fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int memfd = guest.memfd();
    for (auto request :
         {vu::Request::set_vring_kick, vu::Request::set_vring_call, vu::Request::set_vring_err}) {
        for (int bad : {pipe_fds[0], pipe_fds[1], sockets[0], null_fd, dir_fd, memfd}) {
            auto ack = attacker->ack_u64(request, 0, std::span(&bad, 1));
            ASSERT_TRUE(ack.has_value());
            EXPECT_NE(*ack, 0U) << "request " << static_cast<int>(request) << " fd " << bad;
        }
        const int two[] = {make_eventfd(), make_eventfd()};
        auto ack = attacker->ack_u64(request, 0, two);
        ASSERT_TRUE(ack.has_value());
        EXPECT_NE(*ack, 0U) << "two fds in one message";
        ::close(two[0]);
        ::close(two[1]);
    }
    verify_good(1);
    attacker.reset();
    for (int fd : {pipe_fds[0], pipe_fds[1], sockets[0], sockets[1], null_fd, dir_fd}) {
        ::close(fd);
    }
    verify_good(2);
    expect_fds_back();
}

TEST_F(FrontendIsolationTest, BlockingKickFdNeverBlocksTheReactor) {
    // Adaptive polling with a short idle threshold: the queue soon sleeps and drains its kick.
    start({"--poll", "adaptive", "--idle-threshold-us", "1000"});
    RawGuest guest(kGuestBytes);
    auto attacker = RawFrontend::connect(vhostd_.socket("a"));
    ASSERT_TRUE(attacker);
    const Notifiers fds(/*blocking_kick=*/true);
    const int kick = fds.kick(), call = fds.call();
    ASSERT_TRUE(guest.set_up_blk(*attacker, kick, call)) << vhostd_.output();
    // The daemon may have set O_NONBLOCK on the shared file description: take it off again.
    ASSERT_EQ(::fcntl(kick, F_SETFL, ::fcntl(kick, F_GETFL) & ~O_NONBLOCK), 0);
    for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(30ms);  // idle: the reactor drains the kick fd and sleeps
        verify_good(static_cast<uint32_t>(round + 1));
    }
    guest.post_request(blk::request_type::kOut, 0, 4096);
    ::eventfd_write(kick, 1);
    ASSERT_TRUE(signalled(call, 5s));
    EXPECT_EQ(*guest.at(guest.layout().status), blk::status::kOk);
    attacker.reset();
    verify_good(9);
    expect_fds_back();
}

TEST_F(FrontendIsolationTest, CallFdThatCannotTakeAWriteBreaksOnlyItsRing) {
    start();
    RawGuest guest(kGuestBytes);
    auto attacker = RawFrontend::connect(vhostd_.socket("a"));
    ASSERT_TRUE(attacker);
    const Notifiers fds;
    const int kick = fds.kick(), call = fds.call(), err = fds.err();
    ASSERT_TRUE(guest.set_up_blk(*attacker, kick, call, err)) << vhostd_.output();
    // An eventfd at its maximum count, in blocking mode: a write of 1 would wait forever.
    ASSERT_EQ(::eventfd_write(call, 0xfffffffffffffffeULL), 0);
    ASSERT_EQ(::fcntl(call, F_SETFL, ::fcntl(call, F_GETFL) & ~O_NONBLOCK), 0);
    guest.post_request(blk::request_type::kOut, 0, 4096);
    ::eventfd_write(kick, 1);
    EXPECT_TRUE(signalled(err, 10s)) << "the stuck interrupt did not break the ring";
    verify_good(1);
    guest.post_request(blk::request_type::kOut, 8, 4096);
    ::eventfd_write(kick, 1);
    verify_good(2);
    attacker.reset();
    verify_good(3);
    expect_fds_back();
}

// --- handshakes --------------------------------------------------------------------------

TEST_F(FrontendIsolationTest, AHandshakeThatNeverFinishesIsCutOff) {
    start({"--handshake-timeout-ms", "300"});
    {
        auto silent = RawFrontend::connect(vhostd_.socket("a"));
        ASSERT_TRUE(silent);
        EXPECT_TRUE(silent->wait_closed(5s)) << "a silent frontend held the controller";
    }
    {
        auto half = RawFrontend::connect(vhostd_.socket("a"));
        ASSERT_TRUE(half);
        ASSERT_TRUE(half->send(vu::Request::get_features, {}));
        ASSERT_TRUE(half->receive());
        const std::byte partial[5] = {};
        ASSERT_TRUE(half->send_raw(partial));  // half a header, then nothing
        EXPECT_TRUE(half->wait_closed(5s)) << "half a message held the controller";
    }
    verify_good(1);
    // A frontend that finished its setup may stay idle for as long as it likes.
    RawGuest guest(kGuestBytes);
    auto live = RawFrontend::connect(vhostd_.socket("a"));
    ASSERT_TRUE(live);
    const Notifiers fds;
    const int kick = fds.kick(), call = fds.call();
    ASSERT_TRUE(guest.set_up_blk(*live, kick, call)) << vhostd_.output();
    EXPECT_FALSE(live->wait_closed(900ms)) << "an idle live frontend was disconnected";
    guest.post_request(blk::request_type::kOut, 0, 4096);
    ::eventfd_write(kick, 1);
    ASSERT_TRUE(signalled(call, 5s));
    EXPECT_EQ(*guest.at(guest.layout().status), blk::status::kOk);
    live.reset();
    expect_fds_back();
}

TEST_F(FrontendIsolationTest, RingAddressesAreCheckedWhenTheyArrive) {
    start();
    RawGuest guest(kGuestBytes);
    auto attacker = RawFrontend::connect(vhostd_.socket("a"));
    ASSERT_TRUE(attacker);
    const Notifiers fds;
    const int kick = fds.kick(), call = fds.call();
    ASSERT_TRUE(guest.set_up_blk(*attacker, kick, call)) << vhostd_.output();
    ASSERT_EQ(attacker->ack_struct(vu::Request::get_vring_base, vu::VringState{0, 0}),
              std::optional<uint64_t>(0U))
        << "stopping the ring";
    auto addr = [&](uint64_t desc, uint64_t avail, uint64_t used) {
        return vu::VringAddr{
            0, 0, guest.user_addr(0) + desc, guest.user_addr(0) + used, guest.user_addr(0) + avail,
            0};
    };
    const vu::VringAddr bad[] = {
        addr(kGuestBytes, 0x1000, 0x2000),  // descriptor table outside memory
        addr(0, 0x1000, kGuestBytes - 8),   // used ring runs past the end
        addr(8, 0x1000, 0x2000),            // descriptor table not 16-byte aligned
        addr(0, 0x1001, 0x2000),            // avail ring not 2-byte aligned
        addr(0, 0x1000, 0x2002),            // used ring not 4-byte aligned
        addr(0, 0x1000, 0x0000),            // used ring over the descriptor table
        vu::VringAddr{0, 0, 0xdead0000, 0xdead2000, 0xdead1000, 0},  // nowhere at all
    };
    for (const auto& a : bad) {
        auto ack = attacker->ack_struct(vu::Request::set_vring_addr, a);
        ASSERT_TRUE(ack.has_value());
        EXPECT_NE(*ack, 0U) << std::hex << a.desc_user_addr << " " << a.avail_user_addr << " "
                            << a.used_user_addr;
    }
    verify_good(1);
    attacker.reset();
    expect_fds_back();
}

}  // namespace
}  // namespace vhostd::testing
