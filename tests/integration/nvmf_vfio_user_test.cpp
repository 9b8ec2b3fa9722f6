// NVMe controllers over vfio-user (the nvmf_* methods) end to end: vhostd created through RPC
// (vhostctl) or a config file, a client driving the controller by hand over vfio-user (config
// space, BAR0, enable, Identify), namespaces added and removed under an attached driver (the
// event reaches it), listeners removed under a client (detached), deletion refused while in
// use, reconnects, mapped and trapped doorbells, and the listings.
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include "fixtures.hpp"
#include "nvme_vfio_client.hpp"
#include "nvmf_fixture.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace nvme_spec;

const std::string& kNqn = kNvmfTestNqn;

std::string text_of(const char* field, size_t size) {
    std::string s(field, size);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) {
        s.pop_back();
    }
    return s;
}

template <size_t N>
std::string text_of(const std::array<char, N>& field) {
    return text_of(field.data(), N);
}

// A vhostd with Malloc0 (and Malloc1) and nothing else; the listener's directory made.
class NvmfTest : public NvmfFixture {
  protected:
    void SetUp() override { start(); }

    std::unique_ptr<NvmeVfioClient> connect() {
        auto client = NvmeVfioClient::connect(dir_ + "/cntrl");
        EXPECT_TRUE(client) << client.error().describe() << "\n" << vhostd_->output();
        return client ? std::move(*client) : nullptr;
    }

    // Retries `args` until it succeeds: the server notices a client's departure on its own
    // time. Bounded.
    bool eventually_ok(const std::vector<std::string>& args) {
        for (int i = 0; i < 200; ++i) {
            if (vhostctl(*vhostd_, args).exit_code == 0) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }
};

TEST_F(NvmfTest, RpcCreatedControllerIdentifiesOverVfioUser) {
    ASSERT_NO_FATAL_FAILURE(create());
    auto nvme = connect();
    ASSERT_TRUE(nvme);

    // PCI: an NVM Express I/O controller (class code 010802h) with PM, MSI-X and PCIe.
    auto config = nvme->config_space();
    ASSERT_TRUE(config) << config.error().describe();
    const uint32_t class_code = uint32_t{(*config)[pci_spec::reg::kClassCode]} |
                                uint32_t{(*config)[pci_spec::reg::kClassCode + 1]} << 8 |
                                uint32_t{(*config)[pci_spec::reg::kClassCode + 2]} << 16;
    EXPECT_EQ(class_code, 0x010802U);
    auto caps = nvme->capabilities();
    ASSERT_TRUE(caps) << caps.error().describe();
    auto has = [&](uint8_t id) {
        return std::any_of(caps->begin(), caps->end(),
                           [&](const auto& c) { return c.first == id; });
    };
    EXPECT_TRUE(has(pci_spec::cap_id::kPowerManagement));
    EXPECT_TRUE(has(pci_spec::cap_id::kMsix));
    EXPECT_TRUE(has(pci_spec::cap_id::kExpress));

    // BAR0: mapped mode (the default) offers the doorbell page as a sparse mmap area.
    auto bar0 = nvme->bar0_info();
    ASSERT_TRUE(bar0) << bar0.error().describe();
    ASSERT_EQ(bar0->mmap_areas.size(), 1U);
    const uint64_t area_offset = bar0->mmap_areas[0].offset;  // packed: copied out
    const uint64_t area_size = bar0->mmap_areas[0].size;
    EXPECT_EQ(area_offset, 0x1000U);
    EXPECT_EQ(area_size, 0x1000U);
    EXPECT_TRUE(nvme->doorbells_mapped());
    auto cap = nvme->read64(reg::kCap);
    ASSERT_TRUE(cap) << cap.error().describe();
    EXPECT_EQ(*cap & 0xffff, 255U);  // MQES: the transport's max_queue_depth 256, 0's based
    auto vs = nvme->read32(reg::kVs);
    ASSERT_TRUE(vs);
    EXPECT_GE(*vs, 0x00010300U);

    ASSERT_TRUE(nvme->enable()) << vhostd_->output();
    auto id = nvme->identify_controller();
    ASSERT_TRUE(id) << id.error().describe();
    EXPECT_EQ(text_of(id->sn.data(), id->sn.size()), "VHOSTDSN0001");
    EXPECT_EQ(text_of(id->mn.data(), id->mn.size()), "vhostd test model");
    EXPECT_EQ(text_of(id->subnqn), kNqn);
    EXPECT_EQ(id->cntlid, 1);
    EXPECT_NE(id->oacs & oacs::kDoorbellBufferConfig, 0);  // -S not given
    auto active = nvme->active_namespaces();
    ASSERT_TRUE(active);
    EXPECT_EQ(*active, std::vector<uint32_t>{1});
    auto ns = nvme->identify_namespace(1);
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->nsze, 2048U);

