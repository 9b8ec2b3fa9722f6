// virtio-scsi request parsing: header and CDB copies, LUN field formats, data directions,
// short and malformed layouts, and the response writer's truncation rules.
#include "devices/virtio_scsi/scsi_request.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace vhostd::virtio_scsi {
namespace {

struct Buffers {
    std::vector<std::vector<uint8_t>> storage;
    std::vector<iovec> readable, writable;
    std::array<iovec, 16> data{};

    void add(std::vector<iovec>& to, std::vector<uint8_t> bytes) {
        storage.push_back(std::move(bytes));
        to.push_back({storage.back().data(), storage.back().size()});
    }
};

std::vector<uint8_t> header(std::array<uint8_t, 8> lun, std::vector<uint8_t> cdb,
                            uint32_t cdb_size = kDefaultCdbSize) {
    std::vector<uint8_t> out(sizeof(CmdHeader) + cdb_size);
    std::memcpy(out.data(), lun.data(), 8);
    const uint64_t id = 0x1122334455667788;
    std::memcpy(out.data() + 8, &id, 8);
    std::memcpy(out.data() + sizeof(CmdHeader), cdb.data(), cdb.size());
    return out;
}

constexpr std::array<uint8_t, 8> kLun0{1, 0, 0x40, 0, 0, 0, 0, 0};

TEST(ScsiAddress, Formats) {
    EXPECT_EQ(parse_lun_field({1, 7, 0x40, 0, 0, 0, 0, 0}), (ScsiAddress{7, 0}));
    EXPECT_EQ(parse_lun_field({1, 7, 0x00, 5, 0, 0, 0, 0}), (ScsiAddress{7, 5}));
    EXPECT_EQ(parse_lun_field({1, 255, 0x7f, 0xff, 0, 0, 0, 0}), (ScsiAddress{255, 16383}));
    EXPECT_FALSE(parse_lun_field({0, 0, 0x40, 0, 0, 0, 0, 0}));  // byte 0 is not 1
    EXPECT_FALSE(parse_lun_field({1, 0, 0x80, 0, 0, 0, 0, 0}));  // logical unit method
    EXPECT_FALSE(parse_lun_field({1, 0, 0xc0, 0, 0, 0, 0, 0}));  // extended method
    EXPECT_FALSE(parse_lun_field({1, 0, 0x01, 0, 0, 0, 0, 0}));  // peripheral, bus 1
    EXPECT_FALSE(parse_lun_field({1, 0, 0x40, 0, 0, 0, 0, 1}));  // second level
    for (uint16_t lun : {0, 1, 255, 256, 16383}) {
        const auto field = make_lun_field({3, lun});
        uint8_t raw[8];
        std::memcpy(raw, field.data(), 8);
        EXPECT_EQ(parse_lun_field(raw), (ScsiAddress{3, lun}));
    }
}

TEST(ScsiRequest, DataInCommand) {
    Buffers b;
    b.add(b.readable, header(kLun0, {0x12, 0, 0, 0, 96, 0}));
    b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse) + kDefaultSenseSize));
    b.add(b.writable, std::vector<uint8_t>(96));
    const CmdRequest r = parse_cmd_request(b.readable, b.writable, {}, b.data);
    ASSERT_EQ(r.verdict, CmdVerdict::execute);
    EXPECT_EQ(r.tag, 0x1122334455667788U);
    EXPECT_EQ(r.address, (ScsiAddress{0, 0}));
    EXPECT_EQ(r.cdb[0], 0x12);
    EXPECT_EQ(r.cdb_length, kDefaultCdbSize);
    EXPECT_EQ(r.direction, DataDirection::from_device);
    EXPECT_EQ(r.data_length, 96U);
    ASSERT_EQ(r.data.size(), 1U);
    EXPECT_EQ(r.data[0].iov_base, b.storage[2].data());
    // The chain's iovecs are untouched: the response goes through them later.
    EXPECT_EQ(b.writable[0].iov_len, sizeof(CmdResponse) + kDefaultSenseSize);
}

