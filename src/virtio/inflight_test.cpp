// Inflight tracking: a device crash at every store of the recording protocol (simulated by
// snapshots of the region and the ring just before and after each store) recovers to a state
// in which every request the driver submitted is exactly once either completed (visible to
// the driver), resubmitted, or still to be fetched from the ring; and corrupt regions are
// refused.
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "spec/vhost_user_inflight.hpp"
#include "support/fake_driver.hpp"
#include "support/fake_packed_driver.hpp"
#include "virtio/inflight_packed.hpp"
#include "virtio/inflight_region.hpp"
#include "virtio/inflight_split.hpp"
#include "virtio/inflight_store.hpp"
#include "virtio/packed_queue.hpp"
#include "virtio/split_queue.hpp"

namespace vhostd::virtio {
namespace {

namespace layout = vhost_user::inflight;
using testing::FakeDriver;
using testing::FakePackedDriver;

constexpr ChainLimits kLimits{.max_descriptors = 16, .max_total_bytes = 1 << 20};

// Region memory the test owns (8-byte aligned), for InflightRegion::borrow.
struct RegionMemory {
    std::vector<uint64_t> words;
    RegionMemory(InflightLayout l, uint16_t queue_size)
        : words(InflightRegion::queue_bytes(l, queue_size) / 8) {}
    [[nodiscard]] uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words.data()); }
    [[nodiscard]] size_t size() const { return words.size() * 8; }
};

InflightSlot borrow_slot(InflightLayout l, RegionMemory& memory, uint16_t queue_size) {
    auto region = InflightRegion::borrow(l, memory.bytes(), 1, queue_size);
    EXPECT_TRUE(region.has_value()) << region.error().describe();
    return InflightSlot{std::move(*region), 0};
}

// Records (region, ring) at every crash point of the protocol.
class CrashRecorder : public inflight_store::StoreObserver {
  public:
    struct Point {
        std::vector<uint8_t> region;
        std::vector<uint8_t> ring;
    };

    CrashRecorder(std::span<const uint8_t> region, std::span<const uint8_t> ring)
        : region_(region), ring_(ring) {
        inflight_store::observer = this;
    }
    ~CrashRecorder() override { stop(); }
    void stop() {
        if (inflight_store::observer == this) {
            inflight_store::observer = nullptr;
        }
    }
    void crash_point() noexcept override {
        points.push_back(Point{{region_.begin(), region_.end()}, {ring_.begin(), ring_.end()}});
    }

    std::vector<Point> points;

  private:
    std::span<const uint8_t> region_;
    std::span<const uint8_t> ring_;
};

// Every submitted request exactly once: completed, resubmitted, or still in the ring.
void expect_exactly_once(const std::vector<uint16_t>& submitted,
                         const std::vector<uint16_t>& completed,
                         std::span<const uint16_t> resubmitted,
                         const std::vector<uint16_t>& still_in_ring) {
    std::map<uint16_t, int> seen;
    for (uint16_t h : completed) {
        ++seen[h];
    }
    for (uint16_t h : resubmitted) {
        ++seen[h];
    }
    for (uint16_t h : still_in_ring) {
        ++seen[h];
    }
    for (uint16_t h : submitted) {
        EXPECT_EQ(seen[h], 1) << "request " << h;
        seen.erase(h);
    }
    EXPECT_TRUE(seen.empty()) << "requests nobody submitted";
}

// --- split ---

class SplitCrash : public ::testing::Test {
  protected:
    static constexpr uint16_t kSize = 8;

    FakeDriver d{kSize};
    RegionMemory memory{InflightLayout::split, kSize};
    InflightSlot slot = borrow_slot(InflightLayout::split, memory, kSize);

