// Workload: slices, op generation and rate pacing.
#include "workload.hpp"

namespace vhostd::bench {

Slice queue_slice(uint64_t total_units, uint16_t queues, uint16_t q) {
    const uint64_t first = total_units * q / queues;
    const uint64_t end = total_units * (uint64_t{q} + 1) / queues;
    return Slice{first, end - first};
}

OpGenerator::OpGenerator(Pattern pattern, unsigned rwmixread, Slice slice, uint64_t seed)
    : pattern_(pattern), rwmixread_(rwmixread), slice_(slice), random_(seed) {}

OpGenerator::Op OpGenerator::next() noexcept {
    uint64_t offset;
    if (is_random(pattern_)) {
        offset = random_.below(slice_.units);
    } else {
        offset = cursor_;
        cursor_ = cursor_ + 1 == slice_.units ? 0 : cursor_ + 1;
    }
    bool write = false;
    switch (pattern_) {
        case Pattern::read:
        case Pattern::randread:
            break;
        case Pattern::write:
        case Pattern::randwrite:
            write = true;
            break;
        case Pattern::rw:
        case Pattern::randrw:
            write = random_.below(100) >= rwmixread_;
            break;
    }
    return Op{slice_.first_unit + offset, write};
}

uint64_t RatePacer::allowance(uint64_t now_ns, uint64_t started) noexcept {
    if (iops_ == 0) {
        return UINT64_MAX;
    }
    const auto due =
        static_cast<uint64_t>(static_cast<unsigned __int128>(now_ns) * iops_ / 1'000'000'000ULL) -
        skipped_;
    if (due <= started) {
        return 0;
    }
    if (due - started > burst_) {
        // Behind by more than a burst (a stall): forfeit the excess instead of bursting later.
        skipped_ += due - started - burst_;
        return burst_;
    }
    return due - started;
}

}  // namespace vhostd::bench
