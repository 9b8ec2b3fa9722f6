// NQN validation (NVMe Base Specification 2.0, 4.5).
#include "targets/nvmf/nqn.hpp"

#include <cstdint>

#include "block/uuid.hpp"

namespace vhostd::targets::nvmf {
namespace {

constexpr size_t kMaxLength = 223;  // 4.5: at most 223 bytes
constexpr size_t kMinLength = 11;   // "nqn.yyyy-mm" (SPDK's minimum too)
constexpr size_t kMaxLabel = 63;    // RFC 1035 2.3.4: a domain label is at most 63 octets
constexpr std::string_view kUuidPrefix = "nqn.2014-08.org.nvmexpress:uuid:";
constexpr size_t kUuidTextLength = 36;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 1035 2.3.1: labels start with a letter, hold letters, digits and hyphens, and end with a
// letter or digit; 4.5 writes the domain reversed, which changes nothing about its labels.
bool valid_reverse_domain(std::string_view domain) {
    if (domain.empty()) {
        return false;
    }
    size_t start = 0;
    while (start <= domain.size()) {
        const size_t dot = domain.find('.', start);
        const size_t end = dot == std::string_view::npos ? domain.size() : dot;
        const std::string_view label = domain.substr(start, end - start);
        if (label.empty() || label.size() > kMaxLabel || !is_letter(label.front()) ||
            label.back() == '-') {
            return false;
        }
        for (char c : label) {
            if (!is_letter(c) && !is_digit(c) && c != '-') {
                return false;
            }
        }
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return true;
}

// 4.5: NQNs are UTF-8. Control characters are refused too: the NQN shows in logs and
// listings.
bool valid_utf8_text(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<uint8_t>(text[i]);
        size_t extra = 0;
        uint32_t code = 0;
        if (lead < 0x80) {
            if (lead < 0x20 || lead == 0x7f) {
                return false;
            }
            ++i;
            continue;
        }
        if ((lead & 0xe0) == 0xc0) {
            extra = 1;
            code = lead & 0x1f;
        } else if ((lead & 0xf0) == 0xe0) {
            extra = 2;
            code = lead & 0x0f;
        } else if ((lead & 0xf8) == 0xf0) {
            extra = 3;
            code = lead & 0x07;
        } else {
            return false;
        }
        if (text.size() - i <= extra) {
            return false;
        }
        for (size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<uint8_t>(text[i + k]);
            if ((next & 0xc0) != 0x80) {
                return false;
            }
            code = (code << 6) | (next & 0x3f);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 (RFC 3629 3).
        constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
        if (code < kMinForLength[extra] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

}  // namespace

Result<void> check_nqn(std::string_view nqn) {
    if (nqn.size() > kMaxLength) {
        return make_error(EINVAL, "invalid NQN: {} bytes, at most {}", nqn.size(), kMaxLength);
    }
    if (nqn.size() < kMinLength) {
        return make_error(EINVAL, "invalid NQN \"{}\": too short", nqn);
    }
    if (!valid_utf8_text(nqn)) {
        // Not echoed: it may hold control characters or broken UTF-8.
        return make_error(EINVAL, "invalid NQN: not printable UTF-8 text");
    }
    if (nqn == kDiscoveryNqn) {
        return {};
    }
    if (nqn.starts_with(kUuidPrefix)) {
        const std::string_view uuid = nqn.substr(kUuidPrefix.size());
        if (uuid.size() != kUuidTextLength || !block::normalize_uuid(uuid)) {
            return make_error(EINVAL, "invalid NQN \"{}\": expected a UUID after \"{}\"", nqn,
                              kUuidPrefix);
        }
        return {};
    }
    if (!nqn.starts_with("nqn.")) {
        return make_error(EINVAL, "invalid NQN \"{}\": it must begin with \"nqn.\"", nqn);
    }
    // "nqn.yyyy-mm." : the date the naming authority owned the domain.
    if (nqn.size() < 12 || !is_digit(nqn[4]) || !is_digit(nqn[5]) || !is_digit(nqn[6]) ||
        !is_digit(nqn[7]) || nqn[8] != '-' || !is_digit(nqn[9]) || !is_digit(nqn[10]) ||
        nqn[11] != '.') {
        return make_error(EINVAL, "invalid NQN \"{}\": expected nqn.yyyy-mm. first", nqn);
    }
    const size_t colon = nqn.find(':', 12);
    if (colon == std::string_view::npos || colon + 1 == nqn.size()) {
        return make_error(EINVAL, "invalid NQN \"{}\": expected a ':' and a name after the domain",
                          nqn);
    }
    if (!valid_reverse_domain(nqn.substr(12, colon - 12))) {
        return make_error(EINVAL,
                          "invalid NQN \"{}\": the domain's labels must start with a letter and "
                          "hold only letters, digits and inner '-'",
                          nqn);
    }
    return {};
}

}  // namespace vhostd::targets::nvmf
