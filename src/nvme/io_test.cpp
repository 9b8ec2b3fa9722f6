// I/O commands through a real malloc bdev on reactors: data written and read back through
// PRPs, PRP lists and SGLs; Flush, Write Zeroes, Dataset Management; range, MDTS, opcode and
// namespace refusals; data pointers that leave guest memory; completion entry fields and the
// phase tag across wraps; a full completion queue that stops the submission queue; MSI-X
// interrupts with and without coalescing; and queue statistics.
#include <cstring>
#include <numeric>

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/nvme_fixture.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using testing::DriverQueue;
using testing::FakeNvmeDriver;

class IoTest : public testing::NvmeControllerTest {
  protected:
    void SetUp() override {
        start();
        ASSERT_TRUE(driver->create_io_queues(1, 32, 1));
    }
    DriverQueue& q() { return driver->queue(1); }
    uint16_t io_status(Command c) { return status_of(driver->run(q(), c)); }
    void fill(uint64_t gpa, size_t bytes, uint8_t seed) {
        for (size_t i = 0; i < bytes; ++i) {
            ram.host(gpa)[i] = static_cast<uint8_t>(i * 7 + seed);
        }
    }
    bool same(uint64_t a, uint64_t b, size_t bytes) {
        return std::memcmp(ram.host(a), ram.host(b), bytes) == 0;
    }
    static Command sgl_command(Command c, const SglDescriptor& d) {
        c.flags = static_cast<uint8_t>(kPsdtSglMptrContiguous << kPsdtShift);
        std::memcpy(&c.dptr1, &d, sizeof(d));
        return c;
    }
};

TEST_F(IoTest, WriteThenReadBackThroughPrps) {
    const uint64_t out = ram.alloc(4096);
    const uint64_t in = ram.alloc(4096);
    fill(out, 4096, 1);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(true, 1, 16, 8, out)), 0u);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 16, 8, in)), 0u);
    EXPECT_TRUE(same(out, in, 4096));
    // An unaligned buffer over two pages (PRP1 offset, PRP2 the next page).
    const uint64_t pages = ram.alloc(3 * 4096);
    ASSERT_EQ(
        io_status(FakeNvmeDriver::read_write(false, 1, 16, 2, pages + 4096 - 512, pages + 4096)),
        0u);
    EXPECT_EQ(std::memcmp(ram.host(pages + 4096 - 512), ram.host(out), 1024), 0);
}

TEST_F(IoTest, LargeTransferThroughAPrpListReadBackThroughSgls) {
    constexpr size_t kBytes = 64 * 1024;
    const uint64_t out = ram.alloc(kBytes);
    const uint64_t list = ram.alloc(4096);
    fill(out, kBytes, 9);
    auto* entries = reinterpret_cast<uint64_t*>(ram.host(list));
    for (size_t i = 1; i < kBytes / 4096; ++i) {
        entries[i - 1] = out + i * 4096;
    }
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(true, 1, 100, kBytes / 512, out, list)), 0u);
    // Back through an SGL: a segment of two data blocks in separate buffers.
    const uint64_t a = ram.alloc(kBytes / 2);
    const uint64_t b = ram.alloc(kBytes / 2);
    const uint64_t segment = ram.alloc(32, 16);
    const SglDescriptor blocks[2] = {
        {.address = a, .length = kBytes / 2, .reserved = {}, .identifier = 0},
        {.address = b, .length = kBytes / 2, .reserved = {}, .identifier = 0}};
    std::memcpy(ram.host(segment), blocks, sizeof(blocks));
    const SglDescriptor last{.address = segment,
                             .length = sizeof(blocks),
                             .reserved = {},
                             .identifier = sgl_type::kLastSegment << 4};
    ASSERT_EQ(
        io_status(sgl_command(FakeNvmeDriver::read_write(false, 1, 100, kBytes / 512, 0), last)),
        0u);
    EXPECT_TRUE(same(a, out, kBytes / 2));
    EXPECT_TRUE(same(b, out + kBytes / 2, kBytes / 2));
}

