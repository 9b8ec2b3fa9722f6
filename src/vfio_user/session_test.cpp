// Session against a fake PCI function: VERSION first and only once, every command's checks
// (sizes, indexes, offsets, counts, flags, fds), replies that echo msg_id and command, No_reply,
// replies that wait for set_memory / reset, and the teardown order on disconnect.
#include "vfio_user/session.hpp"

#include <cstring>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "support/vfio_user_fakes.hpp"

namespace vhostd::vfio_user {
namespace {

using testing::count_open_fds;
using testing::FakeFunction;
using testing::make_command;
using testing::make_command_with;
using testing::make_memfd;
using Event = FakeFunction::Event;

constexpr uint64_t kIova = 0x100000;
constexpr uint64_t kRam = 0x10000;

std::vector<UniqueFd> one_fd(UniqueFd fd) {
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(fd));
    return fds;
}

std::vector<UniqueFd> eventfds(size_t n) {
    std::vector<UniqueFd> fds;
    for (size_t i = 0; i < n; ++i) {
        fds.push_back(std::move(*make_event_fd()));
    }
    return fds;
}

UniqueFd pipe_end() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    ::close(p[1]);
    return UniqueFd(p[0]);
}

std::vector<std::byte> version_payload(uint16_t major, uint16_t minor, const std::string& json,
                                       bool nul = true) {
    // resize + memcpy: g++ 12 reports a bogus overflow for vector<std::byte>::insert.
    const size_t tail = json.size() + (nul && !json.empty() ? 1 : 0);
    std::vector<std::byte> payload(sizeof(Version) + tail);
    const Version v{major, minor};
    std::memcpy(payload.data(), &v, sizeof(v));
    std::memcpy(payload.data() + sizeof(v), json.data(), json.size());
    return payload;
}

class VfioUserSessionTest : public ::testing::Test {
  protected:
    // Handles `m`; the response if it completed inside handle().
    std::optional<Session::Response> send(Message m) {
        std::optional<Session::Response> out;
        session->handle(std::move(m), [&out, this](Session::Response r) {
            out = std::move(r);
            ++responses;
        });
        return out;
    }
    // Handles `m`, which must complete at once.
    Session::Response call(Message m) {
        auto r = send(std::move(m));
        EXPECT_TRUE(r.has_value());
        return r ? std::move(*r) : Session::Response{};
    }
    // The errno of an error reply, 0 for a success reply.
    static int error_of(const Session::Response& r) {
        EXPECT_TRUE(r.reply.has_value());
        if (!r.reply) {
            return -1;
        }
        EXPECT_EQ(r.reply->header.flags & kTypeMask, kTypeReply);
        if ((r.reply->header.flags & kFlagError) == 0) {
            return 0;
        }
        EXPECT_TRUE(r.reply->payload.empty());
        EXPECT_TRUE(r.reply->fds.empty());
        return static_cast<int>(r.reply->header.error_no);
    }
    int error_for(Message m) { return error_of(call(std::move(m))); }
    template <class T>
    static T reply_as(const Session::Response& r) {
        T value{};
        EXPECT_TRUE(r.reply && r.reply->payload.size() >= sizeof(T));
        if (r.reply && r.reply->payload.size() >= sizeof(T)) {
            std::memcpy(&value, r.reply->payload.data(), sizeof(T));
        }
        return value;
    }

    void negotiate(const std::string& json = "") {
        auto r = call(make_command(Command::version, version_payload(0, 0, json)));
        ASSERT_EQ(error_of(r), 0);
        ASSERT_TRUE(session->negotiated());
    }
    Message dma_map(uint64_t iova, uint64_t size, std::vector<UniqueFd> fds,
                    uint32_t flags = kDmaRead | kDmaWrite, uint64_t offset = 0) {
        return make_command_with(Command::dma_map,
                                 DmaMap{sizeof(DmaMap), flags, offset, iova, size}, std::move(fds));
    }
    Message set_irqs(uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                     std::vector<UniqueFd> fds = {}) {
        return make_command_with(Command::device_set_irqs,
                                 IrqSet{sizeof(IrqSet), flags, index, start, count},
                                 std::move(fds));
    }
    Message region_read(uint32_t region, uint64_t offset, uint32_t count) {
        return make_command_with(Command::region_read, RegionAccess{offset, region, count});
    }
    Message region_write(uint32_t region, uint64_t offset, std::vector<uint8_t> data,
                         uint32_t flags = 0) {
        std::vector<std::byte> payload(sizeof(RegionAccess) + data.size());
        const RegionAccess access{offset, region, static_cast<uint32_t>(data.size())};
        std::memcpy(payload.data(), &access, sizeof(access));
        std::memcpy(payload.data() + sizeof(access), data.data(), data.size());
        return make_command(Command::region_write, payload, {}, flags);
    }
    Message region_info(uint32_t index, uint32_t argsz = 512) {
        return make_command_with(Command::device_get_region_info,
                                 RegionInfo{argsz, 0, index, 0, 0, 0});
    }

    FakeFunction function;
    std::unique_ptr<Session> session = std::make_unique<Session>(function, Session::Options{"t"});
    int responses = 0;
};

// --- VERSION ---

