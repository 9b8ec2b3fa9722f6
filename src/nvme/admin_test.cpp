// Admin commands and their error statuses: Identify (every CNS, CSI and NSID case), Get and
// Set Features (every feature and refusal), Create/Delete I/O SQ/CQ (every status 5.3-5.6
// names), Get Log Page (each page, offsets, NUMD, RAE), Asynchronous Event Request (limit,
// masking), Abort, Keep Alive, Doorbell Buffer Config, and the generic refusals.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "nvme/identify.hpp"
#include "support/nvme_fixture.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using testing::FakeNvmeDriver;

class AdminTest : public testing::NvmeControllerTest {
  protected:
    uint64_t buffer = 0;

    void SetUp() override {
        start();
        buffer = ram.alloc(2 * 4096);
    }
    std::optional<Completion> admin(Command c) { return driver->run_admin(c); }
    uint16_t admin_status(Command c) { return status_of(admin(c)); }
    template <class T>
    T read_buffer() {
        T value;
        std::memcpy(&value, ram.host(buffer), sizeof(T));
        return value;
    }
    Command create_cq(uint16_t qid, uint32_t entries, uint16_t vector, uint64_t base,
                      bool contiguous = true) {
        Command c{};
        c.opcode = admin_opcode::kCreateIoCq;
        c.dptr1 = base;
        c.cdw10 = qid | ((entries - 1) << 16);
        c.cdw11 = (contiguous ? 1 : 0) | 2 | (uint32_t{vector} << 16);
        return c;
    }
    Command create_sq(uint16_t qid, uint32_t entries, uint16_t cqid, uint64_t base,
                      bool contiguous = true) {
        Command c{};
        c.opcode = admin_opcode::kCreateIoSq;
        c.dptr1 = base;
        c.cdw10 = qid | ((entries - 1) << 16);
        c.cdw11 = (contiguous ? 1 : 0) | (uint32_t{cqid} << 16);
        return c;
    }
    Command delete_queue(uint8_t opcode, uint16_t qid) {
        Command c{};
        c.opcode = opcode;
        c.cdw10 = qid;
        return c;
    }
};

TEST_F(AdminTest, IdentifyController) {
    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kController, 0, buffer)), 0u);
    const auto id = read_buffer<IdentifyController>();
    EXPECT_EQ(id.vid, kVendorId);
    EXPECT_EQ(std::string(id.sn.data(), 20), "VHOSTD00000000000001");
    EXPECT_EQ(std::string(id.mn.data(), 22), "vhostd NVMe controller");
    EXPECT_EQ(id.mn[39], ' ');
    EXPECT_EQ(std::string(id.subnqn.data()), "nqn.2019-07.io.vhostd:cnode0");
    EXPECT_EQ(id.ver, version(1, 4));
    EXPECT_EQ(id.mdts, 6);
    EXPECT_NE(id.oacs & oacs::kDoorbellBufferConfig, 0);
    EXPECT_EQ(id.aerl, 3);
    EXPECT_EQ(id.sqes, 0x66);
    EXPECT_EQ(id.cqes, 0x44);
    EXPECT_EQ(id.nn, 32u);
    EXPECT_EQ(id.oncs, oncs::kDatasetManagement | oncs::kWriteZeroes);
    EXPECT_NE(id.vwc & vwc::kPresent, 0);
    EXPECT_EQ(id.sgls & 0x3, 1u);
    EXPECT_NE(id.oaes & oaes::kNamespaceAttributeNotices, 0u);
    EXPECT_EQ(id.cntrltype, kControllerTypeIo);
}

TEST_F(AdminTest, IdentifyNamespaceActiveInactiveAndInvalid) {
    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespace, 1, buffer)), 0u);
    auto ns = read_buffer<IdentifyNamespace>();
    EXPECT_EQ(ns.nsze, kBlocks);
    EXPECT_EQ(ns.ncap, kBlocks);
    EXPECT_EQ(ns.lbaf[0].lbads, 9);
    EXPECT_EQ(ns.nlbaf, 0);
    EXPECT_NE(ns.nguid, (std::array<uint8_t, 16>{}));
    EXPECT_NE(ns.eui64, (std::array<uint8_t, 8>{}));
    std::memset(ram.host(buffer), 0xff, 4096);
    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespace, 2, buffer)), 0u);
    EXPECT_EQ(read_buffer<IdentifyNamespace>().nsze, 0u);  // inactive: zeroes
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespace, 0, buffer)),
              status::kInvalidNamespace);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespace, 33, buffer)),
              status::kInvalidNamespace);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespace, kNsidBroadcast, buffer)),
              status::kInvalidNamespace);
}