    SplitQueue make_queue(uint16_t base) {
        return SplitQueue(d.ring(), *d.memory(),
                          SplitQueue::Options{.last_avail_idx = base, .inflight = slot});
    }
    uint16_t submit() { return d.submit({{d.alloc(4), 4, true}}); }
    std::span<const uint8_t> used_ring() {
        return {static_cast<const uint8_t*>(d.ring().used), 4 + 8 * kSize + 2};
    }
    // Takes up to `n` heads and walks them, as the queue engine does.
    std::vector<uint16_t> take(SplitQueue& q, size_t n) {
        std::vector<uint32_t> slots(n);
        slots.resize(q.take(slots));
        std::vector<uint16_t> heads;
        std::array<iovec, 4> iov{};
        for (uint32_t s : slots) {
            EXPECT_EQ(q.walk(static_cast<uint16_t>(s), kLimits, iov).error, ChainError::none);
            heads.push_back(static_cast<uint16_t>(s));
        }
        return heads;
    }
};

TEST_F(SplitCrash, EveryCrashPointRecoversEachRequestExactlyOnce) {
    SplitQueue q = make_queue(0);
    // Phase 1, not recorded: three requests through, so indices are not all zero.
    for (int i = 0; i < 3; ++i) {
        submit();
    }
    for (uint16_t h : take(q, 8)) {
        q.push_used(h, 1);
    }
    (void)q.publish_used();
    const uint16_t used_start = d.used_idx();
    const uint16_t avail_start = q.last_avail_idx();

    // Phase 2: six requests, completed out of order in three batches; one stays in flight.
    std::vector<uint16_t> submitted;
    for (int i = 0; i < 6; ++i) {
        submitted.push_back(submit());
    }
    CrashRecorder recorder({memory.bytes(), memory.size()}, used_ring());
    auto first = take(q, 3);
    q.push_used(first[1], 1);
    q.push_used(first[0], 1);
    (void)q.publish_used();
    auto second = take(q, 3);
    q.push_used(second[2], 1);
    q.push_used(first[2], 1);
    (void)q.publish_used();
    q.push_used(second[0], 1);
    (void)q.publish_used();
    recorder.crash_point();  // the end state
    recorder.stop();
    ASSERT_GT(recorder.points.size(), 30U);

    for (size_t p = 0; p < recorder.points.size(); ++p) {
        SCOPED_TRACE(p);
        CrashRecorder::Point& point = recorder.points[p];
        // The restarted device: a copy of the region, the ring's used index as it was.
        RegionMemory copy{InflightLayout::split, kSize};
        std::memcpy(copy.bytes(), point.region.data(), copy.size());
        uint16_t used_idx;
        std::memcpy(&used_idx, point.ring.data() + 2, 2);
        // QEMU sends used->idx as the base after a crash.
        auto t = SplitInflight::attach(borrow_slot(InflightLayout::split, copy, kSize), kSize,
                                       used_idx, used_idx);
        ASSERT_TRUE(t.has_value()) << t.error().describe();
        std::vector<uint16_t> completed;
        for (uint16_t u = used_start; u != used_idx; ++u) {
            uint32_t id;
            std::memcpy(&id, point.ring.data() + 4 + 8 * (u % kSize), 4);
            completed.push_back(static_cast<uint16_t>(id));
        }
        std::vector<uint16_t> still_in_ring;
        const auto from = static_cast<uint16_t>((*t)->last_avail_idx() - avail_start);
        ASSERT_LE(from, submitted.size());
        still_in_ring.assign(submitted.begin() + from, submitted.end());
        expect_exactly_once(submitted, completed, (*t)->resubmit(), still_in_ring);
    }
    // At the end only second[1] is in flight.
    const auto end = SplitInflight::attach(slot, kSize, d.used_idx(), d.used_idx());
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(std::vector<uint16_t>((*end)->resubmit().begin(), (*end)->resubmit().end()),
              std::vector<uint16_t>{second[1]});
}