TEST_F(VfioUserSessionTest, TheFirstCommandMustBeVersion) {
    auto r = call(make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0}));
    EXPECT_EQ(error_of(r), EINVAL);
    EXPECT_TRUE(r.close);
    EXPECT_FALSE(session->negotiated());
}

TEST_F(VfioUserSessionTest, VersionWithoutCapabilitiesGetsABareReply) {
    auto r = call(make_command(Command::version, version_payload(0, 0, ""), {}, 0, 0x1234));
    ASSERT_EQ(error_of(r), 0);
    EXPECT_FALSE(r.close);
    EXPECT_EQ(r.reply->header.msg_id, 0x1234);
    EXPECT_EQ(r.reply->header.command, static_cast<uint16_t>(Command::version));
    EXPECT_EQ(r.reply->header.msg_size, sizeof(Header) + sizeof(Version));
    ASSERT_EQ(r.reply->payload.size(), sizeof(Version));
    const auto v = reply_as<Version>(r);
    EXPECT_EQ(v.major, 0);
    EXPECT_EQ(v.minor, 0);
    EXPECT_EQ(session->client().max_msg_fds, 1U);  // the spec's default
}

TEST_F(VfioUserSessionTest, VersionAnswersQemusProposalWithASubsetOfItsCapabilities) {
    const std::string qemu =
        R"({"capabilities":{"migration":{"pgsize":4096,"max_bitmap_size":268435456},)"
        R"("max_msg_fds":16,"max_data_xfer_size":1048576,"pgsizes":4096,)"
        R"("max_dma_maps":65535,"write_multiple":true}})";
    auto r = call(make_command(Command::version, version_payload(0, 3, qemu)));
    ASSERT_EQ(error_of(r), 0);
    const auto& body = r.reply->payload;
    EXPECT_EQ(reply_as<Version>(r).minor, 0);  // min(3, ours)
    ASSERT_GT(body.size(), sizeof(Version));
    EXPECT_EQ(body.back(), std::byte{0});
    const std::string json(reinterpret_cast<const char*>(body.data()) + sizeof(Version),
                           body.size() - sizeof(Version) - 1);
    EXPECT_EQ(json, R"({"capabilities":{"max_data_xfer_size":1048576,"max_dma_maps":509,)"
                    R"("max_msg_fds":16,"pgsizes":4096}})");
    EXPECT_EQ(session->client().max_msg_fds, 16U);
    // QEMU's receive buffer for the reply is its request: ours must not be longer.
    EXPECT_LE(body.size(), version_payload(0, 3, qemu).size());
}

TEST_F(VfioUserSessionTest, VersionRefusalsCloseTheConnection) {
    const std::vector<std::vector<std::byte>> bad = {
        version_payload(1, 0, ""),                               // another major
        version_payload(0, 0, R"({"capabilities":{}})", false),  // no NUL
        version_payload(0, 0, "{not json"),
        version_payload(0, 0, "[1,2]"),
        version_payload(0, 0, R"({"capabilities":[]})"),
        version_payload(0, 0, R"({"capabilities":{"max_msg_fds":-1}})"),
        version_payload(0, 0, R"({"capabilities":{"max_msg_fds":"8"}})"),
        version_payload(0, 0, R"({"capabilities":{"max_data_xfer_size":0}})"),
        version_payload(0, 0, R"({"capabilities":{"pgsizes":1.5}})"),
        version_payload(0, 0, R"({"capabilities":{"migration":true}})"),
        version_payload(0, 0, R"({"capabilities":{"write_multiple":1}})"),
        {std::byte{0}, std::byte{0}},  // shorter than major/minor
    };
    for (const auto& payload : bad) {
        session = std::make_unique<Session>(function, Session::Options{"t"});
        auto r = call(make_command(Command::version, payload));
        EXPECT_NE(error_of(r), 0);
        EXPECT_TRUE(r.close);
        EXPECT_FALSE(session->negotiated());
    }
    session = std::make_unique<Session>(function, Session::Options{"t"});
    EXPECT_EQ(error_of(call(make_command(Command::version, version_payload(0, 0, ""),
                                         one_fd(std::move(*make_event_fd()))))),
              EINVAL);
}

TEST_F(VfioUserSessionTest, UnknownCapabilitiesAreTolerated) {
    negotiate(R"({"capabilities":{"something_new":{"x":[1]},"twin_socket":{"supported":true}},)"
              R"("extra":1})");
}

TEST_F(VfioUserSessionTest, ARepeatedVersionFailsButTheSessionCarriesOn) {
    negotiate();
    auto r = call(make_command(Command::version, version_payload(0, 0, "")));
    EXPECT_EQ(error_of(r), EINVAL);
    EXPECT_FALSE(r.close);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0})), 0);
}

// --- framing-level checks and unknown commands ---

TEST_F(VfioUserSessionTest, HeaderFlagsAndFdOverflowAreRefused) {
    negotiate();
    EXPECT_EQ(error_for(make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0}, {},
                                          kFlagError)),
              EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0}, {},
                                          1U << 8)),
              EINVAL);
    auto m = make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0});
    m.fds_truncated = true;
    EXPECT_EQ(error_for(std::move(m)), E2BIG);
}

