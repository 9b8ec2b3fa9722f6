// Fuzzes the NVMe I/O command path: up to 16 submission queue entries (every field: opcode,
// flags and PSDT, NSID, data pointer, LBA, length, DSM ranges count and attributes) taken by a
// real I/O queue, with the guest memory their PRP lists, SGL segments and range lists point
// into filled from the same input. Checks: no crash or out-of-bounds access (ASan), and the
// controller can always be reset afterwards (a reset drains every command taken, so a command
// that never completes hangs it).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "nvme_fuzz_fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace vhostd;
    static nvme_fuzz::Fixture fixture;
    if (size < 1) {
        return 0;
    }
    // Byte 0: command count (low 4 bits, + 1), shadow doorbells (bit 4); then the entries.
    // The whole input is also the guest's data area at kDataGpa.
    const size_t count = (data[0] & 0xf) + 1u;
    const bool shadow = (data[0] & 0x10) != 0;
    fixture.begin(data, size);
    FUZZ_CHECK(fixture.driver->create_io_queues(1, 32, 1));
    if (shadow) {
        FUZZ_CHECK(fixture.driver->enable_shadow_doorbells());
    }
    nvme::testing::DriverQueue& queue = fixture.driver->queue(1);
    for (size_t i = 0; i < count; ++i) {
        nvme_spec::Command command{};
        const size_t at = 1 + i * sizeof(command);
        if (at < size) {
            std::memcpy(&command, data + at, std::min(sizeof(command), size - at));
        }
        command.cid = static_cast<uint16_t>(i + 1);
        fixture.driver->submit(queue, command);
    }
    size_t completed = 0;
    fixture.driver->wait_for(
        [&] {
            while (fixture.driver->poll(queue)) {
                ++completed;
            }
            return completed >= count;
        },
        20000);
    FUZZ_CHECK(fixture.driver->disable());
    return 0;
}
