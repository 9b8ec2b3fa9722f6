// TargetChannel: deferred completion, unknown LUNs, attach/detach.
#include "scsi/target_channel.hpp"

#include <gtest/gtest.h>

#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

TEST(TargetChannel, UnknownLunIsNotSupported) {
    Harness h;
    Task t = h.command({0x00, 0, 0, 0, 0, 0}, 5);  // TEST UNIT READY
    EXPECT_EQ(t.status, status::check_condition);
    EXPECT_EQ(sense_of(t), sense::lun_not_supported);
}

TEST(TargetChannel, AttachTwiceFails) {
    Harness h;
    auto unit = h.target.find(0);
    ASSERT_TRUE(unit);
    EXPECT_FALSE(h.channel->attach(unit).has_value());
}

TEST(TargetChannel, DetachRunsDoneLater) {
    Harness h;
    bool done = false;
    h.channel->detach(0, [&] { done = true; });
    EXPECT_FALSE(done);
    EXPECT_FALSE(h.channel->has_lun(0));
    EXPECT_TRUE(h.run_until([&] { return done; }));
}

}  // namespace
}  // namespace vhostd::scsi