TEST_F(VfioUserSessionTest, UnknownAndUnsupportedCommandsGetErrors) {
    negotiate();
    for (uint16_t code : {0, 14, 19, 0xffff}) {
        EXPECT_EQ(error_for(make_command(static_cast<Command>(code))), ENOSYS) << code;
    }
    EXPECT_EQ(error_for(make_command(Command::dma_read)), EINVAL);
    EXPECT_EQ(error_for(make_command(Command::dma_write)), EINVAL);
    for (Command c : {Command::region_write_multi, Command::device_feature, Command::mig_data_read,
                      Command::mig_data_write}) {
        EXPECT_EQ(error_for(make_command(c)), ENOTSUP) << to_string(c);
    }
}

TEST_F(VfioUserSessionTest, NoReplyIsHonouredForSuccessAndFailure) {
    negotiate();
    auto ok = call(region_write(pci::kConfig, 8, {0xaa}, kFlagNoReply));
    EXPECT_FALSE(ok.reply.has_value());
    EXPECT_EQ(function.config[8], 0xaa);
    auto failed = call(region_write(pci::kConfig, 0, {0xaa}, kFlagNoReply));  // read-only byte
    EXPECT_FALSE(failed.reply.has_value());
    EXPECT_FALSE(failed.close);
    EXPECT_EQ(responses, 3);
}

// --- DEVICE_GET_INFO, DEVICE_GET_REGION_INFO, DEVICE_GET_IRQ_INFO ---

TEST_F(VfioUserSessionTest, DeviceInfo) {
    negotiate();
    auto r = call(make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0}));
    ASSERT_EQ(error_of(r), 0);
    const auto info = reply_as<DeviceInfo>(r);
    EXPECT_EQ(info.argsz, 16U);
    EXPECT_EQ(info.flags, kDeviceFlagReset | kDeviceFlagPci);
    EXPECT_EQ(info.num_regions, 9U);
    EXPECT_EQ(info.num_irqs, 5U);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_info, DeviceInfo{8, 0, 0, 0})),
              EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_info, uint64_t{16})), EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_info, DeviceInfo{16, 0, 0, 0},
                                          one_fd(std::move(*make_event_fd())))),
              EINVAL);
}

TEST_F(VfioUserSessionTest, RegionInfoOfTheMappableBar) {
    negotiate(R"({"capabilities":{"max_msg_fds":4}})");
    auto r = call(region_info(pci::kBar0));
    ASSERT_EQ(error_of(r), 0);
    const auto& body = r.reply->payload;
    ASSERT_EQ(body.size(), sizeof(RegionInfo) + sizeof(SparseMmapCap) + sizeof(SparseMmapArea));
    const auto info = reply_as<RegionInfo>(r);
    EXPECT_EQ(info.argsz, body.size());
    EXPECT_EQ(info.flags, kRegionRead | kRegionWrite | kRegionMmap | kRegionCaps);
    EXPECT_EQ(info.index, pci::kBar0);
    EXPECT_EQ(info.cap_offset, sizeof(RegionInfo));
    EXPECT_EQ(info.size, FakeFunction::kBar0Size);
    SparseMmapCap cap;
    std::memcpy(&cap, body.data() + info.cap_offset, sizeof(cap));
    EXPECT_EQ(cap.header.id, kCapSparseMmap);
    EXPECT_EQ(cap.header.version, 1);
    EXPECT_EQ(cap.header.next, 0U);
    ASSERT_EQ(cap.nr_areas, 1U);
    SparseMmapArea area;
    std::memcpy(&area, body.data() + info.cap_offset + sizeof(cap), sizeof(area));
    EXPECT_EQ(area.offset, FakeFunction::kDoorbellOffset);
    EXPECT_EQ(area.size, FakeFunction::kDoorbellSize);
    // The fd is a duplicate of the function's, ours to send and close.
    ASSERT_EQ(r.reply->fds.size(), 1U);
    EXPECT_TRUE(::fcntl(r.reply->fds[0].get(), F_GETFD) & FD_CLOEXEC);
    EXPECT_NE(r.reply->fds[0].get(), function.region_info(pci::kBar0).fd);
}

TEST_F(VfioUserSessionTest, RegionInfoWithASmallArgszGetsTheFixedPartAndTheNeededSize) {
    negotiate(R"({"capabilities":{"max_msg_fds":1}})");
    auto r = call(region_info(pci::kBar0, sizeof(RegionInfo)));
    ASSERT_EQ(error_of(r), 0);
    ASSERT_EQ(r.reply->payload.size(), sizeof(RegionInfo));
    const auto info = reply_as<RegionInfo>(r);
    EXPECT_EQ(info.argsz, sizeof(RegionInfo) + sizeof(SparseMmapCap) + sizeof(SparseMmapArea));
    EXPECT_EQ(info.flags & kRegionCaps, 0U);
    EXPECT_EQ(info.cap_offset, 0U);
    EXPECT_TRUE(r.reply->fds.empty());
}

