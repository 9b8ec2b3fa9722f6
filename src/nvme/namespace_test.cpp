// Namespaces at run time: hot add and remove with the Namespace Attribute Changed event and
// the changed namespace list, a bdev resize reaching Identify Namespace, a removed bdev taking
// its namespace away, a failed bdev answering "not ready" until it recovers, explicit UUIDs,
// and the management API's refusals.
#include <cstring>

#include <gtest/gtest.h>

#include "block/backends/null/null_bdev.hpp"
#include "block/module/bdev_module.hpp"
#include "support/nvme_fixture.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using testing::FakeNvmeDriver;

class NamespaceTest : public testing::NvmeControllerTest {
  protected:
    uint64_t buffer = 0;
    uint16_t aer = 0;

    void SetUp() override {
        start();
        ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
        buffer = ram.alloc(8192);
        // Namespace 1 was added before the driver came: start from an empty list.
        ASSERT_EQ(status_of(driver->run_admin(
                      FakeNvmeDriver::get_log_page(log_id::kChangedNamespaces, 1024, buffer))),
                  0u);
        request_event();
    }
    void request_event() {
        Command c{};
        c.opcode = admin_opcode::kAsyncEventRequest;
        aer = driver->submit(driver->admin(), c);
    }
    // Waits for the namespace event, reads (and clears) the changed list, asks for the next.
    std::vector<uint32_t> next_change() {
        auto event = driver->wait_completion(driver->admin(), aer);
        EXPECT_TRUE(event.has_value());
        if (!event) {
            return {};
        }
        EXPECT_EQ(event->dw0, aen_dw0(aen_type::kNotice, aen_notice::kNamespaceAttributeChanged,
                                      log_id::kChangedNamespaces));
        EXPECT_EQ(status_of(driver->run_admin(
                      FakeNvmeDriver::get_log_page(log_id::kChangedNamespaces, 1024, buffer))),
                  0u);
        std::vector<uint32_t> changed;
        for (const uint32_t* p = reinterpret_cast<const uint32_t*>(ram.host(buffer)); *p != 0;
             ++p) {
            changed.push_back(*p);
        }
        request_event();
        return changed;
    }
    IdentifyNamespace identify(uint32_t nsid) {
        IdentifyNamespace id{};
        EXPECT_EQ(
            status_of(driver->run_admin(FakeNvmeDriver::identify(cns::kNamespace, nsid, buffer))),
            0u);
        std::memcpy(&id, ram.host(buffer), sizeof(id));
        return id;
    }
    uint16_t read_status(uint32_t nsid) {
        const uint64_t data = ram.alloc(4096);
        return status_of(
            driver->run(driver->queue(1), FakeNvmeDriver::read_write(false, nsid, 0, 1, data)));
    }
};

TEST_F(NamespaceTest, HotAddRaisesTheEventAndServesIo) {
    auto second = block::bdev_malloc_create({.name = "Malloc1", .num_blocks = 128}).value();
    auto nsid = controller->add_namespace({.nsid = 0, .bdev = second});
    ASSERT_TRUE(nsid.has_value());
    EXPECT_EQ(*nsid, 2u);  // the lowest free NSID
    EXPECT_EQ(next_change(), std::vector<uint32_t>{2});
    EXPECT_EQ(identify(2).nsze, 128u);
    EXPECT_EQ(read_status(2), 0u);
    const auto listed = controller->namespaces();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[1].bdev_name, "Malloc1");
    EXPECT_TRUE(listed[1].active);
}

TEST_F(NamespaceTest, HotRemoveRaisesTheEventAndRefusesIo) {
    bool removed = false;
    controller->remove_namespace(1, [&](Result<void> r) { removed = r.has_value(); });
    EXPECT_EQ(next_change(), std::vector<uint32_t>{1});
    EXPECT_TRUE(removed);
    EXPECT_EQ(identify(1).nsze, 0u);  // inactive now
    EXPECT_EQ(read_status(1), status::kInvalidNamespace);
    EXPECT_TRUE(controller->namespaces().empty());
    // The NSID can be used again.
    ASSERT_TRUE(controller->add_namespace({.nsid = 1, .bdev = bdev}).has_value());
    EXPECT_EQ(next_change(), std::vector<uint32_t>{1});
    EXPECT_EQ(read_status(1), 0u);
}

