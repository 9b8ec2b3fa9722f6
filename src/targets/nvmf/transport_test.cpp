// VFIOUSER transport options: rpc.py's and SPDK's save_config params are accepted, the
// honoured ones reach the controller options, what cannot work is refused, and the report
// parses back to the same options.
#include "targets/nvmf/transport.hpp"

#include <gtest/gtest.h>

namespace vhostd::targets::nvmf {
namespace {

using nlohmann::json;

TEST(TransportTest, DefaultsAreSpdksAndMapped) {
    const json params = {{"trtype", "VFIOUSER"}};
    auto parsed = parse_transport(&params);
    ASSERT_TRUE(parsed) << parsed.error().message;
    nvme::ControllerOptions options;
    parsed->apply(options);
    EXPECT_EQ(options.mqes, 255);
    EXPECT_EQ(options.num_io_queues, 127);
    EXPECT_EQ(options.doorbell_mode, nvme::DoorbellMode::mapped);
    EXPECT_TRUE(options.shadow_doorbells);
}

TEST(TransportTest, RpcPyParamsWithTheDoorbellSwitches) {
    // What SPDK's rpc.py sends for `nvmf_create_transport -t VFIOUSER -M -S -q 128 -m 4`.
    const json params = json::parse(R"({"no_srq": false, "c2h_success": true,
        "trtype": "VFIOUSER", "max_queue_depth": 128, "max_io_qpairs_per_ctrlr": 4,
        "zcopy": false, "dif_insert_or_strip": false, "no_wr_batching": false,
        "disable_mappable_bar0": true, "disable_adaptive_irq": false,
        "disable_shadow_doorbells": true, "disable_command_passthru": false})");
    auto parsed = parse_transport(&params);
    ASSERT_TRUE(parsed) << parsed.error().message;
    nvme::ControllerOptions options;
    parsed->apply(options);
    EXPECT_EQ(options.mqes, 127);
    EXPECT_EQ(options.num_io_queues, 4);
    EXPECT_EQ(options.doorbell_mode, nvme::DoorbellMode::trapped);
    EXPECT_FALSE(options.shadow_doorbells);
}

TEST(TransportTest, SpdkSavedTransportLoads) {
    // SPDK's save_config entry for its VFIOUSER transport.
    const json params = json::parse(R"({"trtype": "VFIOUSER", "max_queue_depth": 256,
        "max_io_qpairs_per_ctrlr": 127, "in_capsule_data_size": 0, "max_io_size": 131072,
        "max_aq_depth": 32, "iobuf_small_cache_size": 0, "iobuf_large_cache_size": 0,
        "dif_insert_or_strip": false, "zcopy": false, "abort_timeout_sec": 0,
        "ack_timeout": 0, "data_wr_pool_size": 0, "disable_command_passthru": false,
        "kas": 100, "min_kato": 10000})");
    auto parsed = parse_transport(&params);
    ASSERT_TRUE(parsed) << parsed.error().message;
    const json report = parsed->to_json();
    for (const auto& [key, value] : params.items()) {
        EXPECT_EQ(report.at(key), value) << key;
    }
}

TEST(TransportTest, ReportRoundTrips) {
    const json params = {{"trtype", "vfiouser"},
                         {"max_queue_depth", 64},
                         {"disable_mappable_bar0", true},
                         {"io_unit_size", 8192},
                         {"max_aq_depth", 64}};
    auto parsed = parse_transport(&params);
    ASSERT_TRUE(parsed) << parsed.error().message;
    const json report = parsed->to_json();
    EXPECT_EQ(report.at("trtype"), "VFIOUSER");
    EXPECT_EQ(report.at("io_unit_size"), 8192);
    auto again = parse_transport(&report);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->to_json(), report);
}

TEST(TransportTest, RefusesWhatCannotWork) {
    for (const json& params : {
             json{{"trtype", "TCP"}},
             json::object(),
             json{{"trtype", "VFIOUSER"}, {"max_queue_depth", 1}},
             json{{"trtype", "VFIOUSER"}, {"max_queue_depth", 4097}},
             json{{"trtype", "VFIOUSER"}, {"max_io_qpairs_per_ctrlr", 0}},
             json{{"trtype", "VFIOUSER"}, {"max_io_qpairs_per_ctrlr", 256}},
             json{{"trtype", "VFIOUSER"}, {"dif_insert_or_strip", true}},
             json{{"trtype", "VFIOUSER"}, {"tgt_name", "other"}},
             json{{"trtype", "VFIOUSER"}, {"masked_oncs", json::array({"write_zeroes"})}},
             json{{"trtype", "VFIOUSER"}, {"no_such_option", 1}},
             json{{"trtype", "VFIOUSER"}, {"max_queue_depth", -5}},
         }) {
        auto parsed = parse_transport(&params);
        EXPECT_FALSE(parsed) << params.dump();
        if (!parsed) {
            EXPECT_EQ(parsed.error().code, rpc::code::kInvalidParams) << params.dump();
        }
    }
}

}  // namespace
}  // namespace vhostd::targets::nvmf
