// Test doubles for the vfio-user session and server.
#include "support/vfio_user_fakes.hpp"

#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vhostd::vfio_user::testing {

FakeFunction::FakeFunction()
    : memory(guest_memory::GuestMemory::empty()), bar0(kBar0Size), config(kConfigSize) {
    doorbell_fd_ = make_memfd(kBar0Size);
    void* page = ::mmap(nullptr, kDoorbellSize, PROT_READ | PROT_WRITE, MAP_SHARED,
                        doorbell_fd_.get(), static_cast<off_t>(kDoorbellOffset));
    if (page != MAP_FAILED) {
        doorbells_ = static_cast<volatile uint32_t*>(page);
    }
    for (size_t i = 0; i < config.size(); ++i) {
        config[i] = static_cast<uint8_t>(i);
    }
}

FakeFunction::~FakeFunction() {
    if (doorbells_ != nullptr) {
        ::munmap(const_cast<uint32_t*>(doorbells_), kDoorbellSize);
    }
}

pci::RegionInfo FakeFunction::region_info(uint32_t index) const {
    pci::RegionInfo info;
    if (index == pci::kBar0) {
        info.size = kBar0Size;
        info.readable = true;
        info.writable = true;
        info.fd = doorbell_fd_.get();
        info.mmap_areas.push_back({kDoorbellOffset, kDoorbellSize});
    } else if (index == pci::kConfig) {
        info.size = kConfigSize;
        info.readable = true;
        info.writable = true;
    }
    return info;
}

pci::IrqInfo FakeFunction::irq_info(uint32_t index) const {
    switch (index) {
        case pci::kIntx:
            return {.count = 1, .eventfd = true, .maskable = true, .automasked = true};
        case pci::kMsix:
            return {.count = kMsixVectors, .eventfd = true, .noresize = true};
        case pci::kErr:
        case pci::kReq:
            return {.count = 1, .eventfd = true};
        default:
            return {};
    }
}

Result<void> FakeFunction::check_access(uint32_t index, uint64_t offset, size_t len, bool write) {
    const pci::RegionInfo info = region_info(index);
    if (index >= pci::kNumRegions || len == 0 || len > kMaxDataXferSize || offset > info.size ||
        len > info.size - offset || (write ? !info.writable : !info.readable)) {
        contract_violated = true;
        return make_error(EINVAL, "access outside the region");
    }
    if (index == pci::kBar0 && offset == failing_offset) {
        failing_offset = ~0ULL;
        return make_error(EIO, "injected device error");
    }
    return {};
}

Result<void> FakeFunction::read(uint32_t index, uint64_t offset, std::span<uint8_t> out) {
    events.push_back(Event::read);
    VHOSTD_TRY(check_access(index, offset, out.size(), false));
    for (size_t i = 0; i < out.size(); ++i) {
        const uint64_t at = offset + i;
        if (index == pci::kConfig) {
            out[i] = config[at];
        } else if (at >= kDoorbellOffset && at < kDoorbellOffset + kDoorbellSize &&
                   doorbells_ != nullptr) {
            out[i] = reinterpret_cast<volatile uint8_t*>(doorbells_)[at - kDoorbellOffset];
        } else {
            out[i] = bar0[at];
        }
    }
    return {};
}

Result<void> FakeFunction::write(uint32_t index, uint64_t offset, std::span<const uint8_t> data) {
    events.push_back(Event::write);
    VHOSTD_TRY(check_access(index, offset, data.size(), true));
    if (index == pci::kConfig && offset < kConfigReadOnly) {
        return make_error(EPERM, "config bytes {}..{} are read-only", offset, kConfigReadOnly);
    }
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        if (index == pci::kConfig) {
            config[at] = data[i];
        } else if (at >= kDoorbellOffset && at < kDoorbellOffset + kDoorbellSize &&
                   doorbells_ != nullptr) {
            reinterpret_cast<volatile uint8_t*>(doorbells_)[at - kDoorbellOffset] = data[i];
        } else {
            bar0[at] = data[i];
        }
    }
    return {};
}

Result<void> FakeFunction::set_irqs(pci::IrqSet set) {
    events.push_back(Event::set_irqs);
    const pci::IrqInfo info = irq_info(set.index);
    const bool shape_ok = set.index < pci::kNumIrqs &&
                          (set.count == 0 ? set.start == 0 && set.data == pci::IrqData::none &&
                                                set.action == pci::IrqAction::trigger
                                          : uint64_t{set.start} + set.count <= info.count) &&
                          set.bools.size() == (set.data == pci::IrqData::boolean ? set.count : 0) &&
                          set.fds.size() == (set.data == pci::IrqData::eventfd ? set.count : 0);
    if (!shape_ok) {
        contract_violated = true;
        return make_error(EINVAL, "malformed IrqSet");
    }
    std::vector<UniqueFd>* vectors = set.index == pci::kIntx   ? &intx
                                     : set.index == pci::kMsix ? &msix
                                                               : nullptr;
    if (vectors != nullptr && set.action == pci::IrqAction::trigger) {
        if (set.count == 0) {
            for (auto& fd : *vectors) {
                fd.reset();
            }
        } else if (set.data == pci::IrqData::eventfd) {
            for (uint32_t i = 0; i < set.count; ++i) {
                (*vectors)[set.start + i] = std::move(set.fds[i]);
            }
        }
    }
    set.fds.clear();
    irq_sets.push_back(std::move(set));
    return {};
}

void FakeFunction::set_memory(guest_memory::GuestMemory::Ptr next,
                              std::move_only_function<void()> done) {
    events.push_back(Event::set_memory);
    if (!pending_.empty()) {
        contract_violated = true;  // the transport must wait for the previous call
    }
    if (!next) {
        contract_violated = true;
        next = guest_memory::GuestMemory::empty();
    }
    memory_history.push_back(next);
    memory = std::move(next);
    pending_.push_back(std::move(done));
    if (auto_complete) {
        complete();
    }
}

void FakeFunction::reset(std::move_only_function<void()> done) {
    events.push_back(Event::reset);
    if (!pending_.empty()) {
        contract_violated = true;
    }
    ++resets;
    std::fill(bar0.begin(), bar0.end(), 0);
    for (auto& fd : intx) {
        fd.reset();
    }
    for (auto& fd : msix) {
        fd.reset();
    }
    pending_.push_back(std::move(done));
    if (auto_complete) {
        complete();
    }
}

void FakeFunction::complete() {
    // Callbacks may start new calls: run only those held now, each exactly once.
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& done : pending) {
        done();
    }
}

Message make_command(Command command, std::span<const std::byte> payload, std::vector<UniqueFd> fds,
                     uint32_t flags, uint16_t msg_id) {
    Message m;
    m.header.msg_id = msg_id;
    m.header.command = static_cast<uint16_t>(command);
    m.header.flags = flags;
    m.header.msg_size = static_cast<uint32_t>(sizeof(Header) + payload.size());
    m.payload.assign(payload.begin(), payload.end());
    m.fds = std::move(fds);
    return m;
}

std::vector<std::byte> encode(const Message& message) {
    std::vector<std::byte> bytes(sizeof(Header) + message.payload.size());
    std::memcpy(bytes.data(), &message.header, sizeof(Header));
    if (!message.payload.empty()) {
        std::memcpy(bytes.data() + sizeof(Header), message.payload.data(), message.payload.size());
    }
    return bytes;
}

}  // namespace vhostd::vfio_user::testing
