// UUID generation (getrandom) and parsing.
#include "block/uuid.hpp"

#include <array>
#include <cstdint>
#include <random>

#include <sys/random.h>

namespace vhostd::block {
namespace {

constexpr size_t kUuidTextLength = 36;

bool is_dash_position(size_t i) {
    return i == 8 || i == 13 || i == 18 || i == 23;
}

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string generate_uuid() {
    std::array<uint8_t, 16> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
        // getrandom only fails on kernels older than 3.17 or when interrupted early in boot.
        std::random_device device;
        for (auto& b : bytes) {
            b = static_cast<uint8_t>(device());
        }
    }
    bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);  // 4.1.3: version 4 (random)
    bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);  // 4.1.1: RFC 4122 variant
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    text.reserve(kUuidTextLength);
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            text.push_back('-');
        }
        text.push_back(kHex[bytes[i] >> 4]);
        text.push_back(kHex[bytes[i] & 0x0f]);
    }
    return text;
}

Result<std::string> normalize_uuid(std::string_view text) {
    bool ok = text.size() == kUuidTextLength;
    for (size_t i = 0; ok && i < text.size(); ++i) {
        ok = is_dash_position(i) ? text[i] == '-' : is_hex_digit(text[i]);
    }
    if (!ok) {
        // Not echoed: the text may hold anything, control characters included.
        return make_error(EINVAL,
                          "invalid UUID ({} bytes): expected the form "
                          "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx with hex digits",
                          text.size());
    }
    std::string lower(text);
    for (char& c : lower) {
        if (c >= 'A' && c <= 'F') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return lower;
}

}  // namespace vhostd::block
