// CpuMask parsing and printing, following SPDK's cpumask syntax.
#include "base/cpu_mask.hpp"

#include <charconv>

namespace vhostd {
namespace {

Result<CpuMask> parse_list(std::string_view body) {
    CpuMask mask;
    for (bool more = true; more;) {
        const size_t comma = body.find(',');
        const std::string_view item = body.substr(0, comma);
        more = comma != std::string_view::npos;
        body = more ? body.substr(comma + 1) : std::string_view{};
        const size_t dash = item.find('-');
        unsigned first = 0;
        unsigned last = 0;
        auto parse_core = [](std::string_view s, unsigned& out) {
            auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
            return ec == std::errc{} && ptr == s.data() + s.size() && !s.empty() &&
                   out < CpuMask::kMaxCores;
        };
        if (!parse_core(item.substr(0, dash), first) ||
            !parse_core(
                dash == std::string_view::npos ? item.substr(0, dash) : item.substr(dash + 1),
                last) ||
            last < first) {
            return make_error(EINVAL, "bad core or range '{}' in cpu list", item);
        }
        for (unsigned core = first; core <= last; ++core) {
            mask.set(core);
        }
    }
    return mask;
}

Result<CpuMask> parse_hex(std::string_view digits) {
    if (digits.empty() || digits.size() > CpuMask::kMaxCores / 4) {
        return make_error(EINVAL, "cpu mask must have 1 to {} hex digits", CpuMask::kMaxCores / 4);
    }
    CpuMask mask;
    unsigned bit = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it, bit += 4) {
        unsigned nibble = 0;
        auto [ptr, ec] = std::from_chars(&*it, &*it + 1, nibble, 16);
        if (ec != std::errc{}) {
            return make_error(EINVAL, "'{}' is not a hex digit", *it);
        }
        for (unsigned i = 0; i < 4; ++i) {
            if ((nibble >> i) & 1U) {
                mask.set(bit + i);
            }
        }
    }
    return mask;
}

}  // namespace

Result<CpuMask> CpuMask::parse(std::string_view text) {
    Result<CpuMask> mask = [&]() -> Result<CpuMask> {
        if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
            return parse_list(text.substr(1, text.size() - 2));
        }
        if (text.starts_with("0x") || text.starts_with("0X")) {
            return parse_hex(text.substr(2));
        }
        return parse_hex(text);
    }();
    if (mask && mask->empty()) {
        return make_error(EINVAL, "cpu mask '{}' selects no core", text);
    }
    return mask;
}

CpuMask CpuMask::single(unsigned core) {
    CpuMask mask;
    mask.set(core);
    return mask;
}

std::vector<unsigned> CpuMask::cores() const {
    std::vector<unsigned> out;
    for (unsigned core = 0; core < kMaxCores; ++core) {
        if (bits_.test(core)) {
            out.push_back(core);
        }
    }
    return out;
}

std::string CpuMask::to_string() const {
    std::string hex;
    bool leading = true;
    for (int nibble = kMaxCores / 4 - 1; nibble >= 0; --nibble) {
        unsigned value = 0;
        for (unsigned i = 0; i < 4; ++i) {
            value |= static_cast<unsigned>(bits_.test(nibble * 4 + i)) << i;
        }
        if (value == 0 && leading && nibble != 0) {
            continue;
        }
        leading = false;
        hex.push_back("0123456789abcdef"[value]);
    }
    return "0x" + hex;
}

}  // namespace vhostd
