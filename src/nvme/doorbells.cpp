// DoorbellPage: the memfd behind BAR0's doorbell page.
#include "nvme/doorbells.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vhostd::nvme {

Result<DoorbellPage> DoorbellPage::create() {
    UniqueFd fd(::memfd_create("vhostd-nvme-doorbells", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        return errno_error("memfd_create for the doorbell page");
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(kFileOffset + kSize)) != 0) {
        return errno_error("sizing the doorbell page");
    }
    // The client maps the page too: it must not be able to shrink it under our mapping.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        return errno_error("sealing the doorbell page");
    }
    void* map = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(),
                       static_cast<off_t>(kFileOffset));
    if (map == MAP_FAILED) {
        return errno_error("mapping the doorbell page");
    }
    return DoorbellPage(std::move(fd), static_cast<uint32_t*>(map));
}

DoorbellPage::DoorbellPage(DoorbellPage&& other) noexcept
    : fd_(std::move(other.fd_)), words_(std::exchange(other.words_, nullptr)) {}

DoorbellPage::~DoorbellPage() {
    if (words_ != nullptr) {
        ::munmap(words_, kSize);
    }
}

void DoorbellPage::clear() noexcept {
    for (uint32_t i = 0; i < kSlots; ++i) {
        store(i, 0);
    }
}

}  // namespace vhostd::nvme
