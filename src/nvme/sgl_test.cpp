// SGL walker with hostile input: a data block alone, segments and last segments, bit buckets,
// keyed and transport descriptors, offset subtypes, segment descriptors in the wrong place,
// segments of bad length, self-referencing segments, lengths that do not match the transfer,
// addresses that wrap or leave guest memory.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "nvme/data_pointer.hpp"
#include "support/nvme_driver.hpp"

namespace vhostd::nvme {
namespace {

using nvme_spec::SglDescriptor;
using testing::GuestRam;
namespace type = nvme_spec::sgl_type;

SglDescriptor desc(uint8_t kind, uint64_t address, uint32_t length, uint8_t subtype = 0) {
    return SglDescriptor{.address = address,
                         .length = length,
                         .reserved = {},
                         .identifier = static_cast<uint8_t>((kind << 4) | subtype)};
}

class SglTest : public ::testing::Test {
  protected:
    GuestRam ram{1 << 20};
    std::vector<iovec> iov = std::vector<iovec>(64);

    std::expected<size_t, Status> map(const SglDescriptor& first, uint64_t length,
                                      uint32_t max_descriptors = 64) {
        return map_sgl(*ram.memory(), first, length, iov, max_descriptors);
    }
    uint64_t segment(std::vector<SglDescriptor> descriptors) {
        const uint64_t at = ram.alloc(descriptors.size() * sizeof(SglDescriptor), 16);
        std::memcpy(ram.host(at), descriptors.data(), descriptors.size() * sizeof(SglDescriptor));
        return at;
    }
};

TEST_F(SglTest, SingleDataBlock) {
    const uint64_t data = ram.alloc(8192);
    auto n = map(desc(type::kDataBlock, data + 100, 5000), 5000);
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(iov[0].iov_base, ram.host(data + 100));  // no alignment required (SGLS 01b)
    EXPECT_EQ(iov[0].iov_len, 5000u);
}

TEST_F(SglTest, SegmentChainEndingInALastSegment) {
    const uint64_t a = ram.alloc(4096);
    ram.alloc(4096);
    const uint64_t b = ram.alloc(4096);
    const uint64_t last =
        segment({desc(type::kDataBlock, b, 1024), desc(type::kDataBlock, b + 2048, 0),
                 desc(type::kDataBlock, b + 3072, 1024)});
    const uint64_t first = segment({desc(type::kDataBlock, a, 2048),
                                    desc(type::kLastSegment, last, 3 * sizeof(SglDescriptor))});
    auto n = map(desc(type::kSegment, first, 2 * sizeof(SglDescriptor)), 4096);
    ASSERT_TRUE(n.has_value()) << n.error();
    EXPECT_EQ(*n, 3u);  // the zero-length block adds nothing
    EXPECT_EQ(iov[1].iov_base, ram.host(b));
    EXPECT_EQ(iov[2].iov_base, ram.host(b + 3072));
}

TEST_F(SglTest, UnsupportedDescriptorTypesAreRefused) {
    const uint64_t data = ram.alloc(4096);
    EXPECT_EQ(map(desc(type::kBitBucket, 0, 512), 512).error(), status::kSglTypeInvalid);
    EXPECT_EQ(map(desc(type::kKeyedDataBlock, data, 512), 512).error(), status::kSglTypeInvalid);
    EXPECT_EQ(map(desc(type::kTransportDataBlock, data, 512), 512).error(),
              status::kSglTypeInvalid);
    EXPECT_EQ(map(desc(0xf, data, 512), 512).error(), status::kSglTypeInvalid);
    EXPECT_EQ(map(desc(type::kDataBlock, data, 512, 1), 512).error(), status::kSglTypeInvalid);
    // A bit bucket inside a segment too.
    const uint64_t seg =
        segment({desc(type::kDataBlock, data, 256), desc(type::kBitBucket, 0, 256)});
    EXPECT_EQ(map(desc(type::kLastSegment, seg, 32), 512).error(), status::kSglTypeInvalid);
}

TEST_F(SglTest, SegmentDescriptorsOnlyLastAndNotInALastSegment) {
    const uint64_t data = ram.alloc(4096);
    const uint64_t tail = segment({desc(type::kDataBlock, data, 512)});
    const uint64_t middle =
        segment({desc(type::kLastSegment, tail, 16), desc(type::kDataBlock, data, 512)});
    EXPECT_EQ(map(desc(type::kSegment, middle, 32), 1024).error(), status::kSglSegmentInvalid);
    const uint64_t in_last =
        segment({desc(type::kDataBlock, data, 512), desc(type::kSegment, tail, 16)});
    EXPECT_EQ(map(desc(type::kLastSegment, in_last, 32), 1024).error(), status::kSglSegmentInvalid);
    // A (non-last) segment that does not point on.
    const uint64_t dead_end = segment({desc(type::kDataBlock, data, 512)});
    EXPECT_EQ(map(desc(type::kSegment, dead_end, 16), 512).error(), status::kSglSegmentInvalid);
}

TEST_F(SglTest, SegmentLengthsMustBeWholeDescriptors) {
    const uint64_t seg = segment({desc(type::kDataBlock, ram.alloc(512), 512)});
    EXPECT_EQ(map(desc(type::kLastSegment, seg, 0), 512).error(), status::kSglSegmentInvalid);
    EXPECT_EQ(map(desc(type::kLastSegment, seg, 24), 512).error(), status::kSglSegmentInvalid);
    EXPECT_EQ(map(desc(type::kLastSegment, seg, 16, 1), 512).error(), status::kSglTypeInvalid);
}

TEST_F(SglTest, SelfReferencingSegmentsEndAtTheDescriptorLimit) {
    const uint64_t data = ram.alloc(512);
    const uint64_t loop = ram.alloc(32, 16);
    const std::vector<SglDescriptor> entries{desc(type::kDataBlock, data, 0),
                                             desc(type::kSegment, loop, 32)};
    std::memcpy(ram.host(loop), entries.data(), 32);
    EXPECT_EQ(map(desc(type::kSegment, loop, 32), 512).error(), status::kSglCountInvalid);
}

TEST_F(SglTest, LengthMustMatchTheTransfer) {
    const uint64_t data = ram.alloc(8192);
    EXPECT_EQ(map(desc(type::kDataBlock, data, 512), 1024).error(), status::kSglLengthInvalid);
    EXPECT_EQ(map(desc(type::kDataBlock, data, 2048), 1024).error(), status::kSglLengthInvalid);
    const uint64_t seg =
        segment({desc(type::kDataBlock, data, 512), desc(type::kDataBlock, data, 1024)});
    EXPECT_EQ(map(desc(type::kLastSegment, seg, 32), 1024).error(), status::kSglLengthInvalid);
}

TEST_F(SglTest, AddressesThatWrapOrLeaveMemoryFail) {
    EXPECT_EQ(map(desc(type::kDataBlock, 0xffffffffffffff00ull, 512), 512).error(),
              status::kDataTransferError);
    EXPECT_EQ(map(desc(type::kDataBlock, ram.end() - 100, 512), 512).error(),
              status::kDataTransferError);
    EXPECT_EQ(map(desc(type::kLastSegment, 0xfffffffffffffff0ull, 32), 512).error(),
              status::kDataTransferError);
    EXPECT_EQ(map(desc(type::kLastSegment, ram.end() - 16, 32), 512).error(),
              status::kDataTransferError);
}

TEST_F(SglTest, HugeDescriptorCountsAreRefusedBeforeReading) {
    const uint64_t seg = segment({desc(type::kDataBlock, ram.alloc(512), 512)});
    // 2^32 - 16 bytes: 268 million descriptors, refused by count, never read.
    EXPECT_EQ(map(desc(type::kLastSegment, seg, 0xfffffff0u), 512).error(),
              status::kSglCountInvalid);
}

}  // namespace
}  // namespace vhostd::nvme
