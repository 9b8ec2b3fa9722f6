// Scatter-gather helpers over iovec arrays: totals, gather/scatter copies at an offset, and
// trimming bytes off either end in place (request headers and status bytes live at the ends
// of a descriptor chain's buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <sys/uio.h>

namespace vhostd {
namespace detail {
// The general cases of the inline helpers below.
size_t iov_copy_out_pieces(std::span<const iovec> iov, uint64_t offset, void* dst, size_t len);
std::span<iovec> iov_drop_front_pieces(std::span<iovec> iov, uint64_t bytes);
std::span<iovec> iov_drop_back_pieces(std::span<iovec> iov, uint64_t bytes);
}  // namespace detail

// The helpers every request uses (a header copied out of the front, a status byte dropped off
// the back) are inline with a fast path for the usual case: the bytes lie in the end iovec.

[[nodiscard]] inline uint64_t iov_length(std::span<const iovec> iov) {
    uint64_t total = 0;
    for (const iovec& v : iov) {
        total += v.iov_len;
    }
    return total;
}

// Copies up to `len` bytes starting `offset` bytes into `iov` to `dst`; returns bytes copied.
inline size_t iov_copy_out(std::span<const iovec> iov, uint64_t offset, void* dst, size_t len) {
    if (!iov.empty() && offset < iov[0].iov_len && len <= iov[0].iov_len - offset) {
        std::memcpy(dst, static_cast<const uint8_t*>(iov[0].iov_base) + offset, len);
        return len;
    }
    return detail::iov_copy_out_pieces(iov, offset, dst, len);
}

// Copies up to `len` bytes from `src` into `iov` starting `offset` bytes in; returns bytes copied.
size_t iov_copy_in(std::span<const iovec> iov, uint64_t offset, const void* src, size_t len);

// Fills `len` bytes of `iov` from `offset` with zeroes; returns bytes written.
size_t iov_memset(std::span<const iovec> iov, uint64_t offset, uint8_t value, size_t len);

// Drops `bytes` from the front of `iov` in place; returns the remaining span (empty entries
// at the front are skipped). `bytes` must not exceed the total.
inline std::span<iovec> iov_drop_front(std::span<iovec> iov, uint64_t bytes) {
    if (!iov.empty() && bytes != 0 && bytes <= iov[0].iov_len) {
        if (bytes == iov[0].iov_len) {
            return iov.subspan(1);
        }
        iov[0].iov_base = static_cast<uint8_t*>(iov[0].iov_base) + bytes;
        iov[0].iov_len -= bytes;
        return iov;
    }
    return detail::iov_drop_front_pieces(iov, bytes);
}

// Drops `bytes` from the back of `iov` in place; returns the remaining span.
inline std::span<iovec> iov_drop_back(std::span<iovec> iov, uint64_t bytes) {
    if (!iov.empty() && bytes != 0 && bytes <= iov.back().iov_len) {
        if (bytes == iov.back().iov_len) {
            return iov.first(iov.size() - 1);
        }
        iov.back().iov_len -= bytes;
        return iov;
    }
    return detail::iov_drop_back_pieces(iov, bytes);
}

}  // namespace vhostd
