// ReactorGroup: one reactor per core, pinned, selectable by mask.
#include "reactor/reactor_group.hpp"

#include <gtest/gtest.h>
#include <sched.h>

namespace vhostd::reactor {
namespace {

TEST(ReactorGroup, CreatesOneReactorPerCoreAndPinsThem) {
    auto group = ReactorGroup::create(CpuMask::single(0), ReactorOptions{});
    ASSERT_TRUE(group.has_value());
    (*group)->start();
    int cpu = -1;
    run_sync((*group)->at(0), [&] { cpu = sched_getcpu(); });
    EXPECT_EQ(cpu, 0);
    EXPECT_EQ((*group)->on_core(0), &(*group)->at(0));
    EXPECT_EQ((*group)->on_core(1), nullptr);
    EXPECT_EQ((*group)->select(CpuMask::single(0)).size(), 1U);
    (*group)->stop();
}

TEST(ReactorGroup, RejectsEmptyMask) {
    EXPECT_FALSE(ReactorGroup::create(CpuMask{}, ReactorOptions{}).has_value());
}

}  // namespace
}  // namespace vhostd::reactor
