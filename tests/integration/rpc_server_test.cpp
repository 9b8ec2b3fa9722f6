// The JSON-RPC server on the wire, as SPDK's clients use it: framing without newlines, partial
// and coalesced writes, notifications, the standard error codes, hostile and slow clients,
// many clients at once, and I/O that keeps flowing through all of it.
#include <atomic>
#include <thread>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class RpcServer : public ::testing::Test {
  protected:
    void SetUp() override { START_VHOSTD(vhostd_); }
    VhostdProcess vhostd_{{.sockets = {"vhost.0"}}};
};

int error_code(const std::optional<json>& response) {
    return response && response->contains("error") ? (*response)["error"].value("code", 0) : 0;
}

TEST_F(RpcServer, AnswersInSpdksShape) {
    RawRpc rpc(vhostd_.rpc_socket());
    auto r = rpc.call("spdk_get_version", nullptr, 42);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["jsonrpc"], "2.0");
    EXPECT_EQ((*r)["id"], 42);
    EXPECT_EQ((*r)["result"]["version"], "vhostd v0.1.0");
    EXPECT_EQ((*r)["result"]["fields"]["major"], 0);
    EXPECT_EQ((*r)["result"]["fields"]["minor"], 1);
}

TEST_F(RpcServer, IdsOfEveryKindComeBackUnchanged) {
    RawRpc rpc(vhostd_.rpc_socket());
    for (const char* id : {R"("text")", "-7", "3.5", "null"}) {
        ASSERT_TRUE(
            rpc.send(fmt::format(R"({{"jsonrpc":"2.0","method":"log_get_level","id":{}}})", id)));
        auto r = rpc.receive();
        ASSERT_TRUE(r) << id;
        EXPECT_EQ((*r)["id"], json::parse(id));
        EXPECT_TRUE(r->contains("result"));
    }
}

TEST_F(RpcServer, ARequestWrittenByteByByte) {
    RawRpc rpc(vhostd_.rpc_socket());
    const std::string request =
        R"({"jsonrpc": "2.0", "method": "bdev_get_bdevs", "params": {"name": "Malloc0"}, "id": 9})";
    for (char c : request) {
        ASSERT_TRUE(rpc.send(std::string_view(&c, 1)));
    }
    auto r = rpc.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["id"], 9);
    EXPECT_EQ((*r)["result"][0]["name"], "Malloc0");
}

TEST_F(RpcServer, SeveralRequestsInOneWriteAndNotificationsUnanswered) {
    RawRpc rpc(vhostd_.rpc_socket());
    std::string burst;
    for (int id = 1; id <= 50; ++id) {
        burst += fmt::format(R"({{"jsonrpc":"2.0","method":"spdk_get_version","id":{}}})", id);
        // A notification, even one that fails, gets no response (JSON-RPC 2.0 section 4.1).
        burst += R"( {"jsonrpc":"2.0","method":"no_such_method"} )";
    }
    ASSERT_TRUE(rpc.send(burst));
    for (int id = 1; id <= 50; ++id) {
        auto r = rpc.receive();
        ASSERT_TRUE(r) << id;
        EXPECT_EQ((*r)["id"], id);
    }
    EXPECT_FALSE(rpc.receive(300ms));
}

TEST_F(RpcServer, StandardErrorCodes) {
    RawRpc rpc(vhostd_.rpc_socket());
    EXPECT_EQ(error_code(rpc.call("no_such_method")), -32601);
    auto r = rpc.call("bdev_get_bdevs", {{"name", 5}});
    EXPECT_EQ(error_code(r), -32602);
    EXPECT_NE((*r)["error"]["message"].get<std::string>().find("params.name"), std::string::npos);
    r = rpc.call("bdev_malloc_create", {{"name", "M"}, {"block_size", 512}});
    EXPECT_EQ(error_code(r), -32602);
    EXPECT_NE((*r)["error"]["message"].get<std::string>().find("num_blocks"), std::string::npos);
    EXPECT_EQ(error_code(rpc.call("bdev_get_bdevs", {{"bogus", 1}})), -32602);
    EXPECT_EQ(error_code(rpc.call("bdev_get_bdevs", json::array({1}))), -32602);

    // Envelope errors keep the connection open.
    ASSERT_TRUE(rpc.send(R"({"method":"spdk_get_version","id":3})"));
    r = rpc.receive();
    EXPECT_EQ(error_code(r), -32600);
    EXPECT_EQ((*r)["id"], 3);
    ASSERT_TRUE(rpc.send("[]"));
    r = rpc.receive();
    EXPECT_EQ(error_code(r), -32600);  // JSON-RPC 2.0 section 6: an empty batch
    EXPECT_TRUE((*r)["id"].is_null());
    ASSERT_TRUE(rpc.send(R"({"jsonrpc":"2.0","method":"spdk_get_version","id":{"x":1}})"));
    EXPECT_EQ(error_code(rpc.receive()), -32600);
    EXPECT_TRUE(rpc.call("spdk_get_version"));
}