TEST_F(AdminTest, ActiveNamespaceListsAndDescriptors) {
    auto second = block::bdev_malloc_create({.name = "Malloc1", .num_blocks = 64}).value();
    ASSERT_TRUE(controller->add_namespace({.nsid = 3, .bdev = second}).has_value());
    ASSERT_TRUE(driver->wait_for([&] { return controller->namespaces().at(1).active; }));
    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kActiveNamespaces, 0, buffer)), 0u);
    auto list = read_buffer<std::array<uint32_t, 4>>();
    EXPECT_EQ(list, (std::array<uint32_t, 4>{1, 3, 0, 0}));
    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kActiveNamespaces, 1, buffer)), 0u);
    EXPECT_EQ((read_buffer<std::array<uint32_t, 2>>()), (std::array<uint32_t, 2>{3, 0}));
    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kCsiActiveNamespaces, 0, buffer, kCsiNvm)),
              0u);
    EXPECT_EQ((read_buffer<std::array<uint32_t, 2>>()), (std::array<uint32_t, 2>{1, 3}));
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kActiveNamespaces, 0xfffffffe, buffer)),
              status::kInvalidNamespace);

    ASSERT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespaceDescriptors, 1, buffer)), 0u);
    const uint8_t* d = ram.host(buffer);
    EXPECT_EQ(d[0], nidt::kEui64);
    EXPECT_EQ(d[1], 8);
    EXPECT_EQ(d[12], nidt::kNguid);
    EXPECT_EQ(d[13], 16);
    EXPECT_EQ(d[32], nidt::kUuid);
    EXPECT_EQ(d[33], 16);
    // The UUID descriptor is the bdev's UUID.
    const std::string uuid = bdev->uuid();
    EXPECT_EQ(d[36], std::stoi(uuid.substr(0, 2), nullptr, 16));
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kNamespaceDescriptors, 2, buffer)),
              status::kInvalidNamespace);
}

TEST_F(AdminTest, CommandSetSpecificStructuresOnlyForNvm) {
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kCsiController, 0, buffer, kCsiNvm)), 0u);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kCsiNamespace, 1, buffer, kCsiNvm)), 0u);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kCsiController, 0, buffer, 2)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kCsiNamespace, 1, buffer, 2)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kCsiActiveNamespaces, 0, buffer, 2)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(0x10, 0, buffer)), status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(0x1c, 0, buffer)), status::kInvalidField);
}

TEST_F(AdminTest, IdentifyIntoMemoryOutsideTheGuestFails) {
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kController, 0, 0x1000)),
              status::kDataTransferError);
    EXPECT_EQ(admin_status(FakeNvmeDriver::identify(cns::kController, 0, buffer + 2)),
              status::kPrpOffsetInvalid);
}

