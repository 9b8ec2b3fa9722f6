// Server over a real unix socket, driven by the frontend's VfioUserClient from the test thread
// while the server runs on its reactor thread: negotiation, device and region information, the
// mapped doorbell page, register access, DMA memory shared both ways, interrupt eventfds,
// reset; disconnects and reconnects with fd counts back to their baseline; a second client.
#include "vfio_user/server.hpp"

#include <cstring>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>

#include "base/event_fd.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/vfio_user_client.hpp"
#include "support/vfio_user_server_harness.hpp"

namespace vhostd::vfio_user {
namespace {

using frontend::GuestRam;
using frontend::VfioUserClient;
using frontend::VfioUserMapping;
using testing::count_open_fds;
using testing::FakeFunction;
using testing::ServerHarness;

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 2 << 20;

bool readable_within(int fd, int timeout_ms) {
    pollfd pfd{fd, POLLIN, 0};
    return ::poll(&pfd, 1, timeout_ms) == 1;
}

TEST(VfioUserServer, NegotiatesAndDescribesTheDevice) {
    ServerHarness h;
    auto client = VfioUserClient::connect(h.path());
    ASSERT_TRUE(client) << client.error().describe();
    EXPECT_EQ(client->server().major, 0);
    EXPECT_EQ(client->server().minor, 0);
    EXPECT_EQ(client->server().max_msg_fds, kMaxMsgFds);
    EXPECT_EQ(client->server().max_data_xfer_size, kMaxDataXferSize);
    EXPECT_EQ(client->server().pgsizes, kPageSize);
    EXPECT_EQ(client->server().max_dma_maps, DmaTable::kMaxRegions);
    EXPECT_TRUE(h.wait_until([&] { return h.server().connected(); }));

    auto info = client->device_info();
    ASSERT_TRUE(info) << info.error().describe();
    EXPECT_EQ(info->num_regions, 9U);
    EXPECT_EQ(info->num_irqs, 5U);
    EXPECT_EQ(info->flags, kDeviceFlagPci | kDeviceFlagReset);

    auto bar0 = client->region_info(pci::kBar0);
    ASSERT_TRUE(bar0) << bar0.error().describe();
    EXPECT_EQ(bar0->size, FakeFunction::kBar0Size);
    ASSERT_TRUE(bar0->mappable());
    ASSERT_EQ(bar0->mmap_areas.size(), 1U);
    EXPECT_EQ(bar0->mmap_areas[0].offset, FakeFunction::kDoorbellOffset);
    auto config = client->region_info(pci::kConfig);
    ASSERT_TRUE(config);
    EXPECT_FALSE(config->mappable());
    EXPECT_TRUE(config->readable() && config->writable());
    auto rom = client->region_info(pci::kRom);
    ASSERT_TRUE(rom);
    EXPECT_EQ(rom->size, 0U);
    EXPECT_EQ(client->region_info(9).error().code, EINVAL);

    auto msix = client->irq_info(pci::kMsix);
    ASSERT_TRUE(msix);
    EXPECT_EQ(msix->count, FakeFunction::kMsixVectors);
    EXPECT_EQ(client->irq_info(7).error().code, EINVAL);
}

TEST(VfioUserServer, RegistersByMessageAndTheDoorbellPageByMapping) {
    ServerHarness h;
    auto client = VfioUserClient::connect(h.path());
    ASSERT_TRUE(client);
    // Config space through REGION_READ / REGION_WRITE.
    EXPECT_EQ(client->read32(pci::kConfig, 0x10).value_or(0), 0x13121110U);
    ASSERT_TRUE(client->write32(pci::kConfig, 0x40, 0xdeadbeef));
    EXPECT_EQ(client->read32(pci::kConfig, 0x40).value_or(0), 0xdeadbeefU);
    EXPECT_EQ(client->write32(pci::kConfig, 0, 1).error().code, EPERM);
    ASSERT_TRUE(client->write64(pci::kBar0, 0x28, 0x0123456789abcdefULL));
    EXPECT_EQ(client->read64(pci::kBar0, 0x28).value_or(0), 0x0123456789abcdefULL);
    EXPECT_EQ(h.on_reactor([&] { return h.function().bar0[0x28]; }), 0xef);
    EXPECT_EQ(client->read32(pci::kBar0, FakeFunction::kBar0Size - 2).error().code, EINVAL);
    // A posted write has no reply; the next command's reply comes after it.
    ASSERT_TRUE(client->region_write_posted(pci::kBar0, 0x30, std::as_bytes(std::span("ab", 2))));
    EXPECT_EQ(client->read32(pci::kBar0, 0x30).value_or(0) & 0xffff, 0x6261U);

    // The doorbell page: stores through the client's mapping land in the function's page.
    auto bar0 = client->region_info(pci::kBar0);
    ASSERT_TRUE(bar0);
    auto mapping = VfioUserMapping::map(*bar0);
    ASSERT_TRUE(mapping) << mapping.error().describe();
    auto* doorbell =
        reinterpret_cast<volatile uint32_t*>(mapping->at(FakeFunction::kDoorbellOffset + 8, 4));
    ASSERT_NE(doorbell, nullptr);
    EXPECT_EQ(mapping->at(0, 4), nullptr);  // the registers stay trapped
    *doorbell = 42;
    EXPECT_EQ(h.on_reactor([&] { return h.function().doorbells()[2]; }), 42U);
    // ... and the same page is reachable by message.
    EXPECT_EQ(client->read32(pci::kBar0, FakeFunction::kDoorbellOffset + 8).value_or(0), 42U);
}

TEST(VfioUserServer, DmaMemoryIsSharedBothWays) {
    ServerHarness h;
    auto client = VfioUserClient::connect(h.path());
    ASSERT_TRUE(client);
    auto ram = GuestRam::create(kRamSize, kRamBase);
    ASSERT_TRUE(ram);
    ASSERT_TRUE(client->dma_map(*ram));
    ASSERT_TRUE(h.wait_until([&] { return !h.function().memory->is_empty(); }));
    // The device writes into the client's memory in place, and reads what the client wrote.
    auto buffer = ram->alloc(4096);
    ASSERT_TRUE(buffer);
    std::memcpy(buffer->host, "from the client", 16);
    const std::string seen = h.on_reactor([&] {
        auto* p = static_cast<uint8_t*>(h.function().memory->host_address(buffer->gpa, 4096));
        std::string s(reinterpret_cast<const char*>(p), 15);
        std::memcpy(p + 100, "from the device", 16);
        return s;
    });
    EXPECT_EQ(seen, "from the client");
    EXPECT_STREQ(reinterpret_cast<const char*>(buffer->host + 100), "from the device");
    // Overlaps are refused; unmapping takes the memory away from the device.
    EXPECT_EQ(client->dma_map(kRamBase, 4096, -1, 0).error().code, EEXIST);
    EXPECT_EQ(client->dma_unmap(kRamBase, 4096).error().code, ENOTSUP);
    ASSERT_TRUE(client->dma_unmap(kRamBase, kRamSize));
    EXPECT_TRUE(h.on_reactor([&] { return h.function().memory->is_empty(); }));
    ASSERT_TRUE(client->dma_map(*ram));
    ASSERT_TRUE(client->dma_unmap_all());
    EXPECT_TRUE(h.on_reactor([&] { return h.function().memory->is_empty(); }));
}

TEST(VfioUserServer, InterruptEventfdsAndReset) {
    ServerHarness h;
    auto client = VfioUserClient::connect(h.path());
    ASSERT_TRUE(client);
    std::vector<UniqueFd> owned;
    std::vector<int> fds;
    for (uint32_t i = 0; i < FakeFunction::kMsixVectors; ++i) {
        owned.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        fds.push_back(owned.back().get());
    }
    ASSERT_TRUE(client->set_irq_eventfds(pci::kMsix, 0, fds));
    // The function raises vector 3: the client's eventfd fires.
    EXPECT_TRUE(h.on_reactor([&] { return signal_peer_event_fd(h.function().msix[3].get()); }));
    EXPECT_TRUE(readable_within(fds[3], 5000));
    EXPECT_FALSE(readable_within(fds[2], 0));
    ASSERT_TRUE(client->unassign_irq_eventfds(pci::kMsix, 3, 1));
    EXPECT_FALSE(h.on_reactor([&] { return h.function().msix[3].valid(); }));
    // A pipe is no eventfd.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd r(p[0]), w(p[1]);
    EXPECT_EQ(client->set_irq_eventfds(pci::kMsix, 0, std::span(&p[1], 1)).error().code, EINVAL);
    // INTx is maskable.
    ASSERT_TRUE(client->set_irqs(pci::kIntx, 0, 1, kIrqDataNone | kIrqActionMask));
    const uint8_t bools[] = {1};
    ASSERT_TRUE(client->set_irqs(pci::kIntx, 0, 1, kIrqDataBool | kIrqActionUnmask, bools));
    EXPECT_EQ(client->set_irqs(pci::kMsix, 0, 1, kIrqDataNone | kIrqActionMask).error().code,
              EINVAL);
    ASSERT_TRUE(client->disable_irqs(pci::kMsix));
    EXPECT_FALSE(h.on_reactor([&] { return h.function().msix[0].valid(); }));
    // Reset reaches the function, and the connection carries on.
    ASSERT_TRUE(client->reset());
    EXPECT_EQ(h.on_reactor([&] { return h.function().resets; }), 1);
    EXPECT_TRUE(client->device_info());
}

TEST(VfioUserServer, EveryClientStartsFreshAndLeavesNothingBehind) {
    ServerHarness h;
    const size_t baseline = count_open_fds();
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        {
            auto client = VfioUserClient::connect(h.path());
            ASSERT_TRUE(client) << client.error().describe();
            auto ram = GuestRam::create(kRamSize, kRamBase);
            ASSERT_TRUE(ram);
            ASSERT_TRUE(client->dma_map(*ram));
            auto call = UniqueFd(::eventfd(0, EFD_CLOEXEC));
            const int fd = call.get();
            ASSERT_TRUE(client->set_irq_eventfds(pci::kMsix, 0, std::span(&fd, 1)));
            auto bar0 = client->region_info(pci::kBar0);
            ASSERT_TRUE(bar0);
            auto mapping = VfioUserMapping::map(*bar0);
            ASSERT_TRUE(mapping);
            EXPECT_TRUE(h.on_reactor([&] {
                return h.server().session() != nullptr && h.server().session()->negotiated() &&
                       h.server().session()->dma().regions().size() == 1;
            }));
        }  // the client goes away
        ASSERT_TRUE(h.wait_until([&] {
            return !h.server().connected() && h.server().session() == nullptr &&
                   h.function().resets == round + 1;
        }));
        EXPECT_TRUE(h.on_reactor([&] {
            h.function().memory_history.clear();
            return h.function().memory->is_empty() && !h.function().msix[0].valid();
        }));
        EXPECT_EQ(count_open_fds(), baseline);
    }
    EXPECT_EQ(h.on_reactor([&] { return h.server().connections(); }), 3U);
    EXPECT_FALSE(h.on_reactor([&] { return h.function().contract_violated; }));
}

TEST(VfioUserServer, ASecondClientIsRefusedAndTheFirstCarriesOn) {
    ServerHarness h;
    auto first = VfioUserClient::connect(h.path());
    ASSERT_TRUE(first);
    ASSERT_TRUE(h.wait_until([&] { return h.server().connected(); }));
    auto second = VfioUserClient::connect(h.path());
    EXPECT_FALSE(second);
    EXPECT_TRUE(first->device_info());
    EXPECT_EQ(h.on_reactor([&] { return h.server().connections(); }), 1U);
    // Once the first has gone, the next is served.
    first = std::unexpected(Error{});
    ASSERT_TRUE(h.wait_until([&] { return !h.server().connected(); }));
    auto third = VfioUserClient::connect(h.path());
    ASSERT_TRUE(third) << third.error().describe();
    EXPECT_TRUE(third->device_info());
}

TEST(VfioUserServer, ShutdownWithAClientConnectedResetsTheFunction) {
    auto h = std::make_unique<ServerHarness>();
    auto client = VfioUserClient::connect(h->path());
    ASSERT_TRUE(client);
    auto ram = GuestRam::create(kRamSize, kRamBase);
    ASSERT_TRUE(ram);
    ASSERT_TRUE(client->dma_map(*ram));
    const std::string path = h->path();
    h.reset();  // shuts the server down while the client is still there
    EXPECT_TRUE(client->channel().wait_closed(std::chrono::seconds(5)));
    EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace vhostd::vfio_user
