// Subsystem records: listen addresses as SPDK prints them, and the namespace identifiers
// derived from a UUID.
#include "targets/nvmf/subsystem.hpp"

namespace vhostd::targets::nvmf {
namespace {

uint8_t hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return static_cast<uint8_t>(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return static_cast<uint8_t>(c - 'a' + 10);
    }
    return static_cast<uint8_t>(c - 'A' + 10);
}

}  // namespace

nlohmann::json ListenAddress::to_json() const {
    return {{"trtype", trtype},
            {"adrfam", adrfam.empty() ? std::string("unknown") : adrfam},
            {"traddr", traddr},
            {"trsvcid", trsvcid}};
}

std::array<uint8_t, 16> uuid_bytes(const std::string& uuid) {
    std::array<uint8_t, 16> bytes{};
    size_t out = 0;
    for (size_t i = 0; i + 1 < uuid.size() && out < bytes.size();) {
        if (uuid[i] == '-') {
            ++i;
            continue;
        }
        bytes[out++] = static_cast<uint8_t>(hex_value(uuid[i]) << 4 | hex_value(uuid[i + 1]));
        i += 2;
    }
    return bytes;
}

std::string hex_upper(const uint8_t* bytes, size_t size) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(size * 2);
    for (size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0xf]);
    }
    return out;
}

std::string nguid_of(const std::string& uuid) {
    const auto bytes = uuid_bytes(uuid);
    return hex_upper(bytes.data(), bytes.size());
}

std::string eui64_of(const std::string& uuid) {
    const auto bytes = uuid_bytes(uuid);
    std::array<uint8_t, 8> eui{};
    for (size_t i = 0; i < eui.size(); ++i) {
        eui[i] = static_cast<uint8_t>(bytes[i] ^ bytes[i + 8]);
    }
    return hex_upper(eui.data(), eui.size());
}

}  // namespace vhostd::targets::nvmf