    // Listings while attached (hosts are recorded and listed).
    const std::string host = "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_subsystem_add_host", kNqn, host}));
    const json subsystems = vhostctl_json(*vhostd_, {"nvmf_get_subsystems"});
    ASSERT_EQ(subsystems.size(), 2U) << subsystems.dump();
    EXPECT_EQ(subsystems[0]["subtype"], "Discovery");
    const json& s = subsystems[1];
    EXPECT_EQ(s["nqn"], kNqn);
    EXPECT_EQ(s["subtype"], "NVMe");
    EXPECT_EQ(s["serial_number"], "VHOSTDSN0001");
    EXPECT_EQ(s["model_number"], "vhostd test model");
    EXPECT_EQ(s["allow_any_host"], true);
    EXPECT_EQ(s["hosts"], json::parse(R"([{"nqn": ")" + host + R"("}])"));
    EXPECT_EQ(s["max_namespaces"], 32);
    EXPECT_EQ(s["listen_addresses"],
              json::parse(R"([{"trtype": "VFIOUSER", "adrfam": "unknown", "traddr": ")" + dir_ +
                          R"(", "trsvcid": "0"}])"));
    ASSERT_EQ(s["namespaces"].size(), 1U);
    EXPECT_EQ(s["namespaces"][0]["nsid"], 1);
    EXPECT_EQ(s["namespaces"][0]["bdev_name"], "Malloc0");
    EXPECT_EQ(s["namespaces"][0]["name"], "Malloc0");
    EXPECT_EQ(s["namespaces"][0]["uuid"],
              vhostctl_json(*vhostd_, {"bdev_get_bdevs", "-b", "Malloc0"})[0]["uuid"]);
    const json controllers = vhostctl_json(*vhostd_, {"nvmf_subsystem_get_controllers", kNqn});
    ASSERT_EQ(controllers.size(), 1U) << controllers.dump();
    EXPECT_EQ(controllers[0]["cntlid"], 1);
    const json qpairs = vhostctl_json(*vhostd_, {"nvmf_subsystem_get_qpairs", kNqn});
    ASSERT_EQ(qpairs.size(), 1U) << qpairs.dump();  // the admin queue
    EXPECT_EQ(qpairs[0]["qid"], 0);
    EXPECT_EQ(qpairs[0]["completions"].get<uint64_t>(), 3U);  // the three Identify commands
    const json stats = vhostctl_json(*vhostd_, {"nvmf_get_stats"});
    ASSERT_FALSE(stats["poll_groups"].empty()) << stats.dump();
    uint64_t admin_qpairs = 0;
    for (const json& g : stats["poll_groups"]) {
        admin_qpairs += g["current_admin_qpairs"].get<uint64_t>();
    }
    EXPECT_EQ(admin_qpairs, 1U);
    EXPECT_EQ(vhostctl_json(*vhostd_, {"nvmf_subsystem_get_listeners", kNqn}).size(), 1U);
    EXPECT_EQ(vhostctl_json(*vhostd_, {"nvmf_get_transports"})[0]["trtype"], "VFIOUSER");
    // Not a vhost controller; its queues show on the reactors as the socket's name.
    EXPECT_EQ(vhostctl_json(*vhostd_, {"vhost_get_controllers"}), json::array());
    const json reactors = vhostctl_json(*vhostd_, {"framework_get_reactors"});
    ASSERT_FALSE(reactors["reactors"].empty());
    EXPECT_EQ(reactors["reactors"][0]["lw_threads"][0]["name"], dir_ + "/cntrl");

    // Deleting the subsystem is refused while the client is attached.
    const CommandResult busy = vhostctl(*vhostd_, {"nvmf_delete_subsystem", kNqn});
    EXPECT_NE(busy.exit_code, 0);
    EXPECT_NE(busy.err.find("code -16"), std::string::npos) << busy.err;
    nvme.reset();
    EXPECT_TRUE(eventually_ok({"nvmf_delete_subsystem", kNqn})) << vhostd_->output();
    struct stat st {};
    EXPECT_NE(::stat((dir_ + "/cntrl").c_str(), &st), 0);  // the socket is gone
    EXPECT_EQ(vhostctl_json(*vhostd_, {"nvmf_get_subsystems"}).size(), 1U);
    // The bdev's claim went with the subsystem.
    EXPECT_EQ(vhostctl(*vhostd_, {"bdev_malloc_delete", "Malloc0"}).exit_code, 0);
}