TEST_F(AdminTest, SimpleFeaturesRoundTrip) {
    const auto set_get = [&](uint8_t fid, uint32_t value) {
        EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(fid, value)), 0u) << int(fid);
        auto got = admin(FakeNvmeDriver::get_features(fid, kSelCurrent, value));
        EXPECT_EQ(status_of(got), 0u);
        return got ? got->dw0 : 0xdeadbeef;
    };
    EXPECT_EQ(set_get(feature::kArbitration, 0x03020107), 0x03020107u);
    EXPECT_EQ(set_get(feature::kPowerManagement, 0x20), 0x20u);  // WH set, PS 0
    EXPECT_EQ(set_get(feature::kTemperatureThreshold, 350), 350u);
    EXPECT_EQ(set_get(feature::kTemperatureThreshold, (1u << 20) | 270), 270u);  // under
    EXPECT_EQ(set_get(feature::kErrorRecovery, 100), 100u);
    EXPECT_EQ(set_get(feature::kVolatileWriteCache, 0), 0u);
    EXPECT_EQ(set_get(feature::kVolatileWriteCache, 1), 1u);
    EXPECT_EQ(set_get(feature::kInterruptCoalescing, 0x0a04), 0x0a04u);
    EXPECT_EQ(set_get(feature::kInterruptVectorConfig, 3 | (1u << 16)), 3u | (1u << 16));
    EXPECT_EQ(set_get(feature::kWriteAtomicity, 1), 1u);
    EXPECT_EQ(set_get(feature::kKeepAliveTimer, 120000), 120000u);
    // Defaults and capabilities.
    auto def = admin(FakeNvmeDriver::get_features(feature::kArbitration, kSelDefault));
    EXPECT_EQ(def->dw0, 0u);
    auto saved = admin(FakeNvmeDriver::get_features(feature::kTemperatureThreshold, kSelSaved));
    EXPECT_EQ(saved->dw0, 343u);
    auto caps =
        admin(FakeNvmeDriver::get_features(feature::kArbitration, kSelSupportedCapabilities));
    EXPECT_EQ(caps->dw0, kFeatureChangeable);
}

TEST_F(AdminTest, FeatureRefusals) {
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kPowerManagement, 1)),
              status::kInvalidField);  // only power state 0 exists
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kTemperatureThreshold, 1u << 16)),
              status::kInvalidField);  // sensor 1 does not exist
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kTemperatureThreshold, 2u << 20)),
              status::kInvalidField);  // THSEL reserved
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kErrorRecovery, 1u << 16)),
              status::kInvalidField);  // DULBE
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kInterruptVectorConfig, 17)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_features(feature::kInterruptVectorConfig, 0, 99)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kAutonomousPowerState, 1)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kLbaRangeType, 0)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_features(0x7f)), status::kInvalidField);
    Command save = FakeNvmeDriver::set_features(feature::kArbitration, 0);
    save.cdw10 |= kSaveFeature;
    EXPECT_EQ(admin_status(save), status::kFeatureNotSaveable);
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_features(feature::kArbitration, 4)),
              status::kInvalidField);
}

TEST_F(AdminTest, NumberOfQueuesAllocatesOnceBeforeQueuesExist) {
    auto max = admin(FakeNvmeDriver::get_features(feature::kNumberOfQueues));
    EXPECT_EQ(max->dw0, 15u | (15u << 16));  // 16 queues offered, 0's based
    auto allocated =
        admin(FakeNvmeDriver::set_features(feature::kNumberOfQueues, 1 | (100u << 16)));
    ASSERT_EQ(status_of(allocated), 0u);
    EXPECT_EQ(allocated->dw0, 1u | (15u << 16));
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kNumberOfQueues, 0xffff)),
              status::kInvalidField);
    // Two SQs allocated: qid 3 is refused.
    ASSERT_EQ(admin_status(create_cq(3, 8, 3, ram.alloc(4096))), 0u);
    EXPECT_EQ(admin_status(create_sq(3, 8, 3, ram.alloc(4096))), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(FakeNvmeDriver::set_features(feature::kNumberOfQueues, 3)),
              status::kCommandSequenceError);
}

