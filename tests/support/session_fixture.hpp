// SessionFixture: a Session over the fake device and queue control, with helpers that act as
// the frontend (negotiation, a memfd-backed memory table, ring setup) for the session tests.
#pragma once

#include <memory>
#include <optional>

#include <fcntl.h>
#include <gtest/gtest.h>

#include "base/event_fd.hpp"
#include "spec/virtio.hpp"
#include "support/vhost_user_fakes.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user::testing {

class SessionFixture : public ::testing::Test {
  protected:
    static constexpr uint64_t kRamSize = 1 << 20;
    static constexpr uint64_t kUva = 0x7f0000000000;  // the "frontend's" address of guest RAM
    static constexpr uint16_t kQueueSize = 128;

    // Ring layout inside guest RAM, per ring index.
    static uint64_t desc_uva(uint16_t i) { return kUva + 0x10000 * (i + 1); }
    static uint64_t avail_uva(uint16_t i) { return desc_uva(i) + 0x4000; }
    static uint64_t used_uva(uint16_t i) { return desc_uva(i) + 0x8000; }

    struct Pending {
        bool completed = false;
        Session::Response response;
    };

    FakeDevice device;
    FakeQueueControl queues;
    std::unique_ptr<Session> session =
        std::make_unique<Session>(device, queues, Session::Options{"test"});

    // Every test ends with a disconnect: all queues stop, no contract was broken.
    void TearDown() override {
        bool done = false;
        session->disconnect([&] { done = true; });
        for (int i = 0; i < 4 && !done; ++i) {
            queues.complete_stops();
        }
        EXPECT_TRUE(done);
        EXPECT_EQ(queues.running_count(), 0U);
        EXPECT_FALSE(queues.contract_violated);
        EXPECT_FALSE(device.contract_violated);
    }

    // Hands `m` to the session; the result may complete later.
    std::shared_ptr<Pending> send(Message m) {
        auto pending = std::make_shared<Pending>();
        session->handle(std::move(m), [pending](Session::Response r) {
            EXPECT_FALSE(pending->completed) << "done called twice";
            pending->completed = true;
            pending->response = std::move(r);
        });
        return pending;
    }
    // A request that must complete at once.
    Session::Response call(Message m) {
        auto pending = send(std::move(m));
        EXPECT_TRUE(pending->completed);
        EXPECT_FALSE(session->busy());
        return std::move(pending->response);
    }
    template <class T>
    Session::Response call_with(Request r, const T& payload, std::vector<UniqueFd> fds = {}) {
        return call(make_request_with(r, payload, std::move(fds), kVersion | kFlagNeedReply));
    }
    Session::Response call_empty(Request r) {
        return call(make_request(r, {}, {}, kVersion | kFlagNeedReply));
    }

    static uint64_t reply_u64(const Session::Response& r) {
        EXPECT_TRUE(r.reply.has_value());
        if (!r.reply)
            return ~0ULL;
        EXPECT_EQ(r.reply->header.flags, kVersion | kFlagReply);
        auto value = r.reply->payload_u64();
        EXPECT_TRUE(value.has_value());
        return value.value_or(~0ULL);
    }
    bool reply_ack() const {
        return (session->acked_protocol_features() & virtio::bit(protocol_feature::kReplyAck)) != 0;
    }
    // Success / failure of a request sent with NEED_REPLY: a u64 status with REPLY_ACK; without
    // it, silence on success and a closed connection on failure.
    void expect_ok(const Session::Response& r) const {
        EXPECT_FALSE(r.close);
        if (reply_ack()) {
            EXPECT_EQ(reply_u64(r), 0U);
        } else {
            EXPECT_FALSE(r.reply.has_value());
        }
    }
    void expect_failed(const Session::Response& r) const {
        if (reply_ack()) {
            EXPECT_FALSE(r.close);
            EXPECT_NE(reply_u64(r), 0U);
        } else {
            expect_closed(r);
        }
    }
    static void expect_closed(const Session::Response& r) {
        EXPECT_TRUE(r.close);
        EXPECT_FALSE(r.reply.has_value());
    }

    // GET_FEATURES/SET_FEATURES/protocol features/SET_OWNER like QEMU does.
    void negotiate(bool protocol_features = true, bool reply_ack = true) {
        const uint64_t offered = reply_u64(call_empty(Request::get_features));
        // LOG_ALL is acked only while migrating (QEMU's vhost_dev_set_log).
        uint64_t features = offered & ~virtio::bit(kFeatureLogAll);
        if (!protocol_features) {
            features &= ~virtio::bit(kFeatureProtocolFeatures);
        }
        uint64_t protocol = Session::offered_protocol_features();
        if (!reply_ack) {
            protocol &= ~virtio::bit(protocol_feature::kReplyAck);
        }
        if (protocol_features) {
            auto r = call(make_request_with(Request::set_protocol_features, protocol));
            ASSERT_FALSE(r.close);
        }
        auto r = call(make_request(Request::set_owner));
        ASSERT_FALSE(r.close);
        r = call(make_request_with(Request::set_features, features));
        ASSERT_FALSE(r.close);
    }

    // SET_MEM_TABLE with one memfd region of kRamSize at gpa 0 / kUva.
    Session::Response set_memory(uint64_t uva = kUva) {
        MemoryTable table{};
        table.num_regions = 1;
        table.regions[0] = {0, kRamSize, uva, 0};
        std::vector<UniqueFd> fds;
        fds.push_back(make_memfd(kRamSize));
        return call(make_request(Request::set_mem_table,
                                 std::as_bytes(std::span(&table, 1)).first(8 + 32), std::move(fds),
                                 kVersion | kFlagNeedReply));
    }

    // SET_VRING_NUM/BASE/ADDR/CALL/KICK (+ ENABLE 1) for ring `i`.
    void setup_ring(uint16_t i, uint16_t base = 0, bool enable = true, bool kick_fd = true) {
        expect_ok(call_with(Request::set_vring_num, VringState{i, kQueueSize}));
        expect_ok(call_with(Request::set_vring_base, VringState{i, base}));
        expect_ok(call_with(Request::set_vring_addr,
                            VringAddr{i, 0, desc_uva(i), used_uva(i), avail_uva(i), 0}));
        std::vector<UniqueFd> call_fds;
        call_fds.push_back(std::move(*make_event_fd()));
        expect_ok(call_with(Request::set_vring_call, uint64_t{i}, std::move(call_fds)));
        if (kick_fd) {
            std::vector<UniqueFd> kick_fds;
            kick_fds.push_back(std::move(*make_event_fd()));
            expect_ok(call_with(Request::set_vring_kick, uint64_t{i}, std::move(kick_fds)));
        } else {
            expect_ok(call_with(Request::set_vring_kick, uint64_t{i} | kVringNoFd));
        }
        if (enable) {
            expect_ok(call_with(Request::set_vring_enable, VringState{i, 1}));
        }
    }

    // Host address of frontend-virtual `uva` in the session's current memory.
    uint8_t* host(uint64_t uva) {
        return static_cast<uint8_t*>(session->memory()->host_address_from_user(uva, 1));
    }
};

// True if `fd` is not an open descriptor.
inline bool fd_closed(int fd) {
    return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

}  // namespace vhostd::vhost_user::testing
