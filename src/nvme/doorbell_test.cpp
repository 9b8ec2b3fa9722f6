// Doorbells: values past the queue size and completion queue heads beyond what was posted
// (mapped and trapped), writes to doorbells of queues that do not exist (trapped), all raising
// the error asynchronous event with the error log entry, and never stopping the controller;
// shadow doorbells: the EventIdx kept behind the head while polling (no real doorbell needed),
// existing doorbell values carried into the shadow buffer, the admin queue never shadowed.
#include <cstring>

#include <gtest/gtest.h>

#include "support/nvme_fixture.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using testing::FakeNvmeDriver;

class DoorbellTest : public testing::NvmeControllerTest {
  protected:
    uint16_t aer_cid = 0;

    void begin(DoorbellMode mode, bool request_events = true) {
        start(ControllerOptions{.doorbell_mode = mode});
        ASSERT_TRUE(driver->create_io_queues(1, 32, 1));
        if (request_events) {
            request_event();
        }
    }
    void request_event() {
        Command aer{};
        aer.opcode = admin_opcode::kAsyncEventRequest;
        aer_cid = driver->submit(driver->admin(), aer);
    }
    // The error event the outstanding request is answered with.
    std::optional<Completion> error_event() {
        return driver->wait_completion(driver->admin(), aer_cid);
    }
    bool still_works() {
        const uint64_t data = ram.alloc(4096);
        return status_of(driver->run(driver->queue(1),
                                     FakeNvmeDriver::read_write(false, 1, 0, 1, data))) == 0;
    }
    uint64_t error_log_count() {
        const uint64_t buffer = ram.alloc(8192);
        auto c = driver->run_admin(
            FakeNvmeDriver::get_log_page(log_id::kErrorInformation, 16, buffer, 0, true));
        ErrorLogEntry entry;
        std::memcpy(&entry, ram.host(buffer), sizeof(entry));
        return status_of(c) == 0 ? entry.error_count : 0;
    }
};

TEST_F(DoorbellTest, TailPastTheQueueSizeInMappedModeRaisesTheEvent) {
    begin(DoorbellMode::mapped);
    driver->ring(sq_doorbell_index(1), 32);
    auto event = error_event();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->dw0, aen_dw0(aen_type::kErrorStatus, aen_error::kInvalidDoorbellValue,
                                  log_id::kErrorInformation));
    EXPECT_EQ(error_log_count(), 1u);
    // The bad value is ignored; the driver's next correct tail works.
    driver->ring(sq_doorbell_index(1), driver->queue(1).tail);
    EXPECT_TRUE(still_works());
}

TEST_F(DoorbellTest, CompletionHeadBeyondWhatWasPostedRaisesTheEvent) {
    begin(DoorbellMode::mapped);
    ASSERT_TRUE(still_works());  // one completion posted and consumed: head 1
    driver->ring(cq_doorbell_index(1), 5);
    auto event = error_event();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ((event->dw0 >> 8) & 0xff, aen_error::kInvalidDoorbellValue);
    driver->ring(cq_doorbell_index(1), driver->queue(1).head);
    EXPECT_TRUE(still_works());
}

TEST_F(DoorbellTest, TrappedWritesToQueuesThatDoNotExistRaiseTheEvent) {
    begin(DoorbellMode::trapped);
    driver->ring(sq_doorbell_index(7), 1);
    auto event = error_event();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->dw0, aen_dw0(aen_type::kErrorStatus, aen_error::kInvalidDoorbellRegister,
                                  log_id::kErrorInformation));
    EXPECT_TRUE(still_works());
    // Odd sizes are refused as region writes; past the doorbells is reserved and ignored.
    const uint16_t value = 1;
    EXPECT_FALSE(
        controller
            ->write(pci::kBar0, reg::kDoorbells + 8, {reinterpret_cast<const uint8_t*>(&value), 2})
            .has_value());
    driver->write32(0x3000, 5);
}

TEST_F(DoorbellTest, TrappedValuesPastTheSizeAreIgnoredAndReported) {
    begin(DoorbellMode::trapped);
    driver->ring(sq_doorbell_index(1), 4096);
    auto event = error_event();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ((event->dw0 >> 8) & 0xff, aen_error::kInvalidDoorbellValue);
    EXPECT_TRUE(still_works());
}