TEST_F(RpcServer, BatchesAreAnsweredWithOneArrayAsCurrentSpdkDoes) {
    RawRpc rpc(vhostd_.rpc_socket());
    // Two calls, a notification, an invalid element and an unknown method, in one array.
    ASSERT_TRUE(rpc.send(R"([
        {"jsonrpc":"2.0","method":"bdev_malloc_create",
         "params":{"name":"B0","num_blocks":128,"block_size":512},"id":"a"},
        {"jsonrpc":"2.0","method":"bdev_malloc_create",
         "params":{"name":"B1","num_blocks":128,"block_size":512}},
        {"jsonrpc":"2.0","method":"bdev_get_bdevs","params":{"name":"B1"},"id":2},
        {"method":"spdk_get_version","id":3},
        {"jsonrpc":"2.0","method":"no_such_method","id":4}
    ])"));
    auto r = rpc.receive();
    ASSERT_TRUE(r && r->is_array()) << (r ? r->dump() : "no answer");
    ASSERT_EQ(r->size(), 4U) << r->dump() << " (the notification gets no response)";
    EXPECT_EQ((*r)[0]["id"], "a");
    EXPECT_EQ((*r)[0]["result"], "B0");
    EXPECT_EQ((*r)[1]["id"], 2);
    EXPECT_EQ((*r)[1]["result"][0]["name"], "B1") << "the notification was still carried out";
    EXPECT_EQ((*r)[2]["id"], 3);
    EXPECT_EQ((*r)[2]["error"]["code"], -32600);
    EXPECT_EQ((*r)[3]["error"]["code"], -32601);

    // Notifications only: no answer at all, and the connection carries on.
    ASSERT_TRUE(
        rpc.send(R"([{"jsonrpc":"2.0","method":"log_set_level","params":{"level":"INFO"}}])"));
    auto version = rpc.call("spdk_get_version", nullptr, 9);
    ASSERT_TRUE(version);
    EXPECT_EQ((*version)["id"], 9) << "nothing came before the next answer";

    // Current SPDK's bdev_get_iostat names bdevs in an array.
    auto iostat = rpc.call("bdev_get_iostat", {{"names", {"B1", "B0"}}, {"per_channel", false}});
    ASSERT_TRUE(iostat && iostat->contains("result")) << (iostat ? iostat->dump() : "");
    ASSERT_EQ((*iostat)["result"]["bdevs"].size(), 2U);
    EXPECT_EQ((*iostat)["result"]["bdevs"][0]["name"], "B1");

    // framework_get_config takes current SPDK's with_batches (our configs have no batches).
    auto config = rpc.call("framework_get_config", {{"name", "bdev"}, {"with_batches", true}});
    ASSERT_TRUE(config && config->contains("result")) << (config ? config->dump() : "");
    EXPECT_EQ(error_code(rpc.call("framework_get_config", {{"name", "bdev"}, {"with_batches", 1}})),
              -32602);
}

TEST_F(RpcServer, MalformedJsonIsAnsweredThenTheConnectionClosed) {
    for (const char* bad :
         {R"({"jsonrpc": "2.0", "method": })", "\x01\x02\x03garbage", "<html>", R"({"a": 1])"}) {
        RawRpc rpc(vhostd_.rpc_socket());
        ASSERT_TRUE(rpc.send(bad));
        auto r = rpc.receive();
        EXPECT_EQ(error_code(r), -32700) << bad;
        EXPECT_TRUE(rpc.closed_by_server()) << bad;
    }
    EXPECT_TRUE(RawRpc(vhostd_.rpc_socket()).call("spdk_get_version"));
}

TEST_F(RpcServer, ARequestOverOneMebibyteIsRefusedAndTheConnectionClosed) {
    RawRpc rpc(vhostd_.rpc_socket());
    std::string huge = R"({"jsonrpc":"2.0","method":"bdev_get_bdevs","params":{"name":")";
    huge += std::string(2 << 20, 'a');
    huge += R"("},"id":1})";
    rpc.send(huge);  // the server stops reading and hangs up part way
    auto r = rpc.receive();
    EXPECT_EQ(error_code(r), -32600);
    EXPECT_NE((*r)["error"]["message"].get<std::string>().find("larger than"), std::string::npos);
    EXPECT_TRUE(rpc.closed_by_server());
    EXPECT_TRUE(RawRpc(vhostd_.rpc_socket()).call("spdk_get_version"));
}

