// VPD page contents.
#include "scsi/vpd.hpp"

#include <algorithm>
#include <cstring>

#include "scsi/cdb.hpp"
#include "scsi/limits.hpp"

namespace vhostd::scsi {

namespace {

constexpr uint8_t kSupportedPages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};

// Page header (SPC-4 7.8.1): device type, page code, 2-byte page length.
size_t finish(std::span<uint8_t, kMaxVpdPage> out, uint8_t page, size_t length) {
    out[0] = 0x00;  // qualifier 000b, direct access block device
    out[1] = page;
    put_be16(&out[2], static_cast<uint16_t>(length - 4));
    return length;
}

size_t device_identification(const LogicalUnit& unit, std::span<uint8_t, kMaxVpdPage> out) {
    size_t at = 4;
    // SPC-4 7.8.6.6.5: NAA locally assigned (3h), binary, associated with the LU.
    out[at++] = 0x01;  // PROTOCOL IDENTIFIER 0, CODE SET binary
    out[at++] = 0x03;  // PIV=0, ASSOCIATION LU, DESIGNATOR TYPE NAA
    out[at++] = 0;
    out[at++] = 8;
    put_be64(&out[at], unit.naa_id());
    at += 8;
    // SPC-4 7.8.6.4: T10 vendor ID based: vendor identification then the serial number.
    out[at++] = 0x02;  // CODE SET ASCII
    out[at++] = 0x01;  // ASSOCIATION LU, DESIGNATOR TYPE T10 vendor ID
    out[at++] = 0;
    out[at++] = static_cast<uint8_t>(8 + unit.serial().size());
    std::memset(&out[at], ' ', 8);
    std::memcpy(&out[at], kVendorId.data(), kVendorId.size());
    at += 8;
    std::memcpy(&out[at], unit.serial().data(), unit.serial().size());
    at += unit.serial().size();
    return finish(out, 0x83, at);
}

size_t block_limits(const LogicalUnit& unit, std::span<uint8_t, kMaxVpdPage> out) {
    const block::Capabilities& caps = unit.bdev()->capabilities();
    const uint32_t bs = unit.block_size();
    out[4] = 0x01;  // WSNZ: WRITE SAME with 0 blocks is refused
    if (caps.physical_block_size > bs) {
        put_be16(&out[6], static_cast<uint16_t>(caps.physical_block_size / bs));
    }
    put_be32(&out[12], caps.optimal_io_blocks);  // OPTIMAL TRANSFER LENGTH
    if (caps.discard) {
        put_be32(&out[20], caps.max_discard_blocks != 0 ? caps.max_discard_blocks : UINT32_MAX);
        put_be32(&out[24], kMaxUnmapDescriptors);
        put_be32(&out[28], 1);  // OPTIMAL UNMAP GRANULARITY: any block
    }
    put_be64(&out[36], kMaxWriteSameBlocks);
    return finish(out, 0xb0, 64);
}

size_t provisioning(const LogicalUnit& unit, std::span<uint8_t, kMaxVpdPage> out) {
    const block::Capabilities& caps = unit.bdev()->capabilities();
    // SBC-3 6.5.4: LBPU (UNMAP) when the bdev discards; LBPWS/LBPWS10 (WRITE SAME with UNMAP
    // deallocates) when it also writes zeroes. LBPRZ stays 0: a discard need not read zeroes.
    if (caps.discard) {
        out[5] = 0x80;
        if (caps.write_zeroes) {
            out[5] |= 0x60;
        }
        out[6] = 0x02;  // PROVISIONING TYPE: thin
    }
    return finish(out, 0xb2, 8);
}

}  // namespace

size_t build_vpd_page(const LogicalUnit& unit, uint8_t page, std::span<uint8_t, kMaxVpdPage> out) {
    std::fill(out.begin(), out.end(), 0);
    switch (page) {
        case 0x00:  // SPC-4 7.8.13 Supported VPD pages
            std::copy(std::begin(kSupportedPages), std::end(kSupportedPages), &out[4]);
            return finish(out, 0x00, 4 + sizeof(kSupportedPages));
        case 0x80:  // SPC-4 7.8.14 Unit serial number
            std::memcpy(&out[4], unit.serial().data(), unit.serial().size());
            return finish(out, 0x80, 4 + unit.serial().size());
        case 0x83:
            return device_identification(unit, out);
        case 0xb0:
            return block_limits(unit, out);
        case 0xb1:  // SBC-3 6.5.2 Block device characteristics: non-rotating medium
            put_be16(&out[4], 0x0001);
            return finish(out, 0xb1, 64);
        case 0xb2:
            return provisioning(unit, out);
        default:
            return 0;
    }
}

}  // namespace vhostd::scsi