TEST_F(SplitCrash, RestartedQueueResubmitsInFetchOrderBeforeNewRequests) {
    const uint16_t a = submit();
    const uint16_t b = submit();
    const uint16_t c = submit();
    {
        SplitQueue q = make_queue(0);
        ASSERT_EQ(take(q, 3).size(), 3U);
        q.push_used(b, 1);
        (void)q.publish_used();
        // Crash: a and c in flight.
    }
    const uint16_t e = submit();
    SplitQueue restarted = make_queue(/*QEMU's base: used->idx=*/1);
    EXPECT_EQ(restarted.last_avail_idx(), 3);
    EXPECT_EQ(take(restarted, 8), (std::vector<uint16_t>{a, c, e}));
    // A clean stop leaves nothing to resubmit.
    for (uint16_t h : {a, c, e}) {
        restarted.push_used(h, 1);
    }
    (void)restarted.publish_used();
    SplitQueue again = make_queue(restarted.last_avail_idx());
    EXPECT_TRUE(take(again, 8).empty());
    EXPECT_FALSE(again.broken());
}

TEST_F(SplitCrash, HeadOfferedAgainWhileInFlightBreaksTheRing) {
    const uint16_t a = submit();
    SplitQueue q = make_queue(0);
    ASSERT_EQ(take(q, 1).size(), 1U);
    d.push_avail(a);
    EXPECT_TRUE(take(q, 1).empty());
    EXPECT_TRUE(q.broken());
}

// --- packed ---

class PackedCrash : public ::testing::Test {
  protected:
    static constexpr uint16_t kSize = 8;

    FakePackedDriver d{kSize};
    RegionMemory memory{InflightLayout::packed, kSize};
    InflightSlot slot = borrow_slot(InflightLayout::packed, memory, kSize);
    std::map<uint16_t, uint16_t> slots_of;  // buffer ID -> ring descriptors of its list

    PackedQueue make_queue(PackedBase base = {}) {
        return PackedQueue(d.ring(), *d.memory(),
                           PackedQueue::Options{.base = base, .inflight = slot});
    }
    uint16_t submit(uint16_t descriptors) {
        std::vector<testing::Segment> list;
        for (uint16_t k = 0; k < descriptors; ++k) {
            list.push_back({d.alloc(4), 4, k + 1 == descriptors});
        }
        const uint16_t id = d.submit(list);
        slots_of[id] = descriptors;
        return id;
    }
    std::span<const uint8_t> desc_ring() {
        return {static_cast<const uint8_t*>(d.ring().desc), sizeof(PackedDesc) * kSize};
    }
    std::vector<uint16_t> take(PackedQueue& q, size_t n) {
        std::vector<uint32_t> slots(n);
        slots.resize(q.take(slots));
        std::vector<uint16_t> ids;
        std::array<iovec, 8> iov{};
        for (uint32_t s : slots) {
            EXPECT_EQ(q.walk(static_cast<uint16_t>(s), kLimits, iov).error, ChainError::none);
            ids.push_back(static_cast<uint16_t>(s));
        }
        return ids;
    }
};