TEST_F(VfioUserSessionTest, RegionInfoOfPlainAndAbsentRegions) {
    negotiate();
    // SPDK's client sends its whole reply buffer as the request.
    std::vector<std::byte> spdk(4064);
    const RegionInfo request{4064, 0, pci::kConfig, 0, 0, 0};
    std::memcpy(spdk.data(), &request, sizeof(request));
    auto config = call(make_command(Command::device_get_region_info, spdk));
    ASSERT_EQ(error_of(config), 0);
    const auto info = reply_as<RegionInfo>(config);
    EXPECT_EQ(info.flags, kRegionRead | kRegionWrite);
    EXPECT_EQ(info.size, FakeFunction::kConfigSize);
    EXPECT_EQ(info.argsz, sizeof(RegionInfo));
    EXPECT_TRUE(config.reply->fds.empty());

    auto bar1 = call(region_info(1));
    ASSERT_EQ(error_of(bar1), 0);
    EXPECT_EQ(reply_as<RegionInfo>(bar1).size, 0U);
    EXPECT_EQ(reply_as<RegionInfo>(bar1).flags, 0U);

    EXPECT_EQ(error_for(region_info(9)), EINVAL);
    EXPECT_EQ(error_for(region_info(0xffffffff)), EINVAL);
    EXPECT_EQ(error_for(region_info(pci::kBar0, 31)), EINVAL);
    EXPECT_EQ(
        error_for(make_command_with(Command::device_get_region_info, DeviceInfo{512, 0, 0, 0})),
        EINVAL);  // 16 bytes: shorter than the fixed part
}

TEST_F(VfioUserSessionTest, WithoutFdsInRepliesNothingIsOfferedForMmap) {
    negotiate(R"({"capabilities":{"max_msg_fds":0}})");
    auto r = call(region_info(pci::kBar0));
    ASSERT_EQ(error_of(r), 0);
    EXPECT_EQ(reply_as<RegionInfo>(r).flags, kRegionRead | kRegionWrite);
    EXPECT_TRUE(r.reply->fds.empty());
}

TEST_F(VfioUserSessionTest, RegionIoFdsAreRefused) {
    negotiate();
    EXPECT_EQ(error_for(make_command_with(Command::device_get_region_io_fds,
                                          RegionIoFds{64, 0, pci::kBar0, 0})),
              ENOTSUP);
    EXPECT_EQ(
        error_for(make_command_with(Command::device_get_region_io_fds, RegionIoFds{64, 0, 12, 0})),
        EINVAL);
    EXPECT_EQ(error_for(make_command(Command::device_get_region_io_fds)), EINVAL);
}

TEST_F(VfioUserSessionTest, IrqInfo) {
    negotiate();
    auto msix =
        call(make_command_with(Command::device_get_irq_info, IrqInfo{16, 0, pci::kMsix, 0}));
    ASSERT_EQ(error_of(msix), 0);
    EXPECT_EQ(reply_as<IrqInfo>(msix).count, FakeFunction::kMsixVectors);
    EXPECT_EQ(reply_as<IrqInfo>(msix).flags, kIrqInfoEventfd | kIrqInfoNoresize);
    EXPECT_EQ(reply_as<IrqInfo>(msix).index, pci::kMsix);
    auto intx =
        call(make_command_with(Command::device_get_irq_info, IrqInfo{16, 0, pci::kIntx, 0}));
    EXPECT_EQ(reply_as<IrqInfo>(intx).flags,
              kIrqInfoEventfd | kIrqInfoMaskable | kIrqInfoAutomasked);
    auto msi = call(make_command_with(Command::device_get_irq_info, IrqInfo{16, 0, pci::kMsi, 0}));
    EXPECT_EQ(reply_as<IrqInfo>(msi).count, 0U);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_irq_info, IrqInfo{16, 0, 5, 0})),
              EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_irq_info, IrqInfo{8, 0, 0, 0})),
              EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::device_get_irq_info, uint64_t{16})), EINVAL);
}

// --- DEVICE_SET_IRQS ---

TEST_F(VfioUserSessionTest, EventfdsReachTheFunction) {
    negotiate();
    auto fds = eventfds(4);
    EXPECT_EQ(
        error_for(set_irqs(kIrqDataEventfd | kIrqActionTrigger, pci::kMsix, 2, 4, std::move(fds))),
        0);
    EXPECT_FALSE(function.msix[1].valid());
    for (uint32_t i = 2; i < 6; ++i) {
        EXPECT_TRUE(function.msix[i].valid()) << i;
    }
    // De-assign two of them: DATA_EVENTFD without fds.
    EXPECT_EQ(error_for(set_irqs(kIrqDataEventfd | kIrqActionTrigger, pci::kMsix, 2, 2)), 0);
    EXPECT_FALSE(function.msix[2].valid());
    EXPECT_TRUE(function.msix[4].valid());
    // Disable the whole index: count 0, DATA_NONE, ACTION_TRIGGER.
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqActionTrigger, pci::kMsix, 0, 0)), 0);
    EXPECT_FALSE(function.msix[4].valid());
    EXPECT_FALSE(function.contract_violated);
}

