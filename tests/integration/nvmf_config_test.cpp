// The "nvmf" config subsystem: an SPDK-written section (save_config of SPDK's nvmf_tgt with a
// VFIOUSER transport, a subsystem, a namespace and a listener) loads and serves, and
// vhostd's save_config of it recreates the same target (a fixed point).
#include <sys/stat.h>

#include "fixtures.hpp"
#include "nvme_vfio_client.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

// What SPDK's nvmf_tgt (v26.01-pre) saved for: bdev_malloc_create -b Malloc0 16 512;
// nvmf_create_transport -t VFIOUSER; nvmf_create_subsystem nqn.2019-07.io.spdk:cnode0 -a -s
// SPDK0 -d "SPDK model"; nvmf_subsystem_add_ns ... Malloc0; nvmf_subsystem_add_listener ... -t
// VFIOUSER -a DIR -s 0. Only the listener's directory differs.
json spdk_nvmf_section(const std::string& traddr) {
    json section = json::parse(R"({"subsystem": "nvmf", "config": [
      {"method": "nvmf_set_config", "params": {"discovery_filters": [],
        "admin_cmd_passthru": {"identify_ctrlr": false, "identify_uuid_list": false,
          "get_log_page": false, "get_set_features": false, "sanitize": false,
          "security_send_recv": false, "fw_update": false, "nvme_mi": false,
          "vendor_specific": false},
        "dhchap_digests": ["sha256", "sha384", "sha512"],
        "dhchap_dhgroups": ["null", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144",
                            "ffdhe8192"],
        "dup_host_policy": "allow"}},
      {"method": "nvmf_set_max_subsystems", "params": {"max_subsystems": 1024}},
      {"method": "nvmf_set_crdt", "params": {"crdt1": 0, "crdt2": 0, "crdt3": 0}},
      {"method": "nvmf_create_transport", "params": {"trtype": "VFIOUSER",
        "max_queue_depth": 256, "max_io_qpairs_per_ctrlr": 127, "in_capsule_data_size": 0,
        "max_io_size": 131072, "max_aq_depth": 32, "iobuf_small_cache_size": 0,
        "iobuf_large_cache_size": 0, "dif_insert_or_strip": false, "zcopy": false,
        "abort_timeout_sec": 0, "ack_timeout": 0, "data_wr_pool_size": 0,
        "disable_command_passthru": false, "kas": 100, "min_kato": 10000}},
      {"method": "nvmf_create_subsystem", "params": {"nqn": "nqn.2019-07.io.spdk:cnode0",
        "allow_any_host": true, "serial_number": "SPDK0", "model_number": "SPDK model",
        "max_namespaces": 32, "min_cntlid": 1, "max_cntlid": 65519, "ana_reporting": false,
        "dmrsl": 2097152, "wzsl": 12, "passthrough": false, "enable_nssr": false}},
      {"method": "nvmf_subsystem_add_ns", "params": {"nqn": "nqn.2019-07.io.spdk:cnode0",
        "namespace": {"nsid": 1, "bdev_name": "Malloc0",
          "nguid": "FEF9B179B9484644B5C866EB990CA74B",
          "uuid": "fef9b179-b948-4644-b5c8-66eb990ca74b", "no_auto_visible": false}}},
      {"method": "nvmf_subsystem_add_listener", "params": {"nqn": "nqn.2019-07.io.spdk:cnode0",
        "listen_address": {"trtype": "VFIOUSER", "adrfam": "unknown", "traddr": "TRADDR",
          "trsvcid": "0"},
        "numa_id": -1, "secure_channel": false}}]})");
    section["config"][6]["params"]["listen_address"]["traddr"] = traddr;
    return section;
}

json config_with(const json& nvmf) {
    return json{{"subsystems",
                 json::array({json{{"subsystem", "bdev"},
                                   {"config", json::array({malloc_bdev("Malloc0", 32, 512)})}},
                              nvmf})}};
}

TEST(NvmfConfig, SpdkWrittenSectionLoadsAndRoundTrips) {
    VhostdProcess first({});
    const std::string dir = first.dir() + "/vfu";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    first.set_config(config_with(spdk_nvmf_section(dir)));
    START_VHOSTD(first);

    {
        auto nvme = NvmeVfioClient::connect(dir + "/cntrl");
        ASSERT_TRUE(nvme) << nvme.error().describe() << "\n" << first.output();
        ASSERT_TRUE((*nvme)->enable());
        auto id = (*nvme)->identify_controller();
        ASSERT_TRUE(id);
        EXPECT_EQ(std::string(id->sn.data(), 5), "SPDK0");
        EXPECT_EQ(std::string(id->subnqn.data(), 26), "nqn.2019-07.io.spdk:cnode0");
        auto ns = (*nvme)->identify_namespace(1);
        ASSERT_TRUE(ns);
        // NGUID: the UUID the config gave.
        EXPECT_EQ(ns->nguid[0], 0xfe);
        EXPECT_EQ(ns->nguid[15], 0x4b);
    }

    const json subsystems = vhostctl_json(first, {"nvmf_get_subsystems"});
    ASSERT_EQ(subsystems.size(), 2U) << subsystems.dump();
    EXPECT_EQ(subsystems[1]["namespaces"][0]["uuid"], "fef9b179-b948-4644-b5c8-66eb990ca74b");
    EXPECT_EQ(subsystems[1]["namespaces"][0]["nguid"], "FEF9B179B9484644B5C866EB990CA74B");
    EXPECT_EQ(subsystems[1]["dmrsl"], 2097152);
    const json transports = vhostctl_json(first, {"nvmf_get_transports"});
    const json saved = vhostctl_json(first, {"save_config"});
    json nvmf;
    for (const json& s : saved["subsystems"]) {
        if (s["subsystem"] == "nvmf") {
            nvmf = s;
        }
    }
    ASSERT_TRUE(nvmf.is_object()) << saved.dump();
    ASSERT_EQ(nvmf["config"].size(), 4U) << nvmf.dump();
    EXPECT_EQ(nvmf["config"][0]["method"], "nvmf_create_transport");
    EXPECT_EQ(nvmf["config"][1]["method"], "nvmf_create_subsystem");
    EXPECT_EQ(nvmf["config"][2]["method"], "nvmf_subsystem_add_ns");
    EXPECT_EQ(nvmf["config"][3]["method"], "nvmf_subsystem_add_listener");
    EXPECT_EQ(first.stop(), 0);

    // The saved document recreates the same target on the same directory.
    VhostdProcess second({.config = saved});
    START_VHOSTD(second);
    EXPECT_EQ(vhostctl_json(second, {"nvmf_get_subsystems"}), subsystems);
    EXPECT_EQ(vhostctl_json(second, {"nvmf_get_transports"}), transports);
    EXPECT_EQ(vhostctl_json(second, {"save_config"}), saved);
    auto nvme = NvmeVfioClient::connect(dir + "/cntrl");
    ASSERT_TRUE(nvme) << nvme.error().describe() << "\n" << second.output();
    ASSERT_TRUE((*nvme)->enable());
    auto active = (*nvme)->active_namespaces();
    ASSERT_TRUE(active);
    EXPECT_EQ(*active, std::vector<uint32_t>{1});
}

}  // namespace
}  // namespace vhostd::testing