TEST_F(PackedCrash, EveryCrashPointRecoversEachRequestExactlyOnce) {
    PackedQueue q = make_queue();
    // Phase 1, not recorded: six slots through, so phase 2 wraps around the ring's end.
    submit(2);
    submit(3);
    submit(1);
    for (uint16_t id : take(q, 8)) {
        q.push_used(id, 1);
    }
    (void)q.publish_used();
    while (d.pop_used()) {
    }
    const PackedPosition start{d.driver().next_used().index, d.driver().next_used().wrap};
    ASSERT_EQ(start, (PackedPosition{6, true}));

    // Phase 2: six lists (eight slots), completed out of order in three batches.
    std::vector<uint16_t> submitted;
    std::vector<PackedPosition> position;  // of each list's first slot
    PackedPosition at = start;
    for (uint16_t len : {1, 2, 1, 2, 1, 1}) {
        position.push_back(at);
        submitted.push_back(submit(len));
        at = at.advanced(len, kSize);
    }
    CrashRecorder recorder({memory.bytes(), memory.size()}, desc_ring());
    auto first = take(q, 3);
    q.push_used(first[1], 1);
    q.push_used(first[0], 0);
    (void)q.publish_used();
    auto second = take(q, 3);
    q.push_used(second[2], 1);
    q.push_used(first[2], 1);
    (void)q.publish_used();
    q.push_used(second[0], 1);
    (void)q.publish_used();
    recorder.crash_point();
    recorder.stop();
    ASSERT_GT(recorder.points.size(), 60U);

    for (size_t p = 0; p < recorder.points.size(); ++p) {
        SCOPED_TRACE(p);
        CrashRecorder::Point& point = recorder.points[p];
        RegionMemory copy{InflightLayout::packed, kSize};
        std::memcpy(copy.bytes(), point.region.data(), copy.size());
        std::array<PackedDesc, kSize> ring{};
        std::memcpy(ring.data(), point.ring.data(), sizeof(ring));
        // QEMU cannot read a packed ring's position back after a crash: it sends what it had
        // set last (here: where phase 1 started).
        auto t = PackedInflight::attach(borrow_slot(InflightLayout::packed, copy, kSize), kSize,
                                        ring.data(), PackedBase{});
        ASSERT_TRUE(t.has_value()) << t.error().describe();
        // What the driver sees: used descriptors from where it stood.
        std::vector<uint16_t> completed;
        PackedPosition driver = start;
        for (;;) {
            const PackedDesc& u = ring[driver.index];
            const bool used = ((u.flags & desc_flags::kAvail) != 0) == driver.wrap &&
                              ((u.flags & desc_flags::kUsed) != 0) == driver.wrap;
            if (!used) {
                break;
            }
            completed.push_back(u.id);
            driver = driver.advanced(slots_of[u.id], kSize);
        }
        const PackedBase base = (*t)->base();
        // The device writes its next used descriptor where the driver looks for it...
        EXPECT_EQ(base.used, driver);
        // ...and fetches again from a list boundary.
        const auto it = std::find(position.begin(), position.end(), base.avail);
        ASSERT_TRUE(it != position.end() || base.avail == at);
        std::vector<uint16_t> still_in_ring(submitted.begin() + (it - position.begin()),
                                            submitted.end());
        std::vector<uint16_t> resubmitted;
        for (const auto& r : (*t)->resubmit()) {
            resubmitted.push_back(r.id);
            EXPECT_EQ(r.num, slots_of[r.id]);
        }
        expect_exactly_once(submitted, completed, resubmitted, still_in_ring);
    }
}

TEST_F(PackedCrash, RestartedQueueResubmitsFromTheRegionsCopiesAtTheRightPosition) {
    const uint16_t a = submit(2);
    const uint16_t b = submit(1);
    const uint16_t c = submit(3);
    std::array<iovec, 8> iov{};
    {
        PackedQueue q = make_queue();
        ASSERT_EQ(take(q, 8).size(), 3U);
        q.push_used(b, 1);  // written over a's first slot
        (void)q.publish_used();
    }
    // The driver sees b; the device restarts from a stale base (QEMU's) and the region.
    ASSERT_EQ(d.pop_used()->head, b);
    const uint16_t e = submit(1);
    PackedQueue restarted = make_queue(PackedBase{});
    ASSERT_FALSE(restarted.broken()) << restarted.broken_reason();
    EXPECT_EQ(restarted.used_position(), (PackedPosition{1, true}));
    EXPECT_EQ(restarted.avail_position(), (PackedPosition{6, true}));  // 1 + a's 2 + c's 3
    EXPECT_EQ(take(restarted, 8), (std::vector<uint16_t>{a, c, e}));
    const DescriptorChain chain = restarted.walk(c, kLimits, iov);
    EXPECT_EQ(chain.descriptors, 3U);
    EXPECT_EQ(chain.writable_bytes, 4U);
    for (uint16_t id : {c, a, e}) {
        restarted.push_used(id, 1);
    }
    (void)restarted.publish_used();
    std::vector<uint16_t> got;
    while (auto u = d.pop_used()) {
        got.push_back(u->head);
    }
    EXPECT_EQ(got, (std::vector<uint16_t>{c, a, e}));
}