TEST(ScsiRequest, DataOutSplitAcrossBuffers) {
    Buffers b;
    auto h = header(kLun0, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0});
    std::vector<uint8_t> first(h.begin(), h.begin() + 10);
    std::vector<uint8_t> rest(h.begin() + 10, h.end());
    rest.resize(rest.size() + 300);  // the header's tail and data share a buffer
    b.add(b.readable, first);
    b.add(b.readable, rest);
    b.add(b.readable, std::vector<uint8_t>(212));
    b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse) + kDefaultSenseSize));
    const CmdRequest r = parse_cmd_request(b.readable, b.writable, {}, b.data);
    ASSERT_EQ(r.verdict, CmdVerdict::execute);
    EXPECT_EQ(r.cdb[0], 0x2a);
    EXPECT_EQ(r.direction, DataDirection::to_device);
    EXPECT_EQ(r.data_length, 512U);
    ASSERT_EQ(r.data.size(), 2U);
    EXPECT_EQ(r.data[0].iov_len, 300U);
}

TEST(ScsiRequest, MalformedLayouts) {
    {  // no room for a response: unanswerable
        Buffers b;
        b.add(b.readable, header(kLun0, {0}));
        b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse) - 1));
        EXPECT_EQ(parse_cmd_request(b.readable, b.writable, {}, b.data).verdict,
                  CmdVerdict::unanswered);
    }
    {  // header shorter than 19 + cdb_size: FAILURE
        Buffers b;
        b.add(b.readable, std::vector<uint8_t>(sizeof(CmdHeader) + 8));
        b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse)));
        const CmdRequest r = parse_cmd_request(b.readable, b.writable, {}, b.data);
        EXPECT_EQ(r.verdict, CmdVerdict::respond);
        EXPECT_EQ(r.response, response::kFailure);
    }
    {  // a bad LUN field: BAD_TARGET
        Buffers b;
        b.add(b.readable, header({2, 0, 0, 0, 0, 0, 0, 0}, {0}));
        b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse)));
        const CmdRequest r = parse_cmd_request(b.readable, b.writable, {}, b.data);
        EXPECT_EQ(r.verdict, CmdVerdict::respond);
        EXPECT_EQ(r.response, response::kBadTarget);
    }
    {  // both data directions: FAILURE
        Buffers b;
        b.add(b.readable, header(kLun0, {0}));
        b.add(b.readable, std::vector<uint8_t>(512));
        b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse) + kDefaultSenseSize + 512));
        const CmdRequest r = parse_cmd_request(b.readable, b.writable, {}, b.data);
        EXPECT_EQ(r.verdict, CmdVerdict::respond);
        EXPECT_EQ(r.response, response::kFailure);
    }
}

TEST(ScsiRequest, DriverChosenSizes) {
    Buffers b;
    const CmdSizes sizes{.cdb_size = 16, .sense_size = 32};
    b.add(b.readable, header(kLun0, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 16));
    b.add(b.writable, std::vector<uint8_t>(sizeof(CmdResponse) + 32 + 512));
    const CmdRequest r = parse_cmd_request(b.readable, b.writable, sizes, b.data);
    ASSERT_EQ(r.verdict, CmdVerdict::execute);
    EXPECT_EQ(r.cdb_length, 16U);
    EXPECT_EQ(r.data_length, 512U);
}

TEST(ScsiResponse, SenseIsCutToSenseSizeAndBuffer) {
    std::vector<uint8_t> sense(18, 0x70);
    std::vector<uint8_t> out(sizeof(CmdResponse) + 10, 0xee);
    std::vector<iovec> writable{{out.data(), out.size()}};
    const uint32_t written = write_cmd_response(
        writable, CmdResult{.response = 0, .status = 2, .residual = 7, .sense = sense}, {});
    EXPECT_EQ(written, sizeof(CmdResponse) + 10);
    CmdResponse resp;
    std::memcpy(&resp, out.data(), sizeof(resp));
    EXPECT_EQ(resp.sense_len, 10U);
    EXPECT_EQ(resp.residual, 7U);
    EXPECT_EQ(resp.status, 2);
    const uint32_t small = write_cmd_response(writable, CmdResult{.sense = sense},
                                              CmdSizes{.cdb_size = 32, .sense_size = 4});
    EXPECT_EQ(small, sizeof(CmdResponse) + 4);
}

}  // namespace
}  // namespace vhostd::virtio_scsi