TEST_F(VfioUserSessionTest, SetIrqsChecksEveryFlagCombinationAndRange) {
    negotiate();
    constexpr uint32_t kTrigger = kIrqActionTrigger;
    // Not exactly one data kind and one action.
    EXPECT_EQ(error_for(set_irqs(kTrigger, pci::kMsix, 0, 1)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone, pci::kMsix, 0, 1)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqDataBool | kTrigger, pci::kMsix, 0, 1)),
              EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqActionMask | kTrigger, pci::kIntx, 0, 1)),
              EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger | (1U << 6), pci::kMsix, 0, 1)), EINVAL);
    // Index and range.
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger, 5, 0, 1)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger, pci::kMsix, 7, 2)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger, pci::kMsix, 0xffffffff, 2)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger, pci::kMsi, 0, 1)), EINVAL);
    // Count 0 only disables.
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger, pci::kMsix, 1, 0)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataEventfd | kTrigger, pci::kMsix, 0, 0)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqActionMask, pci::kIntx, 0, 0)), EINVAL);
    // Masking needs a maskable type; error and request interrupts only trigger, one vector.
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqActionMask, pci::kMsix, 0, 1)), EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqActionMask, pci::kIntx, 0, 1)), 0);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kIrqActionUnmask, pci::kErr, 0, 1)), EINVAL);
    // Fds: the right count, eventfds only, and only with DATA_EVENTFD.
    EXPECT_EQ(error_for(set_irqs(kIrqDataEventfd | kTrigger, pci::kMsix, 0, 4, eventfds(3))),
              EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataEventfd | kTrigger, pci::kMsix, 0, 1, one_fd(pipe_end()))),
              EINVAL);
    EXPECT_EQ(
        error_for(set_irqs(kIrqDataEventfd | kTrigger, pci::kMsix, 0, 1, one_fd(make_memfd(4096)))),
        EINVAL);
    EXPECT_EQ(error_for(set_irqs(kIrqDataNone | kTrigger, pci::kMsix, 0, 1, eventfds(1))), EINVAL);
    EXPECT_FALSE(function.msix[0].valid());
    // Sizes: argsz, the header, bools.
    EXPECT_EQ(error_for(make_command_with(Command::device_set_irqs,
                                          IrqSet{8, kIrqDataNone | kTrigger, pci::kMsix, 0, 1})),
              EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::device_set_irqs, uint64_t{20})), EINVAL);
    auto extra = set_irqs(kIrqDataNone | kTrigger, pci::kMsix, 0, 1);
    extra.payload.push_back(std::byte{1});
    EXPECT_EQ(error_for(std::move(extra)), EINVAL);
    EXPECT_FALSE(function.contract_violated);
}

TEST_F(VfioUserSessionTest, BoolsTravelInThePayload) {
    negotiate();
    auto m = set_irqs(kIrqDataBool | kIrqActionTrigger, pci::kMsix, 1, 3);
    EXPECT_EQ(error_for(std::move(m)), EINVAL);  // three bools missing
    m = set_irqs(kIrqDataBool | kIrqActionTrigger, pci::kMsix, 1, 3);
    for (uint8_t b : {1, 0, 7}) {
        m.payload.push_back(std::byte{b});
    }
    EXPECT_EQ(error_for(std::move(m)), 0);
    ASSERT_FALSE(function.irq_sets.empty());
    const auto& set = function.irq_sets.back();
    EXPECT_EQ(set.data, pci::IrqData::boolean);
    EXPECT_EQ(set.bools, (std::vector<bool>{true, false, true}));
    EXPECT_FALSE(function.contract_violated);
}

// --- REGION_READ / REGION_WRITE ---

TEST_F(VfioUserSessionTest, RegionReadAndWrite) {
    negotiate();
    auto r = call(region_read(pci::kConfig, 16, 4));
    ASSERT_EQ(error_of(r), 0);
    ASSERT_EQ(r.reply->payload.size(), sizeof(RegionAccess) + 4);
    const auto echo = reply_as<RegionAccess>(r);
    EXPECT_EQ(echo.offset, 16U);
    EXPECT_EQ(echo.region, pci::kConfig);
    EXPECT_EQ(echo.count, 4U);
    EXPECT_EQ(r.reply->payload[sizeof(RegionAccess) + 3], std::byte{19});

    auto w = call(region_write(pci::kBar0, 0x20, {1, 2, 3, 4, 5, 6, 7, 8}));
    ASSERT_EQ(error_of(w), 0);
    EXPECT_EQ(w.reply->payload.size(), sizeof(RegionAccess));
    EXPECT_EQ(reply_as<RegionAccess>(w).count, 8U);
    EXPECT_EQ(function.bar0[0x27], 8);
    // The doorbell page is mappable but may be written by message too.
    EXPECT_EQ(error_for(region_write(pci::kBar0, FakeFunction::kDoorbellOffset, {9, 0, 0, 0})), 0);
    EXPECT_EQ(function.doorbells()[0], 9U);
    // Count 0: nothing to do, a header-only reply.
    auto empty = call(region_read(pci::kConfig, 0, 0));
    ASSERT_EQ(error_of(empty), 0);
    EXPECT_EQ(empty.reply->payload.size(), sizeof(RegionAccess));
    EXPECT_FALSE(function.contract_violated);
}