TEST_F(AdminTest, HostIdentifierTakesDataBothSizes) {
    std::memcpy(ram.host(buffer), "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    Command set = FakeNvmeDriver::set_features(feature::kHostIdentifier, 0);
    set.dptr1 = buffer;
    ASSERT_EQ(admin_status(set), 0u);
    const uint64_t out = ram.alloc(4096);
    Command get = FakeNvmeDriver::get_features(feature::kHostIdentifier);
    get.dptr1 = out;
    ASSERT_EQ(admin_status(get), 0u);
    EXPECT_EQ(std::memcmp(ram.host(out), ram.host(buffer), 8), 0);
    set.cdw11 = kHostIdentifierExtended;
    std::memset(ram.host(buffer), 0xab, 16);
    ASSERT_EQ(admin_status(set), 0u);
    get.cdw11 = kHostIdentifierExtended;
    ASSERT_EQ(admin_status(get), 0u);
    EXPECT_EQ(ram.host(out)[15], 0xab);
}

TEST_F(AdminTest, CreateCompletionQueueStatuses) {
    const uint64_t base = ram.alloc(4096);
    EXPECT_EQ(admin_status(create_cq(0, 8, 1, base)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(create_cq(17, 8, 1, base)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(create_cq(1, 1, 1, base)), status::kInvalidQueueSize);
    EXPECT_EQ(admin_status(create_cq(1, 257, 1, base)), status::kInvalidQueueSize);  // > MQES+1
    EXPECT_EQ(admin_status(create_cq(1, 8, 17, base)), status::kInvalidInterruptVector);
    EXPECT_EQ(admin_status(create_cq(1, 8, 1, base, false)), status::kInvalidField);  // PC = 0
    EXPECT_EQ(admin_status(create_cq(1, 8, 1, base + 512)), status::kInvalidField);
    EXPECT_EQ(admin_status(create_cq(1, 8, 1, 0x10000000)), status::kInvalidField);
    ASSERT_EQ(admin_status(create_cq(1, 8, 1, base)), 0u);
    EXPECT_EQ(admin_status(create_cq(1, 8, 1, ram.alloc(4096))), status::kInvalidQueueId);
}

TEST_F(AdminTest, CreateSubmissionQueueStatuses) {
    ASSERT_EQ(admin_status(create_cq(1, 8, 1, ram.alloc(4096))), 0u);
    const uint64_t base = ram.alloc(4096);
    EXPECT_EQ(admin_status(create_sq(0, 8, 1, base)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(create_sq(99, 8, 1, base)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(create_sq(1, 1, 1, base)), status::kInvalidQueueSize);
    EXPECT_EQ(admin_status(create_sq(1, 4096, 1, base)), status::kInvalidQueueSize);
    EXPECT_EQ(admin_status(create_sq(1, 8, 0, base)), status::kCompletionQueueInvalid);
    EXPECT_EQ(admin_status(create_sq(1, 8, 2, base)), status::kCompletionQueueInvalid);
    EXPECT_EQ(admin_status(create_sq(1, 8, 1, base, false)), status::kInvalidField);
    EXPECT_EQ(admin_status(create_sq(1, 8, 1, base + 64)), status::kInvalidField);
    EXPECT_EQ(admin_status(create_sq(1, 8, 1, ram.end() - 256)), status::kInvalidField);
    ASSERT_EQ(admin_status(create_sq(1, 8, 1, base)), 0u);
    EXPECT_EQ(admin_status(create_sq(1, 8, 1, base)), status::kInvalidQueueId);
    // Two SQs may share a completion queue.
    ASSERT_EQ(admin_status(create_sq(2, 8, 1, ram.alloc(4096))), 0u);
}

TEST_F(AdminTest, CreateQueuesRefuseEntrySizesOtherThanCcSays) {
    // CC.IOSQES/IOCQES must name 64- and 16-byte entries (Identify SQES/CQES).
    driver->write32(reg::kCc, cc::kEnable | (7u << cc::kIosqesShift) | (5u << cc::kIocqesShift));
    EXPECT_EQ(admin_status(create_cq(1, 8, 1, ram.alloc(4096))), status::kInvalidQueueSize);
}

TEST_F(AdminTest, DeleteQueueStatuses) {
    ASSERT_EQ(admin_status(create_cq(1, 8, 1, ram.alloc(4096))), 0u);
    ASSERT_EQ(admin_status(create_sq(1, 8, 1, ram.alloc(4096))), 0u);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoSq, 0)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoSq, 2)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoCq, 0)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoCq, 1)),
              status::kInvalidQueueDeletion);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoSq, 1)), 0u);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoSq, 1)), status::kInvalidQueueId);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoCq, 1)), 0u);
    EXPECT_EQ(admin_status(delete_queue(admin_opcode::kDeleteIoCq, 1)), status::kInvalidQueueId);
    // The ids are free again.
    ASSERT_EQ(admin_status(create_cq(1, 8, 1, ram.alloc(4096))), 0u);
}

