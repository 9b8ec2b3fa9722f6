// Fuzzes the JSON-RPC request path short of the methods' side effects: the input is cut into
// reads (sizes from the input), framed by JsonStream, decoded as JSON-RPC envelopes, and each
// request's params read through Params with the getters the methods use. Checks: no crash, no
// value over the size limit, every response is one line of valid JSON with the request's id.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/log.hpp"
#include "fuzz_check.hpp"
#include "rpc/json_stream.hpp"
#include "rpc/method_table.hpp"
#include "rpc/params.hpp"
#include "rpc/request.hpp"

using namespace vhostd;
using namespace vhostd::rpc;

namespace {

// The shapes of vhostd's parameter lists: required and optional strings, integers, booleans,
// defaults-only fields and the unknown-field check.
RpcResult typed_params(const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const uint64_t blocks = RPC_TRY(p.u64("num_blocks"));
    RPC_TRY(p.optional_string("uuid"));
    RPC_TRY(p.optional_u64("block_size"));
    RPC_TRY(p.optional_bool("readonly"));
    RPC_TRY(p.only_default("md_size", 0));
    RPC_TRY(p.only_default("transport", "vhost_user_blk"));
    RPC_TRY(p.finish());
    return nlohmann::json{{"name", name}, {"num_blocks", blocks}};
}

RpcResult optional_params(const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    RPC_TRY(p.optional_u64("timeout"));
    RPC_TRY(p.finish());
    return name ? nlohmann::json(*name) : nlohmann::json(true);
}

const MethodTable& methods() {
    static const MethodTable table = [] {
        MethodTable t;
        t.add_sync("bdev_malloc_create", typed_params);
        t.add_sync("bdev_get_bdevs", optional_params);
        t.add_sync("echo", [](const nlohmann::json* p) -> RpcResult {
            return p == nullptr ? nlohmann::json() : *p;
        });
        return t;
    }();
    return table;
}

void answer(const nlohmann::json& id, const RpcResult& result) {
    const std::string line = encode_response(id, result);
    FUZZ_CHECK(!line.empty() && line.back() == '\n');
    FUZZ_CHECK(line.find('\n') == line.size() - 1);
    const nlohmann::json back = nlohmann::json::parse(line, nullptr, false);
    FUZZ_CHECK(!back.is_discarded());
    FUZZ_CHECK(back["jsonrpc"] == "2.0");
    FUZZ_CHECK(back.contains("result") != back.contains("error"));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    vhostd::log::set_level(vhostd::log::Level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    // First byte: the read size (1..256), so one input is also tried split differently.
    const size_t read_size = 1 + data[0];
    const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
    JsonStream input;
    for (size_t at = 0; at < stream.size(); at += read_size) {
        input.append(stream.substr(at, read_size));
        for (;;) {
            const JsonStream::Status status = input.next();
            if (status == JsonStream::Status::incomplete) {
                break;
            }
            if (status != JsonStream::Status::value) {
                return 0;  // the server answers once and hangs up
            }
            FUZZ_CHECK(input.value().size() <= JsonStream::kMaxValueBytes);
            auto request = decode_request(input.value());
            if (!request) {
                answer(request.error().id, std::unexpected(request.error().error));
                if (request.error().close) {
                    return 0;
                }
                continue;
            }
            const nlohmann::json* params = request->params ? &*request->params : nullptr;
            bool replied = false;
            methods().call(request->method, params, [&](RpcResult result) {
                replied = true;
                if (request->id) {
                    answer(*request->id, result);
                }
            });
            FUZZ_CHECK(replied);
        }
    }
    return 0;
}
