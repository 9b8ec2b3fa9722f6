// Registers: CAP/VS values, dword and qword accesses.
#include "nvme/registers.hpp"

#include <cstring>

#include "spec/nvme.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

namespace {

uint64_t capabilities(const ControllerOptions& options) {
    // 3.1.1: MQES as configured, contiguous queues required, round robin only, DSTRD 0, the
    // NVM command set, 4 KiB pages only (MPSMIN = MPSMAX = 0).
    return (uint64_t{options.mqes} & cap::kMqesMask) | cap::kCqr |
           (kReadyTimeoutUnits << cap::kToShift) | cap::kCssNvm;
}

}  // namespace

Registers::Registers(const ControllerOptions& options)
    : cap_(capabilities(options)), vs_(version(1, 4)) {}

void Registers::reset() {
    intms_ = 0;
    cc_ = 0;
    csts_ = 0;
    aqa_ = 0;
    asq_ = 0;
    acq_ = 0;
}

Result<void> Registers::read(uint64_t offset, std::span<uint8_t> out) const {
    if (offset >= reg::kRegistersEnd || out.size() > reg::kRegistersEnd - offset) {
        return make_error(EINVAL, "register read at {:#x} leaves the register area", offset);
    }
    // The implemented registers as an image; reads may take any bytes of it.
    uint8_t image[0x40] = {};
    std::memcpy(image + reg::kCap, &cap_, 8);
    std::memcpy(image + reg::kVs, &vs_, 4);
    std::memcpy(image + reg::kIntms, &intms_, 4);
    std::memcpy(image + reg::kIntmc, &intms_, 4);  // 3.1.4: INTMC reads the mask too
    std::memcpy(image + reg::kCc, &cc_, 4);
    std::memcpy(image + reg::kCsts, &csts_, 4);
    std::memcpy(image + reg::kAqa, &aqa_, 4);
    std::memcpy(image + reg::kAsq, &asq_, 8);
    std::memcpy(image + reg::kAcq, &acq_, 8);
    for (size_t i = 0; i < out.size(); ++i) {
        const uint64_t at = offset + i;
        out[i] = at < sizeof(image) ? image[at] : 0;
    }
    return {};
}

Result<RegisterWrite> Registers::write(uint64_t offset, std::span<const uint8_t> data) {
    // 3.1: registers are accessed as dwords, or qwords for the 64-bit ones, aligned.
    if ((data.size() != 4 && data.size() != 8) || offset % data.size() != 0 ||
        offset >= reg::kRegistersEnd) {
        return make_error(EINVAL,
                          "register write of {} bytes at {:#x} is not an aligned dword "
                          "or qword",
                          data.size(), offset);
    }
    RegisterWrite what;
    for (size_t i = 0; i < data.size(); i += 4) {
        uint32_t value;
        std::memcpy(&value, data.data() + i, 4);
        write_dword(static_cast<uint32_t>(offset + i), value, what);
    }
    return what;
}

void Registers::write_dword(uint32_t offset, uint32_t value, RegisterWrite& what) {
    switch (offset) {
        case reg::kIntms:
            intms_ |= value;  // 3.1.3: ones set mask bits
            what.intm = true;
            return;
        case reg::kIntmc:
            intms_ &= ~value;  // 3.1.4: ones clear them
            what.intm = true;
            return;
        case reg::kCc:
            cc_ = value;
            what.cc = true;
            return;
        case reg::kAqa:
            aqa_ = value & (aqa::kAsqsMask | (aqa::kAcqsMask << aqa::kAcqsShift));
            return;
        // 3.1.9 / 3.1.10: the queue bases are 4 KiB aligned; bits 11:0 are reserved.
        case reg::kAsq:
            asq_ = (asq_ & ~uint64_t{0xffffffff}) | (value & ~0xfffu);
            return;
        case reg::kAsq + 4:
            asq_ = (asq_ & 0xffffffff) | (uint64_t{value} << 32);
            return;
        case reg::kAcq:
            acq_ = (acq_ & ~uint64_t{0xffffffff}) | (value & ~0xfffu);
            return;
        case reg::kAcq + 4:
            acq_ = (acq_ & 0xffffffff) | (uint64_t{value} << 32);
            return;
        default:
            // CAP, VS, CSTS and the rest are read-only or not implemented: writes are ignored.
            return;
    }
}

}  // namespace vhostd::nvme