TEST_F(AdminTest, LogPagesAndTheirFields) {
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kFirmwareSlot, 128, buffer)), 0u);
    const auto fw = read_buffer<FirmwareSlotLog>();
    EXPECT_EQ(fw.active_slot, 1);
    EXPECT_EQ(std::string(fw.revisions[0].data(), 8), kFirmwareRevision);
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
    const uint64_t data = ram.alloc(4096);
    ASSERT_EQ(
        status_of(driver->run(driver->queue(1), FakeNvmeDriver::read_write(true, 1, 0, 8, data))),
        0u);
    ASSERT_EQ(
        status_of(driver->run(driver->queue(1), FakeNvmeDriver::read_write(false, 1, 0, 8, data))),
        0u);
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kHealth, 128, buffer)), 0u);
    const auto health = read_buffer<HealthLog>();
    EXPECT_EQ(health.host_read_commands[0], 1u);
    EXPECT_EQ(health.host_write_commands[0], 1u);
    EXPECT_EQ(health.data_units_written[0], 1u);  // 4 KiB rounds up to one unit
    EXPECT_EQ(health.available_spare, 100);
    EXPECT_GT(static_cast<int>(health.composite_temperature), 273);  // a packed field: by value
    EXPECT_GE(health.power_cycles[0], 1u);
    // Offsets: dword aligned, inside the page.
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kHealth, 1, buffer, 64)), 0u);
    EXPECT_EQ(read_buffer<uint32_t>(), 1u);  // host_read_commands low dword
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kHealth, 1, buffer, 2)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kHealth, 1, buffer, 512)),
              status::kInvalidField);
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kHealth, 1u << 20, buffer)),
              status::kInvalidField);  // beyond MDTS
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_log_page(0x05, 128, buffer)),
              status::kInvalidLogPage);
    EXPECT_EQ(admin_status(FakeNvmeDriver::get_log_page(0xc0, 128, buffer)),
              status::kInvalidLogPage);
    Command per_namespace = FakeNvmeDriver::get_log_page(log_id::kHealth, 128, buffer);
    per_namespace.nsid = 1;
    EXPECT_EQ(admin_status(per_namespace), status::kInvalidField);
    // A transfer longer than the page is zero-filled.
    std::memset(ram.host(buffer), 0xff, 8192);
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kFirmwareSlot, 256, buffer)), 0u);
    EXPECT_EQ(ram.host(buffer)[600], 0);
}

TEST_F(AdminTest, AsyncEventRequestLimitAndDelivery) {
    // Namespace 1 was added before the driver came: start from an empty list.
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kChangedNamespaces, 1024, buffer)),
              0u);
    Command aer{};
    aer.opcode = admin_opcode::kAsyncEventRequest;
    std::vector<uint16_t> cids;
    for (int i = 0; i <= kAerl; ++i) {
        cids.push_back(driver->submit(driver->admin(), aer));
    }
    // One more than AERL + 1: refused at once.
    auto refused = driver->run_admin(aer);
    EXPECT_EQ(status_of(refused), status::kAerLimitExceeded);
    // A namespace event answers the oldest one.
    auto second = block::bdev_malloc_create({.name = "Malloc1", .num_blocks = 64}).value();
    ASSERT_TRUE(controller->add_namespace({.nsid = 2, .bdev = second}).has_value());
    auto event = driver->wait_completion(driver->admin(), cids[0]);
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(status_of(event), 0u);
    EXPECT_EQ(event->dw0, aen_dw0(aen_type::kNotice, aen_notice::kNamespaceAttributeChanged,
                                  log_id::kChangedNamespaces));
    // Masked until the log page is read without RAE: another change is not reported...
    ASSERT_TRUE(controller->add_namespace({.nsid = 4, .bdev = second}).has_value());
    for (int i = 0; i < 200; ++i) {
        pump();
    }
    EXPECT_FALSE(driver->poll(driver->admin()).has_value());
    // ... RAE keeps it masked ...
    ASSERT_EQ(admin_status(
                  FakeNvmeDriver::get_log_page(log_id::kChangedNamespaces, 1024, buffer, 0, true)),
              0u);
    EXPECT_EQ((read_buffer<std::array<uint32_t, 3>>()), (std::array<uint32_t, 3>{2, 4, 0}));
    // ... reading it without RAE clears the list and unmasks.
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kChangedNamespaces, 1024, buffer)),
              0u);
    ASSERT_EQ(admin_status(FakeNvmeDriver::get_log_page(log_id::kChangedNamespaces, 1024, buffer)),
              0u);
    EXPECT_EQ(read_buffer<uint32_t>(), 0u);
    bool removed = false;
    controller->remove_namespace(4, [&](Result<void> r) { removed = r.has_value(); });
    auto again = driver->wait_completion(driver->admin(), cids[1]);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(removed);
    EXPECT_EQ(again->dw0 & 0x7, aen_type::kNotice);
}

