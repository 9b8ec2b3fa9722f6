// virtio-blk request parsing: every request type, and hostile headers, ranges and segments.
#include "devices/virtio_blk/blk_request.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "spec/virtio_blk.hpp"

namespace vhostd::virtio_blk {
namespace {

constexpr BlkLimits kLimits{
    .capacity_sectors = 2048,  // 1 MiB
    .block_size = 512,
    .read_only = false,
    .volatile_cache = true,
    .discard = true,
    .write_zeroes = true,
    .max_discard_sectors = 1024,
    .max_write_zeroes_sectors = 1024,
};

// Holds the bytes a request's buffers point at; the header may be split across iovecs.
struct Req {
    std::vector<uint8_t> out;  // header + payload (device-readable)
    std::vector<uint8_t> in;   // device-writable data (status excluded)
    std::vector<iovec> readable;
    std::vector<iovec> writable;

    Req(uint32_t type, uint64_t sector, size_t out_payload = 0, size_t in_bytes = 0,
        size_t split_header_at = 0) {
        RequestHeader h{type, 0, sector};
        out.resize(sizeof(h) + out_payload);
        std::memcpy(out.data(), &h, sizeof(h));
        in.resize(in_bytes);
        if (split_header_at != 0) {
            readable.push_back({out.data(), split_header_at});
            readable.push_back({out.data() + split_header_at, out.size() - split_header_at});
        } else {
            readable.push_back({out.data(), out.size()});
        }
        if (in_bytes != 0)
            writable.push_back({in.data(), in.size()});
    }
    void segment(uint64_t sector, uint32_t num, uint32_t flags) {
        DiscardWriteZeroesSegment s{sector, num, flags};
        std::memcpy(out.data() + sizeof(RequestHeader), &s, sizeof(s));
    }
    BlkCommand parse(const BlkLimits& limits = kLimits) {
        return parse_request(readable, writable, limits);
    }
};

TEST(BlkRequest, ReadWithinCapacity) {
    Req r(request_type::kIn, 8, 0, 4096);
    BlkCommand c = r.parse();
    ASSERT_EQ(c.action, BlkAction::submit);
    EXPECT_EQ(c.io, block::IoType::read);
    EXPECT_EQ(c.offset, 8U * 512);
    EXPECT_EQ(c.length, 4096U);
    EXPECT_EQ(c.data.size(), 1U);
}

TEST(BlkRequest, WriteUsesPayloadAfterHeaderEvenWhenHeaderIsSplit) {
    Req r(request_type::kOut, 0, 1024, 0, /*split_header_at=*/5);
    BlkCommand c = r.parse();
    ASSERT_EQ(c.action, BlkAction::submit);
    EXPECT_EQ(c.io, block::IoType::write);
    EXPECT_EQ(c.length, 1024U);
    EXPECT_EQ(c.data[0].iov_base, r.out.data() + 16);
}

TEST(BlkRequest, ShortHeaderIsIoErr) {
    Req r(request_type::kIn, 0);
    r.readable[0].iov_len = 15;
    BlkCommand c = r.parse();
    EXPECT_EQ(c.action, BlkAction::complete);
    EXPECT_EQ(c.status, status::kIoErr);
}

TEST(BlkRequest, RangesPastTheEndOrOverflowingAreIoErr) {
    EXPECT_EQ(Req(request_type::kIn, 2047, 0, 1024).parse().status, status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, 2048, 0, 512).parse().status, status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, std::numeric_limits<uint64_t>::max(), 0, 512).parse().status,
              status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, std::numeric_limits<uint64_t>::max() / 512 + 1, 0, 512)
                  .parse()
                  .status,
              status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, 2047, 0, 512).parse().action, BlkAction::submit);
}

TEST(BlkRequest, LengthNotMultipleOf512IsIoErr) {
    EXPECT_EQ(Req(request_type::kIn, 0, 0, 511).parse().status, status::kIoErr);
    EXPECT_EQ(Req(request_type::kOut, 0, 513).parse().status, status::kIoErr);
}

TEST(BlkRequest, UnalignedToLargerBlockSizeIsIoErr) {
    BlkLimits big = kLimits;
    big.block_size = 4096;
    EXPECT_EQ(Req(request_type::kIn, 1, 0, 4096).parse(big).status, status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, 8, 0, 512).parse(big).status, status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, 8, 0, 4096).parse(big).action, BlkAction::submit);
}

