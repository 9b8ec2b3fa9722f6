// Null bdev: everything succeeds, later, and reads leave the buffers untouched.
#include "block/backends/null/null_bdev.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "block/bdev_subscription.hpp"
#include "support/block_io.hpp"

namespace vhostd::block {
namespace {

TEST(NullBdev, CompletesEverythingWithoutTouchingData) {
    auto bdev = bdev_null_create({"Null0", 1024, 4096, {}});
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    EXPECT_EQ((*bdev)->product_name(), "Null disk");
    EXPECT_EQ((*bdev)->size_bytes(), 1024U * 4096);
    testing::Harness h(**bdev);

    testing::AlignedBuffer buf(8 * 4096);
    buf.fill_pattern(5);
    std::vector<uint8_t> before(buf.data, buf.data + buf.size);
    auto iov = testing::split(buf.data, buf.size, {4096, 3 * 4096});
    EXPECT_EQ(h.rw(IoType::write, 0, iov), IoStatus::success);
    EXPECT_EQ(h.rw(IoType::read, 8 * 4096, iov), IoStatus::success);
    EXPECT_TRUE(std::equal(before.begin(), before.end(), buf.data));  // untouched
    EXPECT_EQ(h.range(IoType::flush, 0, 0), IoStatus::success);
    EXPECT_EQ(h.range(IoType::discard, 0, 4096 * 1024), IoStatus::success);
    EXPECT_EQ(h.range(IoType::write_zeroes, 4096, 4096, true), IoStatus::success);
    EXPECT_EQ(h.range(IoType::write_zeroes, 4096 * 1024, 4096), IoStatus::io_error);  // past end
    EXPECT_EQ(h.recorder.inline_completions, 0);
}

TEST(NullBdev, ManyRequestsInFlightAllCompleteOnce) {
    auto bdev = bdev_null_create({"Null0", 1 << 20, 512, {}});
    ASSERT_TRUE(bdev.has_value());
    testing::Harness h(**bdev);
    std::vector<IoRequest> reqs(5000);
    for (size_t i = 0; i < reqs.size(); ++i) {
        reqs[i].type = IoType::write_zeroes;
        reqs[i].offset = i * 512;
        reqs[i].length = 512;
        h.submit(reqs[i]);
    }
    EXPECT_EQ(h.recorder.completed, 0U);
    h.reactor->run_once();
    EXPECT_EQ(h.recorder.completed, reqs.size());
    h.reactor->run_once();
    EXPECT_EQ(h.recorder.completed, reqs.size());  // exactly once
}

TEST(NullBdev, GrowsAndTellsListenersAndChannels) {
    auto bdev = bdev_null_create({"Null0", 2048, 512, {}});  // 1 MiB
    ASSERT_TRUE(bdev.has_value());
    Bdev& b = **bdev;
    testing::Harness h(b);  // a channel created before the resize
    int heard = 0;
    uint64_t seen = 0;
    const uint64_t token = b.add_listener([&](Bdev& resized, BdevEvent) {
        ++heard;
        seen = resized.num_blocks();
    });
    EXPECT_EQ(h.range(IoType::write_zeroes, 1 << 20, 4096), IoStatus::io_error);  // past end

    ASSERT_TRUE(bdev_null_resize(b, 3).has_value());
    EXPECT_EQ(b.num_blocks(), 3U * 2048);
    EXPECT_EQ(heard, 1);
    EXPECT_EQ(seen, 3U * 2048);
    EXPECT_EQ(h.range(IoType::write_zeroes, 1 << 20, 4096), IoStatus::success);  // now inside

    ASSERT_TRUE(bdev_null_resize(b, 3).has_value());  // same size: nobody is told
    EXPECT_EQ(heard, 1);
    EXPECT_EQ(bdev_null_resize(b, 2).error().code, EINVAL);           // never shrinks (SPDK's rule)
    EXPECT_EQ(bdev_null_resize(b, UINT64_MAX).error().code, EINVAL);  // overflow
    EXPECT_EQ(b.num_blocks(), 3U * 2048);

    b.remove_listener(token);
    ASSERT_TRUE(bdev_null_resize(b, 4).has_value());
    EXPECT_EQ(heard, 1);
}

TEST(NullBdev, ListenersMayRemoveThemselvesWhileBeingTold) {
    auto bdev = bdev_null_create({"Null0", 2048, 512, {}});
    ASSERT_TRUE(bdev.has_value());
    Bdev& b = **bdev;
    int first = 0;
    int second = 0;
    uint64_t token = 0;
    token = b.add_listener([&](Bdev&, BdevEvent) {
        ++first;
        b.remove_listener(token);
    });
    (void)b.add_listener([&](Bdev&, BdevEvent) { ++second; });
    ASSERT_TRUE(bdev_null_resize(b, 2).has_value());
    ASSERT_TRUE(bdev_null_resize(b, 3).has_value());
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 2);
}

TEST(NullBdev, BdevSubscriptionListensExactlyWhileItLives) {
    auto created = bdev_null_create({"Null0", 2048, 512, {}});
    ASSERT_TRUE(created.has_value());
    std::shared_ptr<Bdev> bdev = *created;
    int heard = 0;
    BdevSubscription moved_to;
    {
        BdevSubscription sub(bdev, [&](Bdev&, BdevEvent) { ++heard; });
        ASSERT_TRUE(bdev_null_resize(*bdev, 2).has_value());
        EXPECT_EQ(heard, 1);
        moved_to = std::move(sub);
    }  // the moved-from subscription registers nothing
    ASSERT_TRUE(bdev_null_resize(*bdev, 3).has_value());
    EXPECT_EQ(heard, 2);
    moved_to.reset();
    ASSERT_TRUE(bdev_null_resize(*bdev, 4).has_value());
    EXPECT_EQ(heard, 2);
}

TEST(NullBdev, RefusesBadParametersAndDescribesItself) {
    EXPECT_EQ(bdev_null_create({"Null0", 0, 512, {}}).error().message,
              "bdev Null0: num_blocks must be greater than 0");
    EXPECT_EQ(bdev_null_create({"Null0", 8, 3000, {}}).error().message,
              "bdev Null0: block_size 3000 must be a power of two from 512 to 65536");
    EXPECT_FALSE(bdev_null_create({"bad name", 8, 512, {}}).has_value());
    auto bdev = bdev_null_create({"Null0", 8, 512, "01234567-89AB-4DEF-8123-0123456789AB"});
    ASSERT_TRUE(bdev.has_value());
    nlohmann::json info = (*bdev)->driver_specific();
    EXPECT_EQ(info["null"]["num_blocks"], 8);
    EXPECT_EQ(info["null"]["block_size"], 512);
    EXPECT_EQ(info["null"]["uuid"], "01234567-89ab-4def-8123-0123456789ab");
}

}  // namespace
}  // namespace vhostd::block
