// CpuMask: a set of CPU cores, parsed from SPDK's forms: "0x3" (hex mask), "[0,2-3]" (list),
// or a bare decimal/hex number.
#pragma once

#include <bitset>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace vhostd {

class CpuMask {
  public:
    static constexpr unsigned kMaxCores = 1024;

    CpuMask() = default;
    static Result<CpuMask> parse(std::string_view text);
    static CpuMask single(unsigned core);

    void set(unsigned core) { bits_.set(core); }
    [[nodiscard]] bool test(unsigned core) const { return core < kMaxCores && bits_.test(core); }
    [[nodiscard]] bool empty() const { return bits_.none(); }
    [[nodiscard]] size_t count() const { return bits_.count(); }
    // Cores in ascending order.
    [[nodiscard]] std::vector<unsigned> cores() const;
    // True if every core of this mask is also in `other`.
    [[nodiscard]] bool subset_of(const CpuMask& other) const {
        return (bits_ & ~other.bits_).none();
    }
    // "0x3": the form SPDK prints.
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const CpuMask&, const CpuMask&) = default;

  private:
    std::bitset<kMaxCores> bits_;
};

}  // namespace vhostd
