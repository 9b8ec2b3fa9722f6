// VERSION: strict parsing of the client's capabilities, and our reply.
#include "vfio_user/capabilities.hpp"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

namespace vhostd::vfio_user {

namespace {

using nlohmann::json;

// A capability that must be an unsigned integer; `out` is left alone when it is absent.
Result<void> unsigned_capability(const json& caps, const char* key, uint64_t& out, bool& named,
                                 bool nonzero) {
    const auto it = caps.find(key);
    if (it == caps.end()) {
        return {};
    }
    if (!it->is_number_unsigned()) {
        return make_error(EINVAL, "VERSION: capability {} is not an unsigned integer", key);
    }
    const uint64_t value = it->get<uint64_t>();
    if (nonzero && value == 0) {
        return make_error(EINVAL, "VERSION: capability {} is 0", key);
    }
    out = value;
    named = true;
    return {};
}

Result<void> parse_capabilities(const json& caps, ClientCapabilities& client) {
    namespace cap = capability;
    VHOSTD_TRY(unsigned_capability(caps, cap::kMaxMsgFds, client.max_msg_fds,
                                   client.named_max_msg_fds, false));
    // A client that can take no data at all could not even read a register.
    VHOSTD_TRY(unsigned_capability(caps, cap::kMaxDataXferSize, client.max_data_xfer_size,
                                   client.named_max_data_xfer_size, true));
    VHOSTD_TRY(unsigned_capability(caps, cap::kMaxDmaMaps, client.max_dma_maps,
                                   client.named_max_dma_maps, false));
    VHOSTD_TRY(
        unsigned_capability(caps, cap::kPgsizes, client.pgsizes, client.named_pgsizes, true));
    // Spec "Version": migration and twin_socket are objects, write_multiple a boolean. We
    // support none of them; a well-typed proposal is simply not echoed.
    for (const char* key : {cap::kMigration, cap::kTwinSocket}) {
        if (const auto it = caps.find(key); it != caps.end() && !it->is_object()) {
            return make_error(EINVAL, "VERSION: capability {} is not an object", key);
        }
    }
    if (const auto it = caps.find(cap::kWriteMultiple); it != caps.end() && !it->is_boolean()) {
        return make_error(EINVAL, "VERSION: capability {} is not a boolean", cap::kWriteMultiple);
    }
    return {};
}

}  // namespace

Result<ClientCapabilities> parse_version(const Message& message) {
    const auto version = VHOSTD_TRY(message.prefix_as<Version>());
    // Spec "Version": the proposal carries no file descriptors (twin_socket's comes with the
    // reply).
    if (!message.fds.empty()) {
        return make_error(EINVAL, "VERSION: came with {} file descriptors", message.fds.size());
    }
    // Spec "Version": the reply's major must equal the proposal's; we speak only ours.
    if (version.major != kMajor) {
        return make_error(ENOTSUP, "VERSION: client speaks major version {}, we speak {}",
                          version.major, kMajor);
    }
    ClientCapabilities client;
    client.major = version.major;
    client.minor = version.minor;
    const auto data = message.body().subspan(sizeof(Version));
    if (data.empty()) {
        return client;  // no version data: every capability at its default (SPDK's client)
    }
    if (data.size() > kMaxVersionData) {
        return make_error(E2BIG, "VERSION: {} bytes of version data (at most {})", data.size(),
                          kMaxVersionData);
    }
    // Spec "Version": UTF-8 JSON "including terminating NUL". Anything after the JSON text,
    // a NUL inside it included, makes it malformed.
    if (data.back() != std::byte{0}) {
        return make_error(EINVAL, "VERSION: version data is not NUL-terminated");
    }
    const auto* text = reinterpret_cast<const char*>(data.data());
    const json root = json::parse(text, text + data.size() - 1, nullptr,
                                  /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object()) {
        return make_error(EINVAL, "VERSION: version data is not a JSON object");
    }
    client.has_json = true;
    const auto caps = root.find(capability::kCapabilities);
    if (caps == root.end()) {
        return client;
    }
    if (!caps->is_object()) {
        return make_error(EINVAL, "VERSION: \"capabilities\" is not an object");
    }
    VHOSTD_TRY(parse_capabilities(*caps, client));
    return client;
}

Reply version_reply(const ClientCapabilities& client, const ServerCapabilities& server) {
    Reply reply;
    reply.append(Version{client.major, std::min(client.minor, kMinor)});
    if (!client.has_json) {
        return reply;
    }
    json caps = json::object();
    if (client.named_max_msg_fds) {
        caps[capability::kMaxMsgFds] = server.max_msg_fds;
    }
    if (client.named_max_data_xfer_size) {
        caps[capability::kMaxDataXferSize] = server.max_data_xfer_size;
    }
    if (client.named_max_dma_maps) {
        caps[capability::kMaxDmaMaps] = server.max_dma_maps;
    }
    if (client.named_pgsizes) {
        caps[capability::kPgsizes] = server.pgsizes;
    }
    json root = json::object();
    root[capability::kCapabilities] = std::move(caps);
    const std::string text = root.dump();
    reply.append(std::as_bytes(std::span(text.data(), text.size() + 1)));  // with its NUL
    return reply;
}

}  // namespace vhostd::vfio_user
