// Scatter-gather helpers.
#include "base/iovec.hpp"

#include <algorithm>
#include <cstring>

namespace vhostd {
namespace {

// Calls fn(base, n) for each contiguous piece of [offset, offset + len) in `iov`.
template <class Fn>
size_t for_each_piece(std::span<const iovec> iov, uint64_t offset, size_t len, Fn fn) {
    size_t done = 0;
    for (const iovec& v : iov) {
        if (done == len) {
            break;
        }
        if (offset >= v.iov_len) {
            offset -= v.iov_len;
            continue;
        }
        const size_t n = std::min<uint64_t>(v.iov_len - offset, len - done);
        fn(static_cast<uint8_t*>(v.iov_base) + offset, done, n);
        done += n;
        offset = 0;
    }
    return done;
}

}  // namespace

size_t detail::iov_copy_out_pieces(std::span<const iovec> iov, uint64_t offset, void* dst,
                                   size_t len) {
    auto* out = static_cast<uint8_t*>(dst);
    return for_each_piece(iov, offset, len,
                          [out](uint8_t* p, size_t at, size_t n) { std::memcpy(out + at, p, n); });
}

size_t iov_copy_in(std::span<const iovec> iov, uint64_t offset, const void* src, size_t len) {
    const auto* in = static_cast<const uint8_t*>(src);
    return for_each_piece(iov, offset, len,
                          [in](uint8_t* p, size_t at, size_t n) { std::memcpy(p, in + at, n); });
}

size_t iov_memset(std::span<const iovec> iov, uint64_t offset, uint8_t value, size_t len) {
    return for_each_piece(iov, offset, len,
                          [value](uint8_t* p, size_t, size_t n) { std::memset(p, value, n); });
}

std::span<iovec> detail::iov_drop_front_pieces(std::span<iovec> iov, uint64_t bytes) {
    size_t first = 0;
    while (first < iov.size() && (bytes >= iov[first].iov_len)) {
        bytes -= iov[first].iov_len;
        ++first;
        if (bytes == 0) {
            break;
        }
    }
    if (first < iov.size() && bytes > 0) {
        iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + bytes;
        iov[first].iov_len -= bytes;
    }
    return iov.subspan(first);
}

std::span<iovec> detail::iov_drop_back_pieces(std::span<iovec> iov, uint64_t bytes) {
    size_t count = iov.size();
    while (count > 0 && bytes > 0) {
        iovec& last = iov[count - 1];
        if (bytes >= last.iov_len) {
            bytes -= last.iov_len;
            --count;
        } else {
            last.iov_len -= bytes;
            bytes = 0;
        }
    }
    return iov.first(count);
}

}  // namespace vhostd
