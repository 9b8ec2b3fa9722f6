// MappedRegion: mapping memfds at offsets and refusing descriptors that cannot be mapped safely.
#include "guest_memory/region.hpp"

#include <cstring>
#include <limits>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vhostd::guest_memory {
namespace {

UniqueFd memfd_of_size(size_t size) {
    UniqueFd fd(::memfd_create("region_test", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    return fd;
}

TEST(MappedRegion, MapsAtUnalignedOffsetAndSharesWithTheFile) {
    UniqueFd fd = memfd_of_size(4 * 4096);
    const char text[] = "hello guest";
    ASSERT_EQ(::pwrite(fd.get(), text, sizeof(text), 4096 + 100),
              static_cast<ssize_t>(sizeof(text)));
    auto region = MappedRegion::map(UniqueFd(::dup(fd.get())),
                                    RegionDescriptor{0x100000, 8192, 0x7f0000000000, 4096 + 100});
    ASSERT_TRUE(region.has_value()) << region.error().describe();
    EXPECT_EQ(std::memcmp((*region)->host(), text, sizeof(text)), 0);
    // Writes through the mapping reach the file (MAP_SHARED).
    std::memcpy((*region)->host() + 1, "E", 1);
    char back = 0;
    ASSERT_EQ(::pread(fd.get(), &back, 1, 4096 + 101), 1);
    EXPECT_EQ(back, 'E');
    EXPECT_EQ((*region)->gpa_end(), 0x100000U + 8192);
}

TEST(MappedRegion, RefusesRegionBeyondEndOfFile) {
    auto region = MappedRegion::map(memfd_of_size(4096), RegionDescriptor{0, 8192, 0, 0});
    ASSERT_FALSE(region.has_value());
    EXPECT_NE(region.error().message.find("past the end"), std::string::npos);
}

TEST(MappedRegion, RefusesEmptyAndWrappingDescriptors) {
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    EXPECT_FALSE(validate_descriptor({0, 0, 0, 0}).has_value());
    EXPECT_FALSE(validate_descriptor({kMax - 10, 4096, 0, 0}).has_value());
    EXPECT_FALSE(validate_descriptor({0, 4096, kMax - 10, 0}).has_value());
    EXPECT_FALSE(validate_descriptor({0, 4096, 0, kMax - 10}).has_value());
    EXPECT_TRUE(validate_descriptor({kMax - 4095, 4096, 0, 0}).has_value());
}

TEST(MappedRegion, RefusesMissingFd) {
    EXPECT_FALSE(MappedRegion::map(UniqueFd(), RegionDescriptor{0, 4096, 0, 0}).has_value());
}

}  // namespace
}  // namespace vhostd::guest_memory