TEST_F(DoorbellTest, ErrorEventsWaitForARequestAndAreMaskedUntilTheLogIsRead) {
    begin(DoorbellMode::mapped, /*request_events=*/false);
    driver->ring(sq_doorbell_index(1), 500);
    for (int i = 0; i < 100; ++i) {
        pump();
    }
    // Pending: the next request is answered at once.
    request_event();
    auto first = error_event();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->dw0 & 0x7, aen_type::kErrorStatus);
    // Masked: another error is logged but not reported...
    request_event();
    driver->ring(sq_doorbell_index(1), 501);
    for (int i = 0; i < 200; ++i) {
        pump();
    }
    EXPECT_FALSE(driver->poll(driver->admin()).has_value());
    EXPECT_EQ(error_log_count(), 2u);  // read with RAE: still masked
    driver->ring(sq_doorbell_index(1), 502);
    for (int i = 0; i < 200; ++i) {
        pump();
    }
    EXPECT_FALSE(driver->poll(driver->admin()).has_value());
    // ... until the error log is read without RAE.
    const uint64_t buffer = ram.alloc(8192);
    ASSERT_EQ(status_of(driver->run_admin(
                  FakeNvmeDriver::get_log_page(log_id::kErrorInformation, 16, buffer))),
              0u);
    driver->ring(sq_doorbell_index(1), 503);
    EXPECT_TRUE(error_event().has_value());
}

TEST_F(DoorbellTest, ShadowDoorbellsNeedNoRealDoorbellWhilePolling) {
    begin(DoorbellMode::mapped);
    ASSERT_TRUE(driver->enable_shadow_doorbells());
    const uint64_t writes_before = driver->doorbell_writes;
    const uint64_t data = ram.alloc(4096);
    for (int i = 0; i < 100; ++i) {  // three times around the queue
        ASSERT_EQ(status_of(driver->run(driver->queue(1),
                                        FakeNvmeDriver::read_write(false, 1, i, 1, data))),
                  0u)
            << i;
    }
    // Every SQ tail and CQ head update went to the shadow buffer; the admin queue's do not.
    EXPECT_EQ(driver->doorbell_writes - writes_before, 0u);
    EXPECT_GE(driver->doorbell_writes_skipped, 200u);
    // Polling EventIdx: one behind the head the controller consumed (once it has seen the
    // driver's last head update).
    for (int i = 0; i < 10; ++i) {
        pump();
    }
    const uint32_t tail = driver->queue(1).tail;
    EXPECT_EQ(*driver->event_idx_slot(sq_doorbell_index(1)), (tail + 31) % 32);
    EXPECT_EQ(*driver->event_idx_slot(cq_doorbell_index(1)), (driver->queue(1).head + 31) % 32);
    EXPECT_EQ(*driver->shadow_slot(sq_doorbell_index(0)), 0u);  // admin queue not shadowed
}

TEST_F(DoorbellTest, ShadowBufferStartsWithTheDoorbellsLastRung) {
    begin(DoorbellMode::mapped);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(still_works());
    }
    ASSERT_TRUE(driver->enable_shadow_doorbells());
    EXPECT_EQ(*driver->shadow_slot(sq_doorbell_index(1)), 5u);
    EXPECT_EQ(*driver->shadow_slot(cq_doorbell_index(1)), 5u);
    EXPECT_TRUE(still_works());
    // Queues created later start at zero.
    ASSERT_TRUE(driver->create_io_queues(2, 8, 2));
    EXPECT_EQ(*driver->shadow_slot(sq_doorbell_index(2)), 0u);
    const uint64_t data = ram.alloc(4096);
    EXPECT_EQ(
        status_of(driver->run(driver->queue(2), FakeNvmeDriver::read_write(false, 1, 0, 1, data))),
        0u);
}

TEST_F(DoorbellTest, InvalidShadowValuesAreReportedLikeDoorbells) {
    begin(DoorbellMode::mapped);
    ASSERT_TRUE(driver->enable_shadow_doorbells());
    *driver->shadow_slot(sq_doorbell_index(1)) = 1000;
    auto event = error_event();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ((event->dw0 >> 8) & 0xff, aen_error::kInvalidDoorbellValue);
    *driver->shadow_slot(sq_doorbell_index(1)) = driver->queue(1).tail;
    EXPECT_TRUE(still_works());
}

TEST_F(DoorbellTest, ResetForgetsShadowDoorbells) {
    begin(DoorbellMode::mapped);
    ASSERT_TRUE(driver->enable_shadow_doorbells());
    EXPECT_TRUE(controller->state().shadow_doorbells_active);
    ASSERT_TRUE(driver->disable());
    EXPECT_FALSE(controller->state().shadow_doorbells_active);
    ASSERT_TRUE(driver->enable());
    ASSERT_TRUE(driver->create_io_queues(1, 8, 1));
    EXPECT_TRUE(still_works());
}

}  // namespace
}  // namespace vhostd::nvme