TEST_F(NamespaceTest, RemoveWaitsForCommandsInFlight) {
    const uint64_t data = ram.alloc(4096);
    const uint16_t cid =
        driver->submit(driver->queue(1), FakeNvmeDriver::read_write(false, 1, 0, 1, data));
    bool removed = false;
    controller->remove_namespace(1, [&](Result<void> r) { removed = r.has_value(); });
    // Whatever the interleaving, the command completes (successfully or refused) and the
    // removal finishes.
    auto c = driver->wait_completion(driver->queue(1), cid);
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(status_of(c) == 0u || status_of(c) == status::kInvalidNamespace);
    EXPECT_TRUE(driver->wait_for([&] { return removed; }));
}

TEST_F(NamespaceTest, ResizeReachesIdentifyAndTheChangedList) {
    auto null_bdev = block::bdev_null_create({.name = "Null0", .num_blocks = 2048}).value();
    ASSERT_TRUE(controller->add_namespace({.nsid = 5, .bdev = null_bdev}).has_value());
    EXPECT_EQ(next_change(), std::vector<uint32_t>{5});
    EXPECT_EQ(identify(5).nsze, 2048u);
    ASSERT_TRUE(block::bdev_null_resize(*null_bdev, 4).has_value());  // 4 MiB
    EXPECT_EQ(next_change(), std::vector<uint32_t>{5});
    const IdentifyNamespace id = identify(5);
    EXPECT_EQ(id.nsze, 8192u);
    EXPECT_EQ(id.ncap, 8192u);
    // The new blocks are reachable.
    const uint64_t data = ram.alloc(4096);
    EXPECT_EQ(status_of(driver->run(driver->queue(1),
                                    FakeNvmeDriver::read_write(false, 5, 8000, 1, data))),
              0u);
}

TEST_F(NamespaceTest, RemovedBdevTakesItsNamespaceAway) {
    block::BdevModuleAccess::report(*bdev, block::BdevEvent::removed);
    EXPECT_EQ(next_change(), std::vector<uint32_t>{1});
    EXPECT_EQ(read_status(1), status::kInvalidNamespace);
}

TEST_F(NamespaceTest, FailedBdevIsNotReadyUntilItRecovers) {
    block::BdevModuleAccess::report(*bdev, block::BdevEvent::failed);
    const uint16_t failed = read_status(1);
    EXPECT_EQ(failed, status::kNamespaceNotReady);
    EXPECT_EQ(failed & kDnr, 0u);  // retryable
    block::BdevModuleAccess::report(*bdev, block::BdevEvent::recovered);
    EXPECT_EQ(read_status(1), 0u);
}

TEST_F(NamespaceTest, ExplicitUuidShowsInTheDescriptors) {
    auto second = block::bdev_malloc_create({.name = "Malloc1", .num_blocks = 64}).value();
    ASSERT_TRUE(controller
                    ->add_namespace(
                        {.nsid = 3, .bdev = second, .uuid = "00112233-4455-6677-8899-AABBCCDDEEFF"})
                    .has_value());
    EXPECT_EQ(next_change(), std::vector<uint32_t>{3});
    ASSERT_EQ(status_of(driver->run_admin(
                  FakeNvmeDriver::identify(cns::kNamespaceDescriptors, 3, buffer))),
              0u);
    const uint8_t* uuid = ram.host(buffer) + 32 + 4;
    EXPECT_EQ(uuid[0], 0x00);
    EXPECT_EQ(uuid[1], 0x11);
    EXPECT_EQ(uuid[15], 0xff);
    EXPECT_EQ(controller->namespaces().back().uuid, "00112233-4455-6677-8899-aabbccddeeff");
}

TEST_F(NamespaceTest, ManagementRefusals) {
    auto second = block::bdev_malloc_create({.name = "Malloc1", .num_blocks = 64}).value();
    EXPECT_EQ(controller->add_namespace({.nsid = 1, .bdev = second}).error().code, EEXIST);
    EXPECT_EQ(controller->add_namespace({.nsid = 33, .bdev = second}).error().code, EINVAL);
    EXPECT_EQ(controller->add_namespace({.nsid = 2, .bdev = second, .uuid = "nope"}).error().code,
              EINVAL);
    EXPECT_EQ(controller->add_namespace({.nsid = 2, .bdev = nullptr}).error().code, EINVAL);
    int code = 0;
    controller->remove_namespace(9, [&](Result<void> r) { code = r ? 0 : r.error().code; });
    EXPECT_EQ(code, ENOENT);
}

}  // namespace
}  // namespace vhostd::nvme