TEST_F(IoTest, SglRefusalsCompleteWithTheirStatus) {
    const uint64_t data = ram.alloc(4096);
    const SglDescriptor bucket{
        .address = 0, .length = 512, .reserved = {}, .identifier = sgl_type::kBitBucket << 4};
    EXPECT_EQ(io_status(sgl_command(FakeNvmeDriver::read_write(false, 1, 0, 1, 0), bucket)),
              status::kSglTypeInvalid);
    const SglDescriptor short_block{
        .address = data, .length = 256, .reserved = {}, .identifier = 0};
    EXPECT_EQ(io_status(sgl_command(FakeNvmeDriver::read_write(false, 1, 0, 1, 0), short_block)),
              status::kSglLengthInvalid);
    // The queue carries on.
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 0, 1, data)), 0u);
}

TEST_F(IoTest, FlushAndItsNamespaceRules) {
    Command flush{};
    flush.opcode = io_opcode::kFlush;
    flush.nsid = 1;
    EXPECT_EQ(io_status(flush), 0u);
    flush.nsid = kNsidBroadcast;  // VWC reports no broadcast flush
    EXPECT_EQ(io_status(flush), status::kInvalidNamespace);
}

TEST_F(IoTest, WriteZeroesClearsTheRange) {
    const uint64_t out = ram.alloc(4096);
    const uint64_t in = ram.alloc(4096);
    std::memset(ram.host(out), 0xee, 4096);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(true, 1, 40, 8, out)), 0u);
    Command zeroes{};
    zeroes.opcode = io_opcode::kWriteZeroes;
    zeroes.nsid = 1;
    zeroes.cdw10 = 42;
    zeroes.cdw12 = (4 - 1) | kWriteZeroesDeallocate;
    ASSERT_EQ(io_status(zeroes), 0u);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 40, 8, in)), 0u);
    EXPECT_EQ(ram.host(in)[0], 0xee);
    EXPECT_EQ(ram.host(in)[2 * 512], 0);
    EXPECT_EQ(ram.host(in)[6 * 512 - 1], 0);
    EXPECT_EQ(ram.host(in)[6 * 512], 0xee);
    zeroes.cdw10 = kBlocks - 2;
    EXPECT_EQ(io_status(zeroes), status::kLbaOutOfRange);
}

TEST_F(IoTest, DatasetManagementDeallocatesCheckedRanges) {
    const uint64_t out = ram.alloc(4096);
    std::memset(ram.host(out), 0x77, 4096);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(true, 1, 200, 8, out)), 0u);
    const uint64_t ranges = ram.alloc(4096);
    auto* r = reinterpret_cast<DsmRange*>(ram.host(ranges));
    r[0] = DsmRange{.attributes = 0, .length = 2, .slba = 200};
    r[1] = DsmRange{.attributes = 0, .length = 0, .slba = 999999};  // empty: ignored
    r[2] = DsmRange{.attributes = 0, .length = 1, .slba = 205};
    Command dsm{};
    dsm.opcode = io_opcode::kDatasetManagement;
    dsm.nsid = 1;
    dsm.dptr1 = ranges;
    dsm.cdw10 = 3 - 1;
    dsm.cdw11 = kDsmDeallocate;
    ASSERT_EQ(io_status(dsm), 0u);
    const uint64_t in = ram.alloc(4096);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 200, 8, in)), 0u);
    EXPECT_EQ(ram.host(in)[0], 0);  // deallocated: the malloc bdev reads zeroes
    EXPECT_EQ(ram.host(in)[1023], 0);
    EXPECT_EQ(ram.host(in)[1024], 0x77);
    EXPECT_EQ(ram.host(in)[5 * 512], 0);
    // A range past the end fails the whole command before anything is deallocated.
    r[0] = DsmRange{.attributes = 0, .length = 2, .slba = 202};
    r[1] = DsmRange{.attributes = 0, .length = 10, .slba = kBlocks - 5};
    dsm.cdw10 = 2 - 1;
    EXPECT_EQ(io_status(dsm), status::kLbaOutOfRange);
    ASSERT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 200, 8, in)), 0u);
    EXPECT_EQ(ram.host(in)[2 * 512], 0x77);
    // Hints alone do nothing and succeed.
    dsm.cdw11 = 0x3;
    EXPECT_EQ(io_status(dsm), 0u);
    // 256 ranges at once.
    for (uint32_t i = 0; i < 256; ++i) {
        r[i] = DsmRange{.attributes = 0, .length = 1, .slba = 1000 + 2 * i};
    }
    dsm.cdw10 = 255;
    dsm.cdw11 = kDsmDeallocate;
    EXPECT_EQ(io_status(dsm), 0u);
}

