// NvmeQueuePair and the doorbell rules, with the test playing the controller on the queues'
// memory: SQ entries and PRPs, CIDs, the phase tag across wraps, batching of the CQ head
// doorbell, refusal of completions that break the protocol, and the shadow doorbell /
// EventIdx rule (which writes it skips, which it makes).
#include "frontend/nvme_queue_pair.hpp"

#include <array>
#include <cstring>

#include <gtest/gtest.h>

namespace vhostd::frontend {
namespace {

using namespace nvme_spec;

constexpr uint32_t kPage = 4096;

class NvmeQueuePairTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto ram = GuestRam::create(uint64_t{4} << 20, 0x100000);
        ASSERT_TRUE(ram);
        ram_.emplace(std::move(*ram));
    }

    NvmeQueuePair make(uint32_t entries, uint16_t qid = 1) {
        auto q = NvmeQueuePair::create(*ram_, qid, entries, doorbells_, kPage);
        EXPECT_TRUE(q);
        return std::move(*q);
    }
    Command sqe(const NvmeQueuePair& q, uint32_t index) const {
        Command c;
        std::memcpy(&c, ram_->host(q.sq_gpa() + uint64_t{index} * kSqEntrySize), sizeof(c));
        return c;
    }
    // Posts a CQE as a controller would, with `phase`.
    void complete(const NvmeQueuePair& q, uint32_t index, uint16_t cid, bool phase,
                  uint16_t status = 0, uint16_t sqid = 0, uint16_t sq_head = 0) const {
        Completion c{};
        c.sq_id = sqid != 0 ? sqid : q.qid();
        c.sq_head = sq_head;
        c.cid = cid;
        c.status = static_cast<uint16_t>((status << 1) | (phase ? 1 : 0));
        std::memcpy(ram_->host(q.cq_gpa() + uint64_t{index} * kCqEntrySize), &c, sizeof(c));
    }

    std::optional<GuestRam> ram_;
    std::array<uint32_t, 1024> page_{};
    NvmeDoorbells doorbells_{nullptr, page_.data()};
};

TEST_F(NvmeQueuePairTest, ReadIsWrittenAtTheTailAndPublishedByKick) {
    NvmeQueuePair q = make(8);
    auto data = ram_->alloc(3 * kPage, kPage);
    ASSERT_TRUE(data);
    ASSERT_TRUE(q.submit_rw(77, false, 1, 0x123456789, 24, data->gpa, 3 * kPage));
    EXPECT_EQ(page_[2], 0u) << "nothing visible before kick()";
    q.kick();
    EXPECT_EQ(page_[sq_doorbell_index(1)], 1u);
    const Command c = sqe(q, 0);
    EXPECT_EQ(c.opcode, io_opcode::kRead);
    EXPECT_EQ(c.nsid, 1u);
    EXPECT_EQ(c.cdw10, 0x23456789u);
    EXPECT_EQ(c.cdw11, 0x1u);
    EXPECT_EQ(c.cdw12, 23u);
    EXPECT_EQ(c.dptr1, data->gpa);
    // Three pages: a PRP list in the slot's page.
    const auto* list = reinterpret_cast<const uint64_t*>(ram_->host(c.dptr2));
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(list[0], data->gpa + kPage);
    EXPECT_EQ(list[1], data->gpa + 2 * kPage);

    std::array<NvmeCompletion, 4> out;
    auto none = q.poll(out);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
    complete(q, 0, c.cid, true);
    auto one = q.poll(out);
    ASSERT_TRUE(one);
    ASSERT_EQ(*one, 1u);
    EXPECT_EQ(out[0].tag, 77u);
    EXPECT_TRUE(out[0].ok());
    EXPECT_EQ(page_[cq_doorbell_index(1)], 1u);
    EXPECT_EQ(q.in_flight(), 0u);
}