TEST_F(VfioUserSessionTest, RegionAccessChecks) {
    negotiate();
    const uint64_t size = FakeFunction::kBar0Size;
    EXPECT_EQ(error_for(region_read(pci::kBar0, size - 3, 4)), EINVAL);
    EXPECT_EQ(error_for(region_read(pci::kBar0, size, 1)), EINVAL);
    EXPECT_EQ(error_for(region_read(pci::kBar0, ~0ULL, 2)), EINVAL);
    EXPECT_EQ(error_for(region_read(pci::kBar0, 0, kMaxDataXferSize + 1)), EINVAL);
    EXPECT_EQ(error_for(region_read(9, 0, 4)), EINVAL);
    EXPECT_EQ(error_for(region_read(1, 0, 4)), EINVAL);  // BAR1 has no size
    auto short_read = region_read(pci::kBar0, 0, 4);
    short_read.payload.pop_back();
    EXPECT_EQ(error_for(std::move(short_read)), EINVAL);
    auto long_read = region_read(pci::kBar0, 0, 4);
    long_read.payload.push_back(std::byte{0});
    EXPECT_EQ(error_for(std::move(long_read)), EINVAL);
    auto with_fd = region_read(pci::kBar0, 0, 4);
    with_fd.fds.push_back(std::move(*make_event_fd()));
    EXPECT_EQ(error_for(std::move(with_fd)), EINVAL);
    // Writes: count and data must agree.
    auto lying = region_write(pci::kBar0, 0, {1, 2, 3, 4});
    lying.payload.push_back(std::byte{5});
    EXPECT_EQ(error_for(std::move(lying)), EINVAL);
    auto truncated = region_write(pci::kBar0, 0, {1, 2, 3, 4});
    truncated.payload.resize(sizeof(RegionAccess) + 2);
    EXPECT_EQ(error_for(std::move(truncated)), EINVAL);
    EXPECT_EQ(error_for(region_write(pci::kBar0, size - 1, {1, 2})), EINVAL);
    EXPECT_FALSE(function.contract_violated);
    // The function's own refusals come back as they are.
    EXPECT_EQ(error_for(region_write(pci::kConfig, 0, {1})), EPERM);
    function.failing_offset = 0x40;
    EXPECT_EQ(error_for(region_read(pci::kBar0, 0x40, 4)), EIO);
}

// --- DMA_MAP / DMA_UNMAP ---

TEST_F(VfioUserSessionTest, DmaMapHandsTheFunctionANewSnapshot) {
    negotiate();
    function.auto_complete = false;
    std::optional<Session::Response> reply;
    session->handle(dma_map(kIova, kRam, one_fd(make_memfd(kRam, true))),
                    [&](Session::Response r) { reply = std::move(r); });
    EXPECT_FALSE(reply.has_value());  // not before the function is done with the old memory
    EXPECT_TRUE(session->busy());
    ASSERT_EQ(function.memory_history.size(), 1U);
    const auto memory = function.memory_history[0];
    ASSERT_EQ(memory->regions().size(), 1U);
    EXPECT_EQ(memory->regions()[0]->gpa_begin(), kIova);
    EXPECT_TRUE(memory->sealed());
    // The device reaches the client's memory through it, and nothing past it.
    auto* host = static_cast<uint8_t*>(memory->host_address(kIova + 8, 8));
    ASSERT_NE(host, nullptr);
    host[0] = 0x5a;
    EXPECT_EQ(memory->host_address(kIova + kRam - 4, 8), nullptr);
    // A caller that hands over a second command meanwhile is refused.
    bool refused = false;
    session->handle(make_command(Command::device_reset),
                    [&](Session::Response r) { refused = r.close && !r.reply; });
    EXPECT_TRUE(refused);
    function.complete();
    EXPECT_FALSE(session->busy());
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(error_of(*reply), 0);
    EXPECT_EQ(session->memory(), memory);
    EXPECT_EQ(function.resets, 0);
}

TEST_F(VfioUserSessionTest, DmaMapWaitsAndThenReplies) {
    negotiate();
    function.auto_complete = false;
    std::optional<Session::Response> reply;
    session->handle(dma_map(kIova, kRam, one_fd(make_memfd(kRam))),
                    [&](Session::Response r) { reply = std::move(r); });
    EXPECT_FALSE(reply.has_value());
    function.complete();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(error_of(*reply), 0);
    EXPECT_TRUE(reply->reply->payload.empty());
    EXPECT_EQ(reply->reply->header.msg_id, 7);
    EXPECT_FALSE(function.contract_violated);
}

TEST_F(VfioUserSessionTest, DmaMapChecks) {
    negotiate();
    auto map = [&](uint64_t iova, uint64_t size, uint32_t flags = kDmaRead | kDmaWrite) {
        return error_for(dma_map(iova, size, one_fd(make_memfd(4 * kRam)), flags));
    };
    EXPECT_EQ(map(kIova, kRam), 0);
    EXPECT_EQ(map(kIova, kRam), EEXIST);
    EXPECT_EQ(map(kIova - 0x1000, 0x2000), EEXIST);
    EXPECT_EQ(map(kIova + kRam - 0x1000, 0x2000), EEXIST);
    EXPECT_EQ(map(kIova - 0x10000, 0x30000), EEXIST);
    EXPECT_EQ(map(0, 0), EINVAL);
    EXPECT_EQ(map(0x1000, 0x800), EINVAL);
    EXPECT_EQ(map(0x800, 0x1000), EINVAL);
    EXPECT_EQ(map(~0ULL - 0xfff, 0x2000), EINVAL);
    EXPECT_EQ(map(0x1000, 0x1000, kDmaRead | kDmaWrite | 4), EINVAL);
    EXPECT_EQ(map(0x1000, 8 * kRam), EINVAL);  // longer than the memfd
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd peer(pair[1]);
    EXPECT_EQ(error_for(dma_map(0x1000, 0x1000, one_fd(UniqueFd(pair[0])))), ENODEV);
    std::vector<UniqueFd> two;
    two.push_back(make_memfd(kRam));
    two.push_back(make_memfd(kRam));
    EXPECT_EQ(error_for(dma_map(0x1000, 0x1000, std::move(two))), EINVAL);
    EXPECT_EQ(error_for(dma_map(0x1000, 0x1000, {}, kDmaRead | kDmaWrite, 0x1000)), EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::dma_map,
                                          DmaMap{40, kDmaRead | kDmaWrite, 0, 0x1000, 0x1000})),
              EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::dma_map, DmaUnmap{32, 0, 0x1000, 0x1000})),
              EINVAL);
    // A file opened read-only cannot be mapped for the device to write.
    UniqueFd read_only(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    EXPECT_EQ(error_for(dma_map(0x1000, 0x1000, one_fd(std::move(read_only)))), EACCES);
    ASSERT_EQ(session->dma().regions().size(), 1U);
    EXPECT_EQ(function.memory->regions().size(), 1U);
}