TEST_F(IoTest, ManyDatasetManagementCommandsWaitForRangeBuffers) {
    const uint64_t ranges = ram.alloc(4096);
    auto* r = reinterpret_cast<DsmRange*>(ram.host(ranges));
    r[0] = DsmRange{.attributes = 0, .length = 8, .slba = 0};
    Command dsm{};
    dsm.opcode = io_opcode::kDatasetManagement;
    dsm.nsid = 1;
    dsm.dptr1 = ranges;
    dsm.cdw11 = kDsmDeallocate;
    std::vector<uint16_t> cids;
    for (int i = 0; i < 12; ++i) {  // three times the buffers a queue has
        cids.push_back(driver->submit(q(), dsm));
    }
    for (uint16_t cid : cids) {
        EXPECT_EQ(status_of(driver->wait_completion(q(), cid)), 0u);
    }
}

TEST_F(IoTest, RangeAndSizeRefusals) {
    const uint64_t data = ram.alloc(512 * 1024);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, kBlocks, 1, data)),
              status::kLbaOutOfRange);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, kBlocks - 1, 2, data)),
              status::kLbaOutOfRange);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, ~0ull, 2, data)),
              status::kLbaOutOfRange);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(true, 1, 0xffffffffffff0000ull, 0x8000, data)),
              status::kLbaOutOfRange);
    // MDTS: 256 KiB at most.
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 0, 513, data)), status::kInvalidField);
}

TEST_F(IoTest, OpcodeNamespaceAndFuseRefusals) {
    const uint64_t data = ram.alloc(4096);
    Command compare = FakeNvmeDriver::read_write(false, 1, 0, 1, data);
    compare.opcode = io_opcode::kCompare;
    EXPECT_EQ(io_status(compare), status::kInvalidOpcode);
    Command unknown{};
    unknown.opcode = 0x7e;
    unknown.nsid = 1;
    EXPECT_EQ(io_status(unknown), status::kInvalidOpcode);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 0, 0, 1, data)),
              status::kInvalidNamespace);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 2, 0, 1, data)),
              status::kInvalidNamespace);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, kNsidBroadcast, 0, 1, data)),
              status::kInvalidNamespace);
    Command fused = FakeNvmeDriver::read_write(false, 1, 0, 1, data);
    fused.flags = 1;
    EXPECT_EQ(io_status(fused), status::kInvalidField);
}

TEST_F(IoTest, DataOutsideGuestMemoryFailsTheCommandOnly) {
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 0, 1, 0x2000)),
              status::kDataTransferError);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(true, 1, 0, 8, ram.end() - 1024)),
              status::kDataTransferError);
    const uint64_t data = ram.alloc(4096);
    EXPECT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 0, 1, data)), 0u);
}

TEST_F(IoTest, CompletionFieldsAndPhaseAcrossWraps) {
    const uint64_t data = ram.alloc(4096);
    for (int i = 0; i < 100; ++i) {  // more than three times around a 32-entry queue
        const uint16_t cid = driver->submit(q(), FakeNvmeDriver::read_write(false, 1, i, 1, data));
        auto c = driver->wait_completion(q(), cid);
        ASSERT_TRUE(c.has_value()) << i;
        EXPECT_EQ(c->sq_id, 1);
        EXPECT_EQ(c->cid, cid);
        EXPECT_EQ(c->sq_head, (i + 1) % 32);
        EXPECT_EQ(status_of(c), 0u);
    }
}