TEST(BlkRequest, ZeroLengthReadCompletesOk) {
    BlkCommand c = Req(request_type::kIn, 0).parse();
    EXPECT_EQ(c.action, BlkAction::complete);
    EXPECT_EQ(c.status, status::kOk);
}

TEST(BlkRequest, WriteToReadOnlyIsIoErr) {
    BlkLimits ro = kLimits;
    ro.read_only = true;
    EXPECT_EQ(Req(request_type::kOut, 0, 512).parse(ro).status, status::kIoErr);
    Req wz(request_type::kWriteZeroes, 0, 16);
    wz.segment(0, 8, 0);
    EXPECT_EQ(wz.parse(ro).status, status::kIoErr);
    EXPECT_EQ(Req(request_type::kIn, 0, 0, 512).parse(ro).action, BlkAction::submit);
}

TEST(BlkRequest, FlushGoesToBackendOnlyWithAVolatileCache) {
    EXPECT_EQ(Req(request_type::kFlush, 0).parse().action, BlkAction::submit);
    BlkLimits no_cache = kLimits;
    no_cache.volatile_cache = false;
    BlkCommand c = Req(request_type::kFlush, 0).parse(no_cache);
    EXPECT_EQ(c.action, BlkAction::complete);
    EXPECT_EQ(c.status, status::kOk);
}

TEST(BlkRequest, GetIdReturnsWritableBuffer) {
    BlkCommand c = Req(request_type::kGetId, 0, 0, 20).parse();
    EXPECT_EQ(c.action, BlkAction::get_id);
    EXPECT_EQ(c.data.size(), 1U);
}

TEST(BlkRequest, UnknownTypesAreUnsupported) {
    for (uint32_t type :
         {2U, 3U, 5U, request_type::kGetLifetime, request_type::kSecureErase, 99U}) {
        EXPECT_EQ(Req(type, 0, 0, 512).parse().status, status::kUnsupp) << type;
    }
}

TEST(BlkRequest, DiscardAndWriteZeroesSegments) {
    Req d(request_type::kDiscard, 0, 16);
    d.segment(16, 32, 0);
    BlkCommand c = d.parse();
    ASSERT_EQ(c.action, BlkAction::submit);
    EXPECT_EQ(c.io, block::IoType::discard);
    EXPECT_EQ(c.offset, 16U * 512);
    EXPECT_EQ(c.length, 32U * 512);

    Req w(request_type::kWriteZeroes, 0, 16);
    w.segment(0, 8, kSegmentFlagUnmap);
    c = w.parse();
    ASSERT_EQ(c.action, BlkAction::submit);
    EXPECT_EQ(c.io, block::IoType::write_zeroes);
    EXPECT_TRUE(c.unmap);
}

TEST(BlkRequest, DiscardRules) {
    auto discard = [](uint64_t sector, uint32_t num, uint32_t flags, size_t payload = 16) {
        Req r(request_type::kDiscard, 0, payload);
        if (payload >= 16)
            r.segment(sector, num, flags);
        return r.parse();
    };
    EXPECT_EQ(discard(0, 8, kSegmentFlagUnmap).status, status::kUnsupp);  // unmap on discard
    EXPECT_EQ(discard(0, 8, 0x2).status, status::kUnsupp);                // reserved flag
    EXPECT_EQ(discard(0, 1025, 0).status, status::kIoErr);                // over max
    EXPECT_EQ(discard(2040, 16, 0).status, status::kIoErr);               // past the end
    EXPECT_EQ(discard(0, 8, 0, 32).status, status::kIoErr);               // two segments
    EXPECT_EQ(discard(0, 8, 0, 15).status, status::kIoErr);               // truncated
    EXPECT_EQ(discard(0, 0, 0).status, status::kOk);                      // empty range
    BlkLimits none = kLimits;
    none.discard = false;
    Req r(request_type::kDiscard, 0, 16);
    r.segment(0, 8, 0);
    EXPECT_EQ(r.parse(none).status, status::kUnsupp);
}

}  // namespace
}  // namespace vhostd::virtio_blk
