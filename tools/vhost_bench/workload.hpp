// Workload: what one queue submits next. Each queue owns a contiguous slice of the LBA range
// (in units of --bs), so queues never touch the same block and need no shared state; random
// patterns pick uniformly inside the slice, sequential ones walk it and wrap.
#pragma once

#include <cstdint>

#include "options.hpp"

namespace vhostd::bench {

// xorshift64*: a few cycles per number, good enough to spread I/Os.
class FastRandom {
  public:
    explicit FastRandom(uint64_t seed) : state_(seed == 0 ? 0x9e3779b97f4a7c15ULL : seed) {}
    uint64_t next() noexcept {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545f4914f6cdd1dULL;
    }
    // Uniform in [0, bound) (Lemire's multiply-shift; bias is negligible for bound << 2^64).
    uint64_t below(uint64_t bound) noexcept {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
    }

  private:
    uint64_t state_;
};

struct Slice {
    uint64_t first_unit = 0;
    uint64_t units = 0;
};

// The slice of queue `q` of `queues` when the range holds `total_units` units.
Slice queue_slice(uint64_t total_units, uint16_t queues, uint16_t q);

class OpGenerator {
  public:
    OpGenerator(Pattern pattern, unsigned rwmixread, Slice slice, uint64_t seed);

    // Next unit (absolute unit number) and direction. Callers skip units still in flight by
    // calling again (verify mode).
    struct Op {
        uint64_t unit;
        bool write;
    };
    Op next() noexcept;
    [[nodiscard]] const Slice& slice() const { return slice_; }

  private:
    Pattern pattern_;
    unsigned rwmixread_;
    Slice slice_;
    uint64_t cursor_ = 0;  // sequential position inside the slice
    FastRandom random_;
};

// Token bucket for --rate: how many I/Os may start by `now_ns` (since the run's start).
class RatePacer {
  public:
    RatePacer(uint64_t iops, uint32_t burst) : iops_(iops), burst_(burst) {}
    [[nodiscard]] bool unlimited() const { return iops_ == 0; }
    // I/Os allowed now, given `started` so far; a stall does not build up more than one burst.
    uint64_t allowance(uint64_t now_ns, uint64_t started) noexcept;

  private:
    uint64_t iops_;
    uint32_t burst_;
    uint64_t skipped_ = 0;  // credit forfeited after stalls
};

}  // namespace vhostd::bench