TEST_F(IoTest, FullCompletionQueueStopsTakingCommands) {
    ASSERT_TRUE(driver->create_io_queues(2, 4, 2));  // 4 entries: 3 completions at most
    DriverQueue& small = driver->queue(2);
    const uint64_t data = ram.alloc(4096);
    for (int i = 0; i < 3; ++i) {
        driver->submit(small, FakeNvmeDriver::read_write(false, 1, 0, 1, data));
    }
    std::vector<Completion> seen;
    ASSERT_TRUE(driver->wait_for([&] {
        while (auto c = driver->poll(small, false)) {  // consumed, head not rung
            seen.push_back(*c);
        }
        return seen.size() == 3;
    }));
    driver->submit(small, FakeNvmeDriver::read_write(false, 1, 0, 1, data));
    for (int i = 0; i < 500; ++i) {
        pump();
    }
    // The fourth command was not taken: no entry, and the SQ head in the last CQE is 3.
    EXPECT_EQ(seen.back().sq_head, 3);
    EXPECT_FALSE(driver->poll(small, false).has_value());
    EXPECT_EQ(controller->queue_stats().at(2).requests, 3u);
    // The head doorbell frees the slots: it completes.
    driver->ring(cq_doorbell_index(2), small.head);
    ASSERT_TRUE(driver->wait_for([&] { return driver->poll(small).has_value(); }));
}

TEST_F(IoTest, InterruptsFollowTheQueueVectorAndIen) {
    std::vector<UniqueFd> vectors = driver->enable_msix(4);
    ASSERT_TRUE(driver->create_io_queues(2, 8, 2, /*interrupts=*/false));
    ASSERT_TRUE(driver->create_io_queues(3, 8, 3));
    const uint64_t data = ram.alloc(4096);
    ASSERT_EQ(
        status_of(driver->run(driver->queue(2), FakeNvmeDriver::read_write(false, 1, 0, 1, data))),
        0u);
    ASSERT_EQ(
        status_of(driver->run(driver->queue(3), FakeNvmeDriver::read_write(false, 1, 0, 1, data))),
        0u);
    uint64_t count = 0;
    EXPECT_EQ(::read(vectors[2].get(), &count, 8), -1);  // IEN = 0: never
    ASSERT_EQ(::read(vectors[3].get(), &count, 8), 8);
    EXPECT_GE(count, 1u);
    EXPECT_EQ(::read(vectors[0].get(), &count, 8), 8);  // the admin queue's completions
}

TEST_F(IoTest, CoalescingHoldsThenDeliversTheInterrupt) {
    std::vector<UniqueFd> vectors = driver->enable_msix(3);
    ASSERT_TRUE(driver->create_io_queues(2, 8, 2));
    // Threshold 4 entries (0's based 3), time 100 µs.
    ASSERT_EQ(status_of(driver->run_admin(
                  FakeNvmeDriver::set_features(feature::kInterruptCoalescing, 3 | (1u << 8)))),
              0u);
    const uint64_t data = ram.alloc(4096);
    ASSERT_EQ(
        status_of(driver->run(driver->queue(2), FakeNvmeDriver::read_write(false, 1, 0, 1, data))),
        0u);
    EXPECT_GE(controller->queue_stats().at(2).calls_deferred, 1u);
    uint64_t count = 0;
    EXPECT_TRUE(driver->wait_for([&] { return ::read(vectors[2].get(), &count, 8) == 8; }));
    // Feature 09h turns it off for the vector: every completion interrupts at once.
    ASSERT_EQ(status_of(driver->run_admin(
                  FakeNvmeDriver::set_features(feature::kInterruptVectorConfig, 2 | (1u << 16)))),
              0u);
    const uint64_t deferred = controller->queue_stats().at(2).calls_deferred;
    ASSERT_EQ(
        status_of(driver->run(driver->queue(2), FakeNvmeDriver::read_write(false, 1, 0, 1, data))),
        0u);
    EXPECT_EQ(controller->queue_stats().at(2).calls_deferred, deferred);
}

TEST_F(IoTest, QueueStatisticsCountRequests) {
    const uint64_t data = ram.alloc(4096);
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(io_status(FakeNvmeDriver::read_write(false, 1, 0, 1, data)), 0u);
    }
    const auto stats = controller->queue_stats();
    ASSERT_EQ(stats.size(), 2u);  // admin and queue 1
    EXPECT_EQ(stats[1].index, 1);
    EXPECT_EQ(stats[1].requests, 5u);
    EXPECT_EQ(stats[1].completions, 5u);
    EXPECT_EQ(stats[1].inflight, 0u);
    EXPECT_EQ(stats[1].reactor, io[1]->id());  // queue 1 on reactor 1 mod 2
    EXPECT_EQ(stats[0].reactor, io[0]->id());
}

}  // namespace
}  // namespace vhostd::nvme