TEST_F(AdminTest, AbortAnOutstandingEventRequest) {
    Command aer{};
    aer.opcode = admin_opcode::kAsyncEventRequest;
    const uint16_t cid = driver->submit(driver->admin(), aer);
    Command abort{};
    abort.opcode = admin_opcode::kAbort;
    abort.cdw10 = 0 | (uint32_t{cid} << 16);
    auto aborted = driver->run_admin(abort);
    ASSERT_EQ(status_of(aborted), 0u);
    EXPECT_EQ(aborted->dw0 & 1, 0u);
    auto answer = driver->wait_completion(driver->admin(), cid);
    EXPECT_EQ(status_of(answer), status::kAbortRequested);
    // Nothing else can be aborted: dword 0 bit 0 says so.
    abort.cdw10 = 1 | (77u << 16);
    auto not_aborted = driver->run_admin(abort);
    ASSERT_EQ(status_of(not_aborted), 0u);
    EXPECT_EQ(not_aborted->dw0 & 1, 1u);
}

TEST_F(AdminTest, KeepAliveAndGenericRefusals) {
    Command keep_alive{};
    keep_alive.opcode = admin_opcode::kKeepAlive;
    EXPECT_EQ(admin_status(keep_alive), 0u);
    Command fused = FakeNvmeDriver::identify(cns::kController, 0, buffer);
    fused.flags = 1;
    EXPECT_EQ(admin_status(fused), status::kInvalidField);
    Command sgl = FakeNvmeDriver::identify(cns::kController, 0, buffer);
    sgl.flags = static_cast<uint8_t>(kPsdtSglMptrContiguous << kPsdtShift);
    EXPECT_EQ(admin_status(sgl), status::kInvalidField);
    for (uint8_t opcode : {admin_opcode::kFormatNvm, admin_opcode::kNamespaceManagement,
                           admin_opcode::kFirmwareCommit, uint8_t{0x7f}, uint8_t{0xff}}) {
        Command c{};
        c.opcode = opcode;
        EXPECT_EQ(admin_status(c), status::kInvalidOpcode) << int(opcode);
    }
}

TEST_F(AdminTest, DoorbellBufferConfigStatuses) {
    const uint64_t a = ram.alloc(4096);
    const uint64_t b = ram.alloc(4096);
    Command c{};
    c.opcode = admin_opcode::kDoorbellBufferConfig;
    c.dptr1 = a + 8;
    c.dptr2 = b;
    EXPECT_EQ(admin_status(c), status::kInvalidField);
    c.dptr1 = a;
    c.dptr2 = a;
    EXPECT_EQ(admin_status(c), status::kInvalidField);
    c.dptr2 = 0x10000000;
    EXPECT_EQ(admin_status(c), status::kInvalidField);
    c.dptr2 = b;
    EXPECT_EQ(admin_status(c), 0u);
    EXPECT_TRUE(controller->state().shadow_doorbells_active);
}

class AdminWithoutShadowTest : public testing::NvmeControllerTest {};

TEST_F(AdminWithoutShadowTest, DisabledShadowDoorbellsAreNotOfferedNorAccepted) {
    start(ControllerOptions{.shadow_doorbells = false});
    const uint64_t buffer = ram.alloc(4096);
    ASSERT_EQ(status_of(driver->run_admin(FakeNvmeDriver::identify(cns::kController, 0, buffer))),
              0u);
    IdentifyController id;
    std::memcpy(&id, ram.host(buffer), sizeof(id));
    EXPECT_EQ(id.oacs & oacs::kDoorbellBufferConfig, 0);
    Command c{};
    c.opcode = admin_opcode::kDoorbellBufferConfig;
    c.dptr1 = ram.alloc(4096);
    c.dptr2 = ram.alloc(4096);
    EXPECT_EQ(status_of(driver->run_admin(c)), status::kInvalidOpcode);
}

}  // namespace
}  // namespace vhostd::nvme