TEST_F(NvmeQueuePairTest, PhaseFlipsOnEveryWrapAndTheHeadIsRungOncePerBatch) {
    NvmeQueuePair q = make(4);
    std::array<NvmeCompletion, 8> out;
    uint32_t sq_index = 0;
    uint32_t cq_index = 0;
    bool phase = true;
    for (int round = 0; round < 5; ++round) {
        // Three in flight (a 4-entry queue holds 3), completed in reverse order.
        std::array<uint16_t, 3> cids{};
        for (uint64_t i = 0; i < 3; ++i) {
            ASSERT_TRUE(q.submit_flush(round * 10 + i, 1));
            cids[i] = sqe(q, sq_index).cid;
            sq_index = (sq_index + 1) % 4;
        }
        EXPECT_FALSE(q.submit_flush(999, 1)) << "full at entries - 1";
        q.kick();
        const uint64_t heads_before = q.stats().cq_doorbells;
        for (int i = 2; i >= 0; --i) {
            complete(q, cq_index, cids[i], phase);
            if (++cq_index == 4) {
                cq_index = 0;
                phase = !phase;
            }
        }
        auto n = q.poll(out);
        ASSERT_TRUE(n) << n.error().describe();
        ASSERT_EQ(*n, 3u) << "round " << round;
        EXPECT_EQ(out[0].tag, round * 10 + 2u);
        EXPECT_EQ(out[2].tag, round * 10 + 0u);
        EXPECT_EQ(q.stats().cq_doorbells, heads_before + 1);
        EXPECT_EQ(page_[cq_doorbell_index(1)], cq_index);
        // A stale entry (old phase) at the head is not a completion.
        EXPECT_FALSE(q.completion_pending());
    }
}

TEST_F(NvmeQueuePairTest, CompletionsThatBreakTheProtocolBreakThePair) {
    std::array<NvmeCompletion, 4> out;
    {
        NvmeQueuePair q = make(4);
        ASSERT_TRUE(q.submit_flush(1, 1));
        q.kick();
        complete(q, 0, static_cast<uint16_t>(sqe(q, 0).cid + 1), true);  // never submitted
        EXPECT_EQ(q.poll(out).error().code, EPROTO);
        EXPECT_TRUE(q.broken());
        EXPECT_FALSE(q.submit_flush(2, 1));
        EXPECT_EQ(q.poll(out).error().code, EPIPE);
        q.reset();
        EXPECT_FALSE(q.broken());
    }
    {
        NvmeQueuePair q = make(4);
        ASSERT_TRUE(q.submit_flush(1, 1));
        complete(q, 0, sqe(q, 0).cid, true, 0, 2);  // another queue's SQ id
        EXPECT_EQ(q.poll(out).error().code, EPROTO);
    }
    {
        NvmeQueuePair q = make(4);
        ASSERT_TRUE(q.submit_flush(1, 1));
        complete(q, 0, sqe(q, 0).cid, true, 0, 0, 4);  // SQ head outside the queue
        EXPECT_EQ(q.poll(out).error().code, EPROTO);
    }
    {
        NvmeQueuePair q = make(4);
        ASSERT_TRUE(q.submit_flush(1, 1));
        const uint16_t cid = sqe(q, 0).cid;
        complete(q, 0, cid, true);
        complete(q, 1, cid, true);  // the same CID twice
        EXPECT_EQ(q.poll(out).error().code, EPROTO);
    }
}

TEST_F(NvmeQueuePairTest, ErrorStatusesReachTheCaller) {
    NvmeQueuePair q = make(4);
    ASSERT_TRUE(q.submit_write_zeroes(5, 1, 0, 8, true));
    const Command c = sqe(q, 0);
    EXPECT_EQ(c.opcode, io_opcode::kWriteZeroes);
    EXPECT_EQ(c.cdw12, 7u | kWriteZeroesDeallocate);
    complete(q, 0, c.cid, true, (sct::kGeneric << kSctShift) | generic_sc::kLbaOutOfRange);
    std::array<NvmeCompletion, 4> out;
    ASSERT_EQ(q.poll(out).value(), 1u);
    EXPECT_FALSE(out[0].ok());
    EXPECT_EQ(out[0].status, generic_sc::kLbaOutOfRange);
}

