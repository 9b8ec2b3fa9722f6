// Session: memory hot-plug on running rings (ADD_MEM_REG / REM_MEM_REG): the rings take the
// new table without stopping; a removal is answered only once every ring is done with the old
// table; a removal that takes a running ring's own memory stops the rings as SET_MEM_TABLE does.
#include <gtest/gtest.h>

#include "support/session_fixture.hpp"

namespace vhostd::vhost_user {
namespace {

using testing::make_memfd;
using testing::make_request_with;

class SessionHotplugTest : public testing::SessionFixture {
  protected:
    static constexpr uint64_t kDimmGpa = 0x40000000;  // 1 GiB
    static constexpr uint64_t kDimmUva = kUva + 0x10000000;
    static constexpr uint64_t kDimmSize = 0x200000;

    static SingleMemoryRegion dimm() { return {0, {kDimmGpa, kDimmSize, kDimmUva, 0}}; }
    Message add_dimm() {
        std::vector<UniqueFd> fds;
        fds.push_back(make_memfd(kDimmSize));
        return make_request_with(Request::add_mem_reg, dimm(), std::move(fds),
                                 kVersion | kFlagNeedReply);
    }
    Message remove_dimm() {
        return make_request_with(Request::rem_mem_reg, dimm(), {}, kVersion | kFlagNeedReply);
    }
    void start_rings() {
        negotiate();
        expect_ok(set_memory());
        setup_ring(0);
        setup_ring(1);
        ASSERT_EQ(queues.running_count(), 2U);
    }
};

TEST_F(SessionHotplugTest, AddingARegionReachesRunningRingsWithoutStopping) {
    start_rings();
    expect_ok(call(add_dimm()));
    EXPECT_TRUE(queues.stops.empty());
    ASSERT_EQ(queues.updates.size(), 2U);
    EXPECT_FALSE(queues.updates[0].second);  // nothing to wait for
    EXPECT_EQ(session->memory()->regions().size(), 2U);
    EXPECT_EQ(queues.config(0).memory, session->memory());
    EXPECT_EQ(queues.config(1).memory, session->memory());
    EXPECT_EQ(queues.starts.size(), 2U);  // no restart
}

TEST_F(SessionHotplugTest, RemovalIsAnsweredOnceTheRingsLetGoOfTheOldTable) {
    start_rings();
    expect_ok(call(add_dimm()));
    const auto with_dimm = session->memory();
    queues.hold_updates = true;
    auto pending = send(remove_dimm());
    EXPECT_FALSE(pending->completed);  // requests into the DIMM may still be in flight
    ASSERT_EQ(queues.updates.size(), 4U);
    EXPECT_TRUE(queues.updates[2].second);
    EXPECT_TRUE(queues.updates[3].second);
    EXPECT_EQ(session->memory(), with_dimm);  // the session keeps the old table meanwhile
    queues.complete_updates();
    ASSERT_TRUE(pending->completed);
    expect_ok(pending->response);
    EXPECT_EQ(session->memory()->regions().size(), 1U);
    EXPECT_TRUE(queues.stops.empty());
    EXPECT_TRUE(queues.running(0));
    EXPECT_TRUE(queues.running(1));
}

TEST_F(SessionHotplugTest, RemovingARingsMemoryStopsTheRings) {
    start_rings();
    expect_ok(call(add_dimm()));
    // The rings live in the first region; removing it is SET_MEM_TABLE's way: stop, swap, and
    // the rings wait for memory that has them.
    auto pending =
        send(make_request_with(Request::rem_mem_reg, SingleMemoryRegion{0, {0, kRamSize, kUva, 0}},
                               {}, kVersion | kFlagNeedReply));
    EXPECT_FALSE(pending->completed);
    queues.complete_stops();
    ASSERT_TRUE(pending->completed);
    expect_ok(pending->response);
    EXPECT_EQ(queues.stops.size(), 2U);
    EXPECT_EQ(queues.running_count(), 0U);
    EXPECT_EQ(session->memory()->regions().size(), 1U);
}

TEST_F(SessionHotplugTest, WithoutRunningRingsTheTableChangesAtOnce) {
    negotiate();
    expect_ok(set_memory());
    expect_ok(call(add_dimm()));
    expect_ok(call(remove_dimm()));
    EXPECT_TRUE(queues.updates.empty());
    EXPECT_EQ(session->memory()->regions().size(), 1U);
}

}  // namespace
}  // namespace vhostd::vhost_user