TEST_F(NvmfTest, NamespacesAddedAndRemovedReachTheAttachedDriver) {
    ASSERT_NO_FATAL_FAILURE(create());
    auto nvme = connect();
    ASSERT_TRUE(nvme);
    ASSERT_TRUE(nvme->enable());
    // Namespace 1 became active before any driver came: read (and so clear) that change.
    ASSERT_TRUE(nvme->changed_namespaces());
    Command aec{};
    aec.opcode = admin_opcode::kSetFeatures;
    aec.cdw10 = feature::kAsyncEventConfig;
    aec.cdw11 = kAecNamespaceAttributeNotices;
    ASSERT_TRUE(nvme->run(aec));
    Command aer{};
    aer.opcode = admin_opcode::kAsyncEventRequest;
    auto first = nvme->submit(aer);
    ASSERT_TRUE(first);

    const CommandResult added =
        vhostctl(*vhostd_, {"nvmf_subsystem_add_ns", kNqn, "Malloc1", "-n", "5"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    EXPECT_EQ(added.out, "5\n");
    auto event = nvme->wait(*first);
    ASSERT_TRUE(event) << event.error().describe();
    EXPECT_EQ(event->dw0, aen_dw0(aen_type::kNotice, aen_notice::kNamespaceAttributeChanged,
                                  log_id::kChangedNamespaces));
    auto changed = nvme->changed_namespaces();
    ASSERT_TRUE(changed);
    EXPECT_EQ(*changed, std::vector<uint32_t>{5});
    auto active = nvme->active_namespaces();
    ASSERT_TRUE(active);
    EXPECT_EQ(*active, (std::vector<uint32_t>{1, 5}));
    auto ns = nvme->identify_namespace(5);
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->nsze, 4096U);

    auto second = nvme->submit(aer);
    ASSERT_TRUE(second);
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_subsystem_remove_ns", kNqn, "5"}));
    event = nvme->wait(*second);
    ASSERT_TRUE(event) << event.error().describe();
    changed = nvme->changed_namespaces();
    ASSERT_TRUE(changed);
    EXPECT_EQ(*changed, std::vector<uint32_t>{5});
    active = nvme->active_namespaces();
    ASSERT_TRUE(active);
    EXPECT_EQ(*active, std::vector<uint32_t>{1});
    EXPECT_EQ(vhostctl_json(*vhostd_, {"nvmf_get_subsystems", kNqn})[0]["namespaces"].size(), 1U);
    // The removed namespace's bdev is free again; the other one is still claimed.
    EXPECT_EQ(vhostctl(*vhostd_, {"bdev_malloc_delete", "Malloc1"}).exit_code, 0);
    EXPECT_NE(vhostctl(*vhostd_, {"bdev_malloc_delete", "Malloc0"}).exit_code, 0);
}

TEST_F(NvmfTest, RemovingTheListenerDetachesTheClientAndANewOneServesAfresh) {
    ASSERT_NO_FATAL_FAILURE(create());
    auto nvme = connect();
    ASSERT_TRUE(nvme);
    ASSERT_TRUE(nvme->enable());
    ASSERT_NO_FATAL_FAILURE(
        rpc_ok({"nvmf_subsystem_remove_listener", kNqn, "-t", "VFIOUSER", "-a", dir_}));
    // The client was detached: its channel is closed.
    EXPECT_FALSE(nvme->read32(reg::kCsts));
    struct stat st {};
    EXPECT_NE(::stat((dir_ + "/cntrl").c_str(), &st), 0);
    EXPECT_EQ(vhostctl_json(*vhostd_, {"nvmf_get_subsystems", kNqn})[0]["listen_addresses"],
              json::array());
    nvme.reset();

    // A new listener on the same directory: a fresh controller, the namespace still there.
    ASSERT_NO_FATAL_FAILURE(
        rpc_ok({"nvmf_subsystem_add_listener", kNqn, "-t", "VFIOUSER", "-a", dir_}));
    nvme = connect();
    ASSERT_TRUE(nvme);
    auto csts = nvme->read32(reg::kCsts);
    ASSERT_TRUE(csts);
    EXPECT_EQ(*csts & csts::kReady, 0U);
    ASSERT_TRUE(nvme->enable());
    auto active = nvme->active_namespaces();
    ASSERT_TRUE(active);
    EXPECT_EQ(*active, std::vector<uint32_t>{1});
    auto id = nvme->identify_controller();
    ASSERT_TRUE(id);
    EXPECT_EQ(id->cntlid, 2);  // controller IDs are not reused at once
}

TEST_F(NvmfTest, AClientThatLeftIsFollowedByAFreshController) {
    ASSERT_NO_FATAL_FAILURE(create());
    for (int round = 0; round < 3; ++round) {
        std::unique_ptr<NvmeVfioClient> nvme;
        // The previous client's teardown finishes on the server's time: a second client is
        // refused until then.
        for (int i = 0; i < 200 && !nvme; ++i) {
            auto attempt = NvmeVfioClient::connect(dir_ + "/cntrl");
            if (attempt) {
                nvme = std::move(*attempt);
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
        ASSERT_TRUE(nvme) << "round " << round;
        auto csts = nvme->read32(reg::kCsts);
        ASSERT_TRUE(csts);
        EXPECT_EQ(*csts & csts::kReady, 0U) << "round " << round;
        ASSERT_TRUE(nvme->enable()) << "round " << round;
        auto id = nvme->identify_controller();
        ASSERT_TRUE(id) << "round " << round;
        EXPECT_EQ(text_of(id->subnqn), kNqn);
    }
}

TEST_F(NvmfTest, TrappedModeOffersNoMappableDoorbells) {
    ASSERT_NO_FATAL_FAILURE(create({"-M", "-q", "64", "-m", "4"}));
    auto nvme = connect();
    ASSERT_TRUE(nvme);
    auto bar0 = nvme->bar0_info();
    ASSERT_TRUE(bar0);
    EXPECT_TRUE(bar0->mmap_areas.empty());
    EXPECT_FALSE(nvme->doorbells_mapped());
    auto cap = nvme->read64(reg::kCap);
    ASSERT_TRUE(cap);
    EXPECT_EQ(*cap & 0xffff, 63U);
    ASSERT_TRUE(nvme->enable());
    auto id = nvme->identify_controller();
    ASSERT_TRUE(id);
    EXPECT_NE(id->oacs & oacs::kDoorbellBufferConfig, 0);
    Command queues{};
    queues.opcode = admin_opcode::kGetFeatures;
    queues.cdw10 = feature::kNumberOfQueues;
    auto got = nvme->run(queues);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->dw0 & 0xffff, 3U);  // -m 4: four I/O submission queues, 0's based
    EXPECT_EQ(vhostctl_json(*vhostd_, {"nvmf_get_transports"})[0]["disable_mappable_bar0"], true);
}

TEST_F(NvmfTest, ShadowDoorbellsCanBeTurnedOff) {
    ASSERT_NO_FATAL_FAILURE(create({"-M", "-S"}));
    auto nvme = connect();
    ASSERT_TRUE(nvme);
    ASSERT_TRUE(nvme->enable());
    auto id = nvme->identify_controller();
    ASSERT_TRUE(id);
    EXPECT_EQ(id->oacs & oacs::kDoorbellBufferConfig, 0);
}

TEST_F(NvmfTest, RefusalsNameTheProblem) {
    // No transport yet: a listener cannot be added.
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_create_subsystem", kNqn}));
    EXPECT_NE(
        vhostctl(*vhostd_, {"nvmf_subsystem_add_listener", kNqn, "-t", "VFIOUSER", "-a", dir_})
            .exit_code,
        0);
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_create_transport", "-t", "VFIOUSER"}));
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"nvmf_create_transport", "-t", "VFIOUSER"},  // exists
             {"nvmf_create_transport", "-t", "TCP"},
             {"nvmf_create_subsystem", "nqn.bad"},
             {"nvmf_create_subsystem", kNqn},  // exists
             {"nvmf_create_subsystem", "nqn.2019-07.io.vhostd:ana", "-r"},
             {"nvmf_create_subsystem", "nqn.2019-07.io.vhostd:sn", "-s", "012345678901234567890"},
             {"nvmf_subsystem_add_ns", kNqn, "NoSuchBdev"},
             {"nvmf_subsystem_add_ns", "nqn.2019-07.io.vhostd:none", "Malloc0"},
             {"nvmf_subsystem_add_ns", kNqn, "Malloc0", "-n", "33"},  // > max_namespaces
             {"nvmf_subsystem_add_ns", kNqn, "Malloc0", "-g", "00112233445566778899AABBCCDDEEFF",
              "-u", "5e6b5a3e-1c34-4a9a-a4f4-3e0cf1c3b0a1"},  // NGUID is not the UUID's
             {"nvmf_subsystem_add_listener", kNqn, "-t", "TCP", "-a", dir_},
             {"nvmf_subsystem_add_listener", kNqn, "-t", "VFIOUSER", "-a", dir_ + "/missing"},
             {"nvmf_subsystem_remove_ns", kNqn, "7"},
             {"nvmf_subsystem_remove_listener", kNqn, "-t", "VFIOUSER", "-a", dir_},
             {"nvmf_delete_subsystem", "nqn.2019-07.io.vhostd:none"},
         }) {
        const CommandResult r = vhostctl(*vhostd_, args);
        EXPECT_NE(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " "));
        EXPECT_FALSE(r.err.empty());
    }
    // The same bdev twice in a subsystem: the claim refuses the second.
    ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_subsystem_add_ns", kNqn, "Malloc0"}));
    EXPECT_NE(vhostctl(*vhostd_, {"nvmf_subsystem_add_ns", kNqn, "Malloc0"}).exit_code, 0);
    // Two listeners on one directory: the second is refused.
    ASSERT_NO_FATAL_FAILURE(
        rpc_ok({"nvmf_subsystem_add_listener", kNqn, "-t", "VFIOUSER", "-a", dir_}));
    EXPECT_NE(vhostctl(*vhostd_,
                       {"nvmf_subsystem_add_listener", kNqn, "-t", "VFIOUSER", "-a", dir_ + "/"})
                  .exit_code,
              0);
}

}  // namespace
}  // namespace vhostd::testing
