// NvmeVfioClient: an NVMe controller driven by hand over vfio-user, for the nvmf integration
// tests (no driver library): VfioUserClient, guest RAM mapped for DMA, config space and BAR0
// reads, the admin queue set up and the controller enabled by register writes, admin commands
// submitted and their completions polled from guest memory, doorbells rung through the mapped
// page or as region writes, whichever BAR0 offers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/vfio_user_client.hpp"
#include "spec/nvme.hpp"
#include "spec/pci.hpp"

namespace vhostd::testing {

class NvmeVfioClient {
  public:
    // Connects, negotiates and maps 2 MiB of guest RAM for DMA.
    static Result<std::unique_ptr<NvmeVfioClient>> connect(const std::string& socket);

    [[nodiscard]] frontend::VfioUserClient& client() { return client_; }
    // The first `bytes` of PCI config space.
    Result<std::vector<uint8_t>> config_space(size_t bytes = 256);
    // Offsets of the capabilities in the standard list, by ID (bounded walk).
    Result<std::vector<std::pair<uint8_t, uint8_t>>> capabilities();
    // BAR0's region info: mappable doorbell page (mapped mode) or none (trapped mode).
    Result<frontend::VfioUserRegion> bar0_info() { return client_.region_info(0); }
    [[nodiscard]] bool doorbells_mapped() const { return doorbells_ != nullptr; }

    Result<uint32_t> read32(uint64_t offset) { return client_.read32(0, offset); }
    Result<uint64_t> read64(uint64_t offset) { return client_.read64(0, offset); }

    // AQA/ASQ/ACQ, CC (EN, 64-byte SQEs, 16-byte CQEs), then waits for CSTS.RDY.
    Result<void> enable(uint32_t admin_entries = 16);

    // Writes the command (CID assigned) at the admin SQ tail and rings the doorbell.
    Result<uint16_t> submit(nvme_spec::Command command);
    // Waits for the completion of `cid` (others seen meanwhile are kept for later waits).
    Result<nvme_spec::Completion> wait(uint16_t cid);
    // submit + wait; an error status is an error.
    Result<nvme_spec::Completion> run(nvme_spec::Command command);

    // Identify into a fresh page of guest RAM.
    Result<nvme_spec::IdentifyController> identify_controller();
    Result<nvme_spec::IdentifyNamespace> identify_namespace(uint32_t nsid);
    Result<std::vector<uint32_t>> active_namespaces();
    // Get Log Page Changed Namespace List (clears it).
    Result<std::vector<uint32_t>> changed_namespaces();

  private:
    NvmeVfioClient(frontend::VfioUserClient client, frontend::GuestRam ram)
        : client_(std::move(client)), ram_(std::move(ram)) {}
    Result<void> ring(uint32_t doorbell_index, uint32_t value);
    Result<frontend::GuestBuffer> page();
    Result<void> identify(uint8_t cns, uint32_t nsid, frontend::GuestBuffer& buffer);

    frontend::VfioUserClient client_;
    frontend::GuestRam ram_;
    frontend::VfioUserMapping bar0_;
    uint32_t* doorbells_ = nullptr;  // the mapped doorbell page, if BAR0 offers it
    frontend::GuestBuffer sq_, cq_;
    uint32_t entries_ = 0;
    uint32_t sq_tail_ = 0;
    uint32_t cq_head_ = 0;
    bool phase_ = true;
    uint16_t next_cid_ = 1;
    std::vector<nvme_spec::Completion> backlog_;
};

}  // namespace vhostd::testing