TEST_F(VfioUserSessionTest, RegionsWithoutAnFdOrWriteAccessAreRecordedButUnreachable) {
    negotiate();
    EXPECT_EQ(error_for(dma_map(0x1000, 0x1000, {})), 0);
    EXPECT_EQ(error_for(dma_map(0x2000, 0x1000, one_fd(make_memfd(kRam)), kDmaRead)), 0);
    EXPECT_EQ(error_for(dma_map(0x3000, 0x1000, one_fd(make_memfd(kRam)), kDmaWrite)), 0);
    EXPECT_TRUE(function.memory_history.empty());  // the device's view did not change
    EXPECT_EQ(session->dma().regions().size(), 3U);
    EXPECT_TRUE(session->memory()->is_empty());
    EXPECT_EQ(error_for(dma_map(0x1000, 0x1000, one_fd(make_memfd(kRam)))), EEXIST);
    // Unmapping one changes nothing the device sees either.
    auto r = call(make_command_with(Command::dma_unmap, DmaUnmap{24, 0, 0x2000, 0x1000}));
    EXPECT_EQ(error_of(r), 0);
    EXPECT_TRUE(function.memory_history.empty());
}

TEST_F(VfioUserSessionTest, TheDmaTableIsBounded) {
    negotiate();
    for (size_t i = 0; i < DmaTable::kMaxRegions; ++i) {
        ASSERT_EQ(error_for(dma_map(0x1000 * (i + 1), 0x1000, {})), 0) << i;
    }
    EXPECT_EQ(error_for(dma_map(0x10000000, 0x1000, {})), ENOSPC);
}

TEST_F(VfioUserSessionTest, DmaUnmapIsExactAndEchoesTheEntry) {
    negotiate();
    ASSERT_EQ(error_for(dma_map(kIova, kRam, one_fd(make_memfd(kRam)))), 0);
    ASSERT_EQ(error_for(dma_map(kIova + kRam, kRam, one_fd(make_memfd(kRam)))), 0);
    auto unmap = [&](uint64_t iova, uint64_t size) {
        return error_for(make_command_with(Command::dma_unmap, DmaUnmap{24, 0, iova, size}));
    };
    EXPECT_EQ(unmap(kIova, 2 * kRam), ENOTSUP);  // would merge two
    EXPECT_EQ(unmap(kIova, 0x1000), ENOTSUP);    // would split one
    EXPECT_EQ(unmap(0x1000, 0x1000), ENOENT);
    EXPECT_EQ(unmap(0x1000, 0), EINVAL);
    function.auto_complete = false;
    std::optional<Session::Response> reply;
    session->handle(make_command_with(Command::dma_unmap, DmaUnmap{24, 0, kIova, kRam}),
                    [&](Session::Response r) { reply = std::move(r); });
    EXPECT_FALSE(reply.has_value());
    ASSERT_EQ(function.memory->regions().size(), 1U);
    EXPECT_EQ(function.memory->regions()[0]->gpa_begin(), kIova + kRam);
    function.complete();
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(error_of(*reply), 0);
    const auto echo = reply_as<DmaUnmap>(*reply);
    EXPECT_EQ(echo.addr, kIova);
    EXPECT_EQ(echo.size, kRam);
    EXPECT_EQ(reply->reply->payload.size(), sizeof(DmaUnmap));
}

TEST_F(VfioUserSessionTest, DmaUnmapChecks) {
    negotiate();
    ASSERT_EQ(error_for(dma_map(kIova, kRam, one_fd(make_memfd(kRam)))), 0);
    auto unmap = [&](DmaUnmap u, std::vector<UniqueFd> fds = {}) {
        return error_for(make_command_with(Command::dma_unmap, u, std::move(fds)));
    };
    EXPECT_EQ(unmap({24, kUnmapGetDirtyBitmap, kIova, kRam}), ENOTSUP);
    EXPECT_EQ(unmap({24, 4, kIova, kRam}), EINVAL);
    EXPECT_EQ(unmap({16, 0, kIova, kRam}), EINVAL);
    EXPECT_EQ(unmap({24, kUnmapAll, kIova, 0}), EINVAL);
    std::vector<UniqueFd> two;
    two.push_back(make_memfd(kRam));
    two.push_back(make_memfd(kRam));
    EXPECT_EQ(unmap({24, 0, kIova, kRam}, std::move(two)), EINVAL);
    EXPECT_EQ(error_for(make_command_with(Command::dma_unmap, DmaMap{24, 0, 0, kIova, kRam})),
              EINVAL);
    EXPECT_EQ(session->dma().regions().size(), 1U);
    // SPDK's client passes the region's fd along with the unmap; it is closed, unused.
    EXPECT_EQ(unmap({24, 0, kIova, kRam}, one_fd(make_memfd(kRam))), 0);
    EXPECT_TRUE(session->dma().regions().empty());
}

