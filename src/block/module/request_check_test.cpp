// Backend-side request checks: ranges, alignment, iovec totals, capabilities, read-only.
#include "block/module/request_check.hpp"

#include <cstdint>

#include <gtest/gtest.h>

namespace vhostd::block {
namespace {

RequestLimits limits(Capabilities caps = {}) {
    return RequestLimits::fixed(512, 100, caps);
}

IoRequest transfer(IoType type, uint64_t offset, iovec* iov, uint32_t iovcnt) {
    IoRequest r;
    r.type = type;
    r.offset = offset;
    r.iov = iov;
    r.iovcnt = iovcnt;
    for (uint32_t i = 0; i < iovcnt; ++i)
        r.length += iov[i].iov_len;
    return r;
}

TEST(RequestCheck, TransfersMustBeAlignedInRangeAndMatchTheirIovecs) {
    char buf[1024];
    iovec iov[2] = {{buf, 512}, {buf + 512, 512}};
    EXPECT_EQ(check_request(transfer(IoType::read, 0, iov, 2), limits()), IoStatus::success);
    EXPECT_EQ(check_request(transfer(IoType::read, 512 * 98, iov, 2), limits()), IoStatus::success);
    EXPECT_EQ(check_request(transfer(IoType::read, 512 * 99, iov, 2), limits()),
              IoStatus::io_error);
    EXPECT_EQ(check_request(transfer(IoType::write, 1, iov, 2), limits()), IoStatus::io_error);

    IoRequest mismatch = transfer(IoType::read, 0, iov, 2);
    mismatch.length = 512;
    EXPECT_EQ(check_request(mismatch, limits()), IoStatus::io_error);

    iovec huge[2] = {{buf, 512}, {buf, SIZE_MAX - 100}};  // would wrap a naive sum
    IoRequest wrap = transfer(IoType::read, 0, huge, 1);
    wrap.iovcnt = 2;
    EXPECT_EQ(check_request(wrap, limits()), IoStatus::io_error);

    IoRequest no_iov = transfer(IoType::read, 0, nullptr, 0);
    no_iov.iovcnt = 1;
    EXPECT_EQ(check_request(no_iov, limits()), IoStatus::io_error);

    Capabilities one_segment;
    one_segment.max_segments = 1;
    EXPECT_EQ(check_request(transfer(IoType::read, 0, iov, 2), limits(one_segment)),
              IoStatus::io_error);
}

TEST(RequestCheck, RangeOpsNeedTheirCapability) {
    IoRequest r;
    r.type = IoType::discard;
    r.length = 512;
    EXPECT_EQ(check_request(r, limits()), IoStatus::unsupported);
    r.type = IoType::write_zeroes;
    EXPECT_EQ(check_request(r, limits()), IoStatus::unsupported);
    Capabilities caps;
    caps.discard = caps.write_zeroes = true;
    EXPECT_EQ(check_request(r, limits(caps)), IoStatus::success);
    r.offset = UINT64_MAX - 511;  // offset + length wraps
    EXPECT_EQ(check_request(r, limits(caps)), IoStatus::io_error);
}

TEST(RequestCheck, ReadOnlyBdevsRefuseEveryWrite) {
    Capabilities caps;
    caps.read_only = true;
    caps.discard = caps.write_zeroes = true;
    char buf[512];
    iovec iov{buf, 512};
    EXPECT_EQ(check_request(transfer(IoType::read, 0, &iov, 1), limits(caps)), IoStatus::success);
    EXPECT_EQ(check_request(transfer(IoType::write, 0, &iov, 1), limits(caps)), IoStatus::io_error);
    IoRequest r;
    r.length = 512;
    for (IoType t : {IoType::discard, IoType::write_zeroes}) {
        r.type = t;
        EXPECT_EQ(check_request(r, limits(caps)), IoStatus::io_error) << to_string(t);
    }
    r.type = IoType::flush;
    EXPECT_EQ(check_request(r, limits(caps)), IoStatus::success);
}

TEST(RequestCheck, NamesForLogs) {
    EXPECT_STREQ(to_string(IoType::write_zeroes), "write_zeroes");
    EXPECT_STREQ(to_string(IoStatus::no_space), "no_space");
}

}  // namespace
}  // namespace vhostd::block
