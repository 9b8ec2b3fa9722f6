// FaultGuard: a region whose file is cut under its mapping takes the fault, reads zeroes and
// is marked; other regions are not; a SIGBUS outside guest memory still kills the process.
#include "guest_memory/fault_guard.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_memory/guest_memory.hpp"
#include "guest_memory/region.hpp"

namespace vhostd::guest_memory {
namespace {

constexpr size_t kSize = 1 << 20;

UniqueFd memfd(size_t size, bool seal = false) {
    UniqueFd fd(::memfd_create("guest", MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0)));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    if (seal) {
        EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);
    }
    return fd;
}

TEST(FaultGuard, ACutOffPageReadsZeroesAndMarksItsRegionOnly) {
    UniqueFd cut_fd = memfd(kSize);
    const int cut_raw = cut_fd.get();
    auto cut = MappedRegion::map(std::move(cut_fd), {0, kSize, 0x10000000, 0});
    ASSERT_TRUE(cut.has_value()) << cut.error().describe();
    auto intact = MappedRegion::map(memfd(kSize), {kSize, kSize, 0x20000000, 0});
    ASSERT_TRUE(intact.has_value());
    auto table = GuestMemory::create({*cut, *intact});
    ASSERT_TRUE(table.has_value());
    EXPECT_FALSE((*table)->sealed());
    EXPECT_FALSE((*table)->faulted());

    volatile uint8_t* host = (*cut)->host();
    host[kSize - 1] = 7;
    ASSERT_EQ(::ftruncate(cut_raw, kSize / 2), 0);  // the frontend cuts the file
    const uint64_t epoch = fault_epoch();
    EXPECT_EQ(host[kSize - 1], 0) << "the lost page reads as zeroes";
    host[kSize - 2] = 1;  // and takes writes
    host[10] = 3;         // the part still backed is the guest's as before
    EXPECT_NE(fault_epoch(), epoch);
    EXPECT_TRUE((*cut)->faulted());
    EXPECT_FALSE((*intact)->faulted());
    EXPECT_TRUE((*table)->faulted());
}

TEST(FaultGuard, SealedMemfdsAreRecognised) {
    auto region = MappedRegion::map(memfd(kSize, true), {0, kSize, 0, 0});
    ASSERT_TRUE(region.has_value());
    EXPECT_TRUE((*region)->sealed());
    auto table = GuestMemory::create({*region});
    ASSERT_TRUE(table.has_value());
    EXPECT_TRUE((*table)->sealed());
}

TEST(FaultGuardDeathTest, AFaultOutsideGuestMemoryStillKills) {
    // The guard is installed by the first mapped region.
    auto region = MappedRegion::map(memfd(kSize), {0, kSize, 0, 0});
    ASSERT_TRUE(region.has_value());
    EXPECT_DEATH(
        {
            UniqueFd fd = memfd(kSize);
            auto* p = static_cast<volatile uint8_t*>(
                ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0));
            (void)::ftruncate(fd.get(), 0);
            p[0] = 1;
        },
        "");
}

}  // namespace
}  // namespace vhostd::guest_memory
