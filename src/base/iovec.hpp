// Scatter-gather helpers over iovec arrays: totals, gather/scatter copies at an offset, and
// trimming bytes off either end in place (request headers and status bytes live at the ends
// of a descriptor chain's buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <sys/uio.h>

namespace vhostd {

[[nodiscard]] uint64_t iov_length(std::span<const iovec> iov);

// Copies up to `len` bytes starting `offset` bytes into `iov` to `dst`; returns bytes copied.
size_t iov_copy_out(std::span<const iovec> iov, uint64_t offset, void* dst, size_t len);

// Copies up to `len` bytes from `src` into `iov` starting `offset` bytes in; returns bytes copied.
size_t iov_copy_in(std::span<const iovec> iov, uint64_t offset, const void* src, size_t len);

// Fills `len` bytes of `iov` from `offset` with zeroes; returns bytes written.
size_t iov_memset(std::span<const iovec> iov, uint64_t offset, uint8_t value, size_t len);

// Drops `bytes` from the front of `iov` in place; returns the remaining span (empty entries
// at the front are skipped). `bytes` must not exceed the total.
std::span<iovec> iov_drop_front(std::span<iovec> iov, uint64_t bytes);

// Drops `bytes` from the back of `iov` in place; returns the remaining span.
std::span<iovec> iov_drop_back(std::span<iovec> iov, uint64_t bytes);

}  // namespace vhostd