TEST_F(VfioUserSessionTest, UnmapAllDropsEverything) {
    negotiate();
    ASSERT_EQ(error_for(dma_map(kIova, kRam, one_fd(make_memfd(kRam)))), 0);
    ASSERT_EQ(error_for(dma_map(0x1000, 0x1000, {})), 0);
    auto r = call(make_command_with(Command::dma_unmap, DmaUnmap{24, kUnmapAll, 0, 0}));
    ASSERT_EQ(error_of(r), 0);
    EXPECT_EQ(reply_as<DmaUnmap>(r).flags, kUnmapAll);
    EXPECT_TRUE(session->dma().regions().empty());
    EXPECT_TRUE(function.memory->is_empty());
}

// --- DEVICE_RESET ---

TEST_F(VfioUserSessionTest, ResetRepliesAfterTheFunctionAndKeepsTheDmaTable) {
    negotiate();
    ASSERT_EQ(error_for(dma_map(kIova, kRam, one_fd(make_memfd(kRam)))), 0);
    EXPECT_EQ(error_for(make_command(Command::device_reset, {}, {}, 0)), 0);
    function.auto_complete = false;
    std::optional<Session::Response> reply;
    session->handle(make_command(Command::device_reset),
                    [&](Session::Response r) { reply = std::move(r); });
    EXPECT_FALSE(reply.has_value());
    function.complete();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(error_of(*reply), 0);
    EXPECT_EQ(function.resets, 2);
    EXPECT_EQ(session->dma().regions().size(), 1U);
    EXPECT_EQ(function.memory->regions().size(), 1U);
    function.auto_complete = true;
    EXPECT_EQ(error_for(make_command_with(Command::device_reset, uint32_t{0})), EINVAL);
    EXPECT_EQ(error_for(make_command(Command::device_reset, {}, eventfds(1))), EINVAL);
}

// --- disconnect ---

TEST_F(VfioUserSessionTest, DisconnectResetsThenDropsMemoryThenReports) {
    const size_t fds_before = count_open_fds();
    negotiate();
    ASSERT_EQ(error_for(dma_map(kIova, kRam, one_fd(make_memfd(kRam)))), 0);
    ASSERT_EQ(
        error_for(set_irqs(kIrqDataEventfd | kIrqActionTrigger, pci::kMsix, 0, 2, eventfds(2))), 0);
    auto bar = call(region_info(pci::kBar0));  // a reply fd, closed with the reply
    ASSERT_EQ(error_of(bar), 0);
    bar = {};
    function.events.clear();
    function.auto_complete = false;
    bool done = false;
    session->disconnect([&] { done = true; });
    EXPECT_FALSE(done);
    ASSERT_EQ(function.events, std::vector<Event>{Event::reset});
    function.complete();
    EXPECT_FALSE(done);
    ASSERT_EQ(function.events, (std::vector<Event>{Event::reset, Event::set_memory}));
    EXPECT_TRUE(function.memory->is_empty());
    function.complete();
    EXPECT_TRUE(done);
    EXPECT_FALSE(session->negotiated());
    EXPECT_TRUE(session->dma().regions().empty());
    function.memory_history.clear();
    EXPECT_EQ(count_open_fds(), fds_before);
    EXPECT_FALSE(function.contract_violated);
}

TEST_F(VfioUserSessionTest, DisconnectWaitsForTheCommandInProgress) {
    negotiate();
    function.auto_complete = false;
    std::optional<Session::Response> reply;
    session->handle(dma_map(kIova, kRam, one_fd(make_memfd(kRam))),
                    [&](Session::Response r) { reply = std::move(r); });
    bool done = false;
    session->disconnect([&] { done = true; });
    EXPECT_EQ(function.events.back(), Event::set_memory);
    function.complete();  // the DMA_MAP finishes, then the teardown starts
    EXPECT_TRUE(reply.has_value());
    EXPECT_EQ(function.events.back(), Event::reset);
    function.complete();
    function.complete();
    EXPECT_TRUE(done);
    EXPECT_FALSE(function.contract_violated);
    // A session that is gone takes nothing more.
    bool refused = false;
    session->handle(make_command(Command::device_reset),
                    [&](Session::Response r) { refused = r.close; });
    EXPECT_TRUE(refused);
}

TEST_F(VfioUserSessionTest, ADestroyedSessionIgnoresLateCallbacks) {
    negotiate();
    function.auto_complete = false;
    session->handle(make_command(Command::device_reset), [](Session::Response) {});
    session.reset();
    function.complete();  // must not touch the freed session
    SUCCEED();
}

}  // namespace
}  // namespace vhostd::vfio_user
