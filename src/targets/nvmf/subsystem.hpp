// Subsystem: an NVMe-oF subsystem as SPDK's nvmf_* methods shape it: its identity (NQN, serial
// and model numbers), its namespaces (by bdev name: the bdevs themselves are held by the
// controllers), and its listeners (one NvmfController each, named by its socket path).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vhostd::targets::nvmf {

// nvmf_create_subsystem's parameters as vhostd keeps them (SPDK's names and defaults).
struct SubsystemSettings {
    std::string nqn;
    std::string serial_number = "00000000000000000000";
    std::string model_number = "vhostd NVMe Controller";
    bool allow_any_host = false;  // reported: vfio-user clients carry no host NQN
    uint32_t max_namespaces = 32;
    uint16_t min_cntlid = 1;
    uint16_t max_cntlid = 0xffef;
    std::string admin_label;
    // Reported and saved as given (SPDK's defaults): vhostd's controller sets its own limits.
    uint64_t dmrsl = 0;
    uint64_t wzsl = 0;
};

struct NamespaceRecord {
    uint32_t nsid = 0;
    std::string bdev_name;
    // Canonical lowercase (the bdev's unless one was given); NGUID is its 16 bytes, EUI-64
    // the XOR of their halves (nvme/namespace.cpp).
    std::string uuid;
};

struct ListenAddress {
    std::string trtype = "VFIOUSER";
    std::string adrfam;  // reported as given ("unknown" when absent, as SPDK)
    std::string traddr;  // a directory; the socket is TRADDR/cntrl
    std::string trsvcid;

    [[nodiscard]] nlohmann::json to_json() const;
};

struct Listener {
    ListenAddress address;
    std::string controller;  // the NvmfController's name: the socket path
    std::string cpumask;     // vhostd's "cpumask" parameter as given (empty: every reactor)
    uint16_t cntlid = 0;
};

struct Subsystem {
    SubsystemSettings settings;
    std::vector<NamespaceRecord> namespaces;  // by NSID
    std::vector<Listener> listeners;          // in creation order
    // nvmf_subsystem_add_host's host NQNs: recorded, listed and saved, not enforced (a
    // vfio-user client presents no host NQN; the socket file's mode and group decide who
    // connects).
    std::vector<std::string> hosts;
    uint16_t next_cntlid = 0;  // 0: min_cntlid
    // An operation that finishes later (namespace or listener removal, deletion) is running:
    // other changes are refused (EBUSY) until it has.
    bool busy = false;
};

// "fef9b179-b948-..." -> its 16 bytes; the text is canonical (block::normalize_uuid's).
[[nodiscard]] std::array<uint8_t, 16> uuid_bytes(const std::string& uuid);
// Upper-case hex, as SPDK prints NGUID and EUI-64.
[[nodiscard]] std::string hex_upper(const uint8_t* bytes, size_t size);
// The NGUID and EUI-64 vhostd's namespaces derive from their UUID (nvme/namespace.cpp).
[[nodiscard]] std::string nguid_of(const std::string& uuid);
[[nodiscard]] std::string eui64_of(const std::string& uuid);

}  // namespace vhostd::targets::nvmf
