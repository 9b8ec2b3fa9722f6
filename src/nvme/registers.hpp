// Registers: the controller registers of BAR0 below the doorbells (3.1) as the driver reads
// and writes them: CAP and VS read-only, INTMS/INTMC setting and clearing one mask, AQA/ASQ/ACQ
// stored (the queue bases 4 KiB aligned), CC stored for the controller to act on, CSTS owned
// by the controller. Accesses are dwords or qwords at their natural alignment, as the PCIe
// register interface allows (3.1); anything else is refused. Control reactor only.
#pragma once

#include <cstdint>
#include <span>

#include "base/error.hpp"
#include "nvme/options.hpp"

namespace vhostd::nvme {

struct RegisterWrite {
    bool cc = false;    // CC was written (act on the new value)
    bool intm = false;  // INTMS or INTMC changed the mask
};

class Registers {
  public:
    explicit Registers(const ControllerOptions& options);

    [[nodiscard]] uint64_t cap() const { return cap_; }
    [[nodiscard]] uint32_t cc() const { return cc_; }
    [[nodiscard]] uint32_t csts() const { return csts_; }
    [[nodiscard]] uint32_t aqa() const { return aqa_; }
    [[nodiscard]] uint64_t asq() const { return asq_; }
    [[nodiscard]] uint64_t acq() const { return acq_; }
    [[nodiscard]] uint32_t intms() const { return intms_; }
    void set_csts(uint32_t csts) { csts_ = csts; }

    // Reads `out.size()` bytes at `offset` (< 0x1000); unimplemented registers read zero.
    Result<void> read(uint64_t offset, std::span<uint8_t> out) const;
    Result<RegisterWrite> write(uint64_t offset, std::span<const uint8_t> data);

    // Power-on values (DEVICE_RESET): CC, AQA, ASQ, ACQ, INTMS and CSTS to zero.
    void reset();

  private:
    void write_dword(uint32_t offset, uint32_t value, RegisterWrite& what);

    const uint64_t cap_;
    const uint32_t vs_;
    uint32_t intms_ = 0;
    uint32_t cc_ = 0;
    uint32_t csts_ = 0;
    uint32_t aqa_ = 0;
    uint64_t asq_ = 0;
    uint64_t acq_ = 0;
};

// CAP.TO in 500 ms units: enable and reset wait for queues to drain, which may take a while
// on a slow backend.
constexpr uint64_t kReadyTimeoutUnits = 30;

}  // namespace vhostd::nvme