// A device killed between a batch's later used descriptors and its first one's flags left the
// later ones marked used. After the restart the batch's first slot is published for whichever
// buffer completes first, and the driver moves on to the next slot: a stale used descriptor
// there would complete a buffer that is still in flight.
TEST_F(PackedCrash, StaleUsedDescriptorsOfAnUnpublishedBatchAreNeverSeen) {
    const uint16_t a = submit(1);
    const uint16_t b = submit(1);
    const uint16_t c = submit(1);
    {
        PackedQueue q = make_queue();
        ASSERT_EQ(take(q, 8).size(), 3U);
        q.push_used(b, 1);  // slot 0, withheld until the batch publishes
        q.push_used(c, 1);  // slot 1, its flags written: then the device dies
    }
    EXPECT_FALSE(d.pop_used().has_value());
    PackedQueue restarted = make_queue(PackedBase{});
    ASSERT_FALSE(restarted.broken()) << restarted.broken_reason();
    EXPECT_EQ(take(restarted, 8), (std::vector<uint16_t>{a, b, c}));
    restarted.push_used(a, 1);  // slot 0: the driver looks at slot 1 next
    (void)restarted.publish_used();
    ASSERT_EQ(d.pop_used()->head, a);
    EXPECT_FALSE(d.pop_used().has_value()) << "a stale used descriptor was seen";
    restarted.push_used(c, 1);
    restarted.push_used(b, 1);
    (void)restarted.publish_used();
    std::vector<uint16_t> got;
    while (auto u = d.pop_used()) {
        got.push_back(u->head);
    }
    EXPECT_EQ(got, (std::vector<uint16_t>{c, b}));
}

// --- corrupt regions ---

struct SplitImage {
    layout::SplitHeader header{0, layout::kVersion, 8, 0, 0};
    std::array<layout::SplitDesc, 8> desc{};
};

Result<std::unique_ptr<SplitInflight>> attach_split(const SplitImage& image, uint16_t used_idx) {
    static RegionMemory memory{InflightLayout::split, 8};
    std::memcpy(memory.bytes(), &image, sizeof(image));
    auto region = InflightRegion::borrow(InflightLayout::split, memory.bytes(), 1, 8);
    if (!region) {
        return std::unexpected(region.error());
    }
    return SplitInflight::attach(InflightSlot{*region, 0}, 8, used_idx, 0);
}

TEST(InflightSplitRegion, CorruptSlicesAreRefused) {
    SplitImage ok;
    ok.desc[3].inflight = 1;
    ok.desc[3].counter = 5;
    ASSERT_TRUE(attach_split(ok, 0).has_value());

    SplitImage bad = ok;
    bad.desc[2].inflight = 2;  // not a flag
    EXPECT_FALSE(attach_split(bad, 0).has_value());
    bad = ok;
    bad.desc[4] = {1, {}, 0, 5};  // two heads with one counter: no order
    EXPECT_FALSE(attach_split(bad, 0).has_value());
    // used->idx ahead of the slice by more than a queue, or a last batch list that leaves
    // the table or loops.
    EXPECT_FALSE(attach_split(ok, 9).has_value());
    bad = ok;
    bad.header.last_batch_head = 8;
    EXPECT_FALSE(attach_split(bad, 1).has_value());
    bad = ok;
    bad.header.last_batch_head = 3;
    bad.desc[3].next = 3;
    EXPECT_FALSE(attach_split(bad, 2).has_value());
    // Unknown version, wrong entry count: refused by the region itself.
    bad = ok;
    bad.header.version = 2;
    EXPECT_FALSE(attach_split(bad, 0).has_value());
    bad = ok;
    bad.header.desc_num = 16;
    EXPECT_FALSE(attach_split(bad, 0).has_value());
}

