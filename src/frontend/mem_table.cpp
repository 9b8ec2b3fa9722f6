// send_mem_table: builds the SET_MEM_TABLE payload and its fd list from the RAM's regions.
#include "frontend/mem_table.hpp"

#include <array>
#include <cstddef>

namespace vhostd::frontend {

namespace vu = vhost_user;

Result<void> send_mem_table(Connection& connection, std::span<const GuestRam::Region> regions) {
    if (regions.size() > vu::kMaxMemTableRegions) {
        return make_error(E2BIG, "{} regions, SET_MEM_TABLE carries at most {}", regions.size(),
                          vu::kMaxMemTableRegions);
    }
    vu::MemoryTable table{};
    std::array<int, vu::kMaxMemTableRegions> fds{};
    table.num_regions = static_cast<uint32_t>(regions.size());
    for (size_t i = 0; i < regions.size(); ++i) {
        table.regions[i] = regions[i].wire();
        fds[i] = regions[i].fd;
    }
    // Only num_regions entries travel.
    const size_t size =
        offsetof(vu::MemoryTable, regions) + sizeof(vu::MemoryRegion) * regions.size();
    return connection.request(vu::Request::set_mem_table,
                              std::as_bytes(std::span(&table, 1)).first(size),
                              std::span(fds).first(regions.size()));
}

}  // namespace vhostd::frontend