TEST_F(NvmeQueuePairTest, DeallocateCopiesTheRangesIntoTheSlotPage) {
    NvmeQueuePair q = make(4);
    const std::array<DsmRange, 2> ranges{DsmRange{0, 8, 16}, DsmRange{0, 1, 100}};
    ASSERT_TRUE(q.submit_deallocate(3, 1, ranges));
    const Command c = sqe(q, 0);
    EXPECT_EQ(c.opcode, io_opcode::kDatasetManagement);
    EXPECT_EQ(c.cdw10, 1u);
    EXPECT_EQ(c.cdw11, kDsmDeallocate);
    EXPECT_EQ(std::memcmp(ram_->host(c.dptr1), ranges.data(), sizeof(ranges)), 0);
    EXPECT_FALSE(q.submit_deallocate(4, 1, {}));
}

TEST_F(NvmeQueuePairTest, RefusesDataPrpsCannotDescribe) {
    NvmeQueuePair q = make(4);
    EXPECT_FALSE(q.submit_rw(1, true, 1, 0, 1, 0x100002, 512));  // not dword aligned
    EXPECT_FALSE(q.submit_rw(1, true, 1, 0, 0, 0x100000, 512));  // zero blocks
    EXPECT_FALSE(q.submit_rw(1, true, 1, 0, 65537, 0x100000, 512));
    EXPECT_EQ(q.in_flight(), 0u);
}

TEST(NvmeShadowDoorbell, RingsOnlyWhenTheEventIdxLiesInTheNewRange) {
    uint32_t shadow = 10;
    uint32_t event_idx = 9;
    // EventIdx 9 is behind [10, 12): the controller is awake and polling.
    EXPECT_FALSE(shadow_doorbell_update(&shadow, &event_idx, 12));
    EXPECT_EQ(shadow, 12u);
    // The controller went to sleep asking to hear about index 12.
    event_idx = 12;
    EXPECT_TRUE(shadow_doorbell_update(&shadow, &event_idx, 13));
    EXPECT_FALSE(shadow_doorbell_update(&shadow, &event_idx, 14));
    // Modulo 2^16: the range [0xfffe, 2) holds 0xffff and 0, 1.
    shadow = 0xfffe;
    event_idx = 0xffff;
    EXPECT_TRUE(shadow_doorbell_update(&shadow, &event_idx, 2));
    shadow = 0xfffe;
    event_idx = 1;
    EXPECT_TRUE(shadow_doorbell_update(&shadow, &event_idx, 2));
    shadow = 0xfffe;
    event_idx = 2;
    EXPECT_FALSE(shadow_doorbell_update(&shadow, &event_idx, 2));
}

TEST_F(NvmeQueuePairTest, ShadowDoorbellsSkipRealWritesUnlessAskedAndNeverForTheAdminQueue) {
    std::array<uint32_t, 1024> shadow{};
    std::array<uint32_t, 1024> event_idx{};
    doorbells_.set_shadow(shadow.data(), event_idx.data());
    NvmeQueuePair q = make(8);
    NvmeQueuePair admin = make(4, 0);
    // EventIdx 0 and the shadow moving 0 -> 1: index 0 is in [0, 1), so the first write rings.
    ASSERT_TRUE(q.submit_flush(1, 1));
    q.kick();
    EXPECT_EQ(q.stats().sq_doorbells, 1u);
    EXPECT_EQ(shadow[sq_doorbell_index(1)], 1u);
    // 1 -> 3 with the EventIdx still 0: no real write.
    ASSERT_TRUE(q.submit_flush(2, 1));
    ASSERT_TRUE(q.submit_flush(3, 1));
    q.kick();
    EXPECT_EQ(q.stats().sq_doorbells, 1u);
    EXPECT_EQ(q.stats().sq_doorbells_skipped, 1u);
    EXPECT_EQ(page_[sq_doorbell_index(1)], 1u);
    EXPECT_EQ(shadow[sq_doorbell_index(1)], 3u);
    // The admin queue's doorbells are real whatever the buffers say.
    ASSERT_TRUE(admin.submit_flush(4, 0));
    admin.kick();
    EXPECT_EQ(admin.stats().sq_doorbells, 1u);
    EXPECT_EQ(shadow[0], 0u);
    EXPECT_EQ(page_[0], 1u);
}

}  // namespace
}  // namespace vhostd::frontend