TEST(InflightSplitRegion, PublishedButUnclearedBatchIsCleared) {
    SplitImage image;
    // Heads 1 and 6 were in the last batch (6 last), published (used->idx 2) but not cleared.
    image.desc[1] = {1, {}, 0, 10};
    image.desc[6] = {1, {}, 1, 11};
    image.desc[2] = {1, {}, 0, 12};  // still in flight
    image.header.last_batch_head = 6;
    auto t = attach_split(image, 2);
    ASSERT_TRUE(t.has_value()) << t.error().describe();
    EXPECT_EQ(std::vector<uint16_t>((*t)->resubmit().begin(), (*t)->resubmit().end()),
              std::vector<uint16_t>{2});
    EXPECT_EQ((*t)->last_avail_idx(), 3);
}

struct PackedImage {
    layout::PackedHeader header{0, layout::kVersion, 8, 0, 0, 0, 0, 1, 1, {}};
    std::array<layout::PackedDesc, 8> desc{};

    PackedImage() {
        for (uint16_t i = 0; i < 8; ++i) {
            desc[i].next = static_cast<uint16_t>(i + 1);
        }
    }
    // A buffer in flight: entries `entries` (a list), buffer ID `id`, fetch counter.
    void in_flight(std::vector<uint16_t> entries, uint16_t id, uint64_t counter) {
        const uint16_t head = entries.front();
        desc[head].inflight = 1;
        desc[head].num = static_cast<uint16_t>(entries.size());
        desc[head].counter = counter;
        desc[head].last = entries.back();
        for (size_t k = 0; k < entries.size(); ++k) {
            auto& e = desc[entries[k]];
            e.id = id;
            e.flags = k + 1 < entries.size() ? desc_flags::kNext : desc_flags::kWrite;
            e.addr = 0x1000;
            e.len = 4;
            if (k + 1 < entries.size()) {
                e.next = entries[k + 1];
            }
        }
    }
};

Result<std::unique_ptr<PackedInflight>> attach_packed(const PackedImage& image) {
    static RegionMemory memory{InflightLayout::packed, 8};
    std::memcpy(memory.bytes(), &image, sizeof(image));
    auto region = InflightRegion::borrow(InflightLayout::packed, memory.bytes(), 1, 8);
    if (!region) {
        return std::unexpected(region.error());
    }
    static std::array<PackedDesc, 8> ring{};  // zeroed: nothing made available
    return PackedInflight::attach(InflightSlot{*region, 0}, 8, ring.data(), PackedBase{});
}

PackedImage two_in_flight() {
    PackedImage image;
    image.in_flight({0, 1}, 5, 1);
    image.in_flight({2}, 6, 2);
    image.header.free_head = image.header.old_free_head = 3;
    return image;
}

TEST(InflightPackedRegion, ValidSliceResubmitsInCounterOrder) {
    PackedImage image = two_in_flight();
    std::swap(image.desc[0].counter, image.desc[2].counter);
    auto t = attach_packed(image);
    ASSERT_TRUE(t.has_value()) << t.error().describe();
    ASSERT_EQ((*t)->resubmit().size(), 2U);
    EXPECT_EQ((*t)->resubmit()[0].id, 6);
    EXPECT_EQ((*t)->resubmit()[1].id, 5);
    EXPECT_EQ((*t)->base().avail, (PackedPosition{3, true}));
}