TEST_F(RpcServer, ASilentOrNonReadingClientBlocksNobody) {
    RawRpc silent(vhostd_.rpc_socket());
    ASSERT_TRUE(silent.send(R"({"jsonrpc":"2.0","method":)"));  // and never finishes
    // A client that floods requests and never reads its answers.
    RawRpc flooder(vhostd_.rpc_socket());
    std::thread flood([&] {
        const std::string request = R"({"jsonrpc":"2.0","method":"bdev_get_bdevs","id":1})";
        for (int i = 0; i < 20000 && flooder.send(request); ++i) {
        }
    });
    for (int i = 0; i < 20; ++i) {
        const auto start = std::chrono::steady_clock::now();
        ASSERT_TRUE(RawRpc(vhostd_.rpc_socket()).call("spdk_get_version"));
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    }
    vhostd_.stop();
    flood.join();
}

TEST_F(RpcServer, HundredConcurrentClients) {
    constexpr int kClients = 100;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
        threads.emplace_back([&, c] {
            RawRpc rpc(vhostd_.rpc_socket());
            for (int i = 0; i < 10; ++i) {
                auto r = rpc.call(i % 2 == 0 ? "bdev_get_bdevs" : "vhost_get_controllers", nullptr,
                                  c * 100 + i);
                if (r && (*r)["id"] == c * 100 + i && r->contains("result")) {
                    ++ok;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(ok, kClients * 10);
}

TEST_F(RpcServer, ClientsBeyondTheCapAreToldWhy) {
    std::vector<std::unique_ptr<RawRpc>> held;
    for (int i = 0; i < 128; ++i) {
        held.push_back(std::make_unique<RawRpc>(vhostd_.rpc_socket()));
        ASSERT_TRUE(held.back()->connected());
    }
    ASSERT_TRUE(held.back()->call("spdk_get_version"));  // all 128 accepted
    RawRpc extra(vhostd_.rpc_socket());
    auto r = extra.receive();
    EXPECT_EQ(error_code(r), -32603);
    EXPECT_NE((*r)["error"]["message"].get<std::string>().find("Too many"), std::string::npos);
    held.clear();
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(RawRpc(vhostd_.rpc_socket()).call("spdk_get_version"));
}

TEST_F(RpcServer, AClientGoneBeforeItsAsyncReplyHarmsNothing) {
    for (int i = 0; i < 5; ++i) {
        {
            RawRpc rpc(vhostd_.rpc_socket());
            ASSERT_TRUE(rpc.call(
                "bdev_malloc_create",
                {{"name", fmt::format("M{}", i)}, {"num_blocks", 64}, {"block_size", 512}}));
            ASSERT_TRUE(
                rpc.call("vhost_create_blk_controller",
                         {{"ctrlr", fmt::format("c{}", i)}, {"dev_name", fmt::format("M{}", i)}}));
            // vhost_delete_controller answers after the controller has drained; hang up first.
            ASSERT_TRUE(rpc.send(fmt::format(
                R"({{"jsonrpc":"2.0","method":"vhost_delete_controller","params":{{"ctrlr":"c{}"}},"id":1}})",
                i)));
        }
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(vhostd_.running());
    auto r = RawRpc(vhostd_.rpc_socket()).call("vhost_get_controllers");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["result"].size(), 1U);  // only vhost.0 is left
}

TEST_F(RpcServer, IoKeepsFlowingDuringAnRpcStorm) {
    auto client = connect_client(client_options(vhostd_.socket("vhost.0")));
    ASSERT_TRUE(client);
    std::atomic<bool> stop{false};
    std::atomic<int> io_errors{0};
    std::atomic<int> io_done{0};
    std::thread io([&] {
        const auto data = pattern(7, 4096);
        std::vector<std::byte> back(4096);
        for (uint64_t i = 0; !stop; ++i) {
            const uint64_t sector = (i * 8) % 100000;
            auto w = client->write(sector, data);
            auto r = client->read(sector, back);
            if (!w || *w != kOk || !r || *r != kOk || back != data) {
                ++io_errors;
            }
            ++io_done;
        }
    });
    std::vector<std::thread> storm;
    std::atomic<int> answered{0};
    for (int c = 0; c < 100; ++c) {
        storm.emplace_back([&, c] {
            RawRpc rpc(vhostd_.rpc_socket());
            for (int i = 0; i < 20; ++i) {
                const char* method = (i % 3 == 0)   ? "bdev_get_bdevs"
                                     : (i % 3 == 1) ? "vhost_get_controllers"
                                                    : "framework_get_reactors";
                if (rpc.call(method, nullptr, c)) {
                    ++answered;
                }
            }
            rpc.send("garbage that closes this client");
        });
    }
    for (auto& t : storm) {
        t.join();
    }
    stop = true;
    io.join();
    EXPECT_EQ(answered, 100 * 20);
    EXPECT_EQ(io_errors, 0);
    EXPECT_GT(io_done, 0);
}

}  // namespace
}  // namespace vhostd::testing