TEST(InflightPackedRegion, CorruptSlicesAreRefused) {
    ASSERT_TRUE(attach_packed(two_in_flight()).has_value());
    auto refused = [](const char* what, auto edit) {
        PackedImage image = two_in_flight();
        edit(image);
        EXPECT_FALSE(attach_packed(image).has_value()) << what;
    };
    refused("free head beyond the list end", [](PackedImage& i) { i.header.old_free_head = 9; });
    refused("used slot outside the ring", [](PackedImage& i) { i.header.old_used_idx = 8; });
    refused("wrap counter not a bit", [](PackedImage& i) { i.header.old_used_wrap_counter = 2; });
    refused("inflight flag not a bit", [](PackedImage& i) { i.desc[1].inflight = 3; });
    refused("empty list", [](PackedImage& i) { i.desc[0].num = 0; });
    refused("list longer than the queue", [](PackedImage& i) { i.desc[0].num = 9; });
    refused("list ends elsewhere", [](PackedImage& i) { i.desc[0].last = 0; });
    refused("link out of the table", [](PackedImage& i) { i.desc[0].next = 8; });
    refused("entry shared by two lists", [](PackedImage& i) { i.desc[0].next = 2; });
    refused("NEXT flags disagree", [](PackedImage& i) { i.desc[1].flags = desc_flags::kNext; });
    refused("buffer ID out of range", [](PackedImage& i) { i.desc[2].id = 8; });
    refused("buffer ID twice", [](PackedImage& i) { i.desc[2].id = 5; });
    refused("two lists with one counter", [](PackedImage& i) { i.desc[2].counter = 1; });
    refused("unknown version", [](PackedImage& i) { i.header.version = 7; });
    // A list whose entry is also on the free list is not intact.
    refused("entry on the free list", [](PackedImage& i) {
        i.header.old_free_head = 1;
        i.desc[1].next = 3;
    });
}

TEST(InflightPackedRegion, HalfRecordedListIsRolledBack) {
    PackedImage image = two_in_flight();
    // A third list was being recorded at entry 3 (old_free_head) when the device stopped.
    image.desc[3].inflight = 1;
    image.desc[3].num = 1;
    image.desc[3].counter = 3;
    image.header.free_head = 4;
    auto t = attach_packed(image);
    ASSERT_TRUE(t.has_value()) << t.error().describe();
    EXPECT_EQ((*t)->resubmit().size(), 2U);
    EXPECT_EQ((*t)->base().avail, (PackedPosition{3, true}));
}

TEST(InflightRegionTest, CreatedRegionIsSealedAndAdoptableAndChecksItsGeometry) {
    auto region = InflightRegion::create(InflightLayout::packed, 2, 100);
    ASSERT_TRUE(region.has_value()) << region.error().describe();
    EXPECT_TRUE((*region)->sealed());
    EXPECT_EQ((*region)->mmap_size(), 2 * layout::packed_queue_region_bytes(100));
    EXPECT_EQ(layout::packed_queue_region_bytes(100) % 64, 0U);
    const int fd = (*region)->fd();
    auto again = InflightRegion::adopt(InflightLayout::packed, UniqueFd(::dup(fd)),
                                       (*region)->mmap_size(), 0, 2, 100);
    EXPECT_TRUE(again.has_value());
    // Sizes that do not match the geometry, an unaligned offset, a file too short.
    EXPECT_FALSE(InflightRegion::adopt(InflightLayout::split, UniqueFd(::dup(fd)),
                                       (*region)->mmap_size(), 0, 2, 100));
    EXPECT_FALSE(InflightRegion::adopt(InflightLayout::packed, UniqueFd(::dup(fd)),
                                       (*region)->mmap_size(), 8, 2, 100));
    EXPECT_FALSE(InflightRegion::adopt(InflightLayout::packed, UniqueFd(::dup(fd)),
                                       (*region)->mmap_size(), 64, 2, 100));
    EXPECT_FALSE(InflightRegion::create(InflightLayout::split, 0, 8));
    EXPECT_FALSE(InflightRegion::create(InflightLayout::split, 1, 0));
}

}  // namespace
}  // namespace vhostd::virtio
