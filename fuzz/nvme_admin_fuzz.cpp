// Fuzzes the NVMe admin command path: up to 8 admin submission queue entries (Identify with
// every CNS/CSI/NSID, Get/Set Features, Get Log Page offsets and lengths, queue creation and
// deletion with every field, Abort, Doorbell Buffer Config, unknown opcodes) run on the control
// reactor, their data transfers into guest memory the input fills. Checks: no crash or
// out-of-bounds access (ASan), and the controller can always be reset afterwards (created
// queues are drained and deleted, nothing is left waiting).
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
    // Byte 0: command count (low 3 bits, + 1); then the entries. The whole input is also the
    // guest's data area at kDataGpa.
    const size_t count = (data[0] & 0x7) + 1u;
    fixture.begin(data, size);
    nvme::testing::DriverQueue& admin = fixture.driver->admin();
    for (size_t i = 0; i < count; ++i) {
        nvme_spec::Command command{};
        const size_t at = 1 + i * sizeof(command);
        if (at < size) {
            std::memcpy(&command, data + at, std::min(sizeof(command), size - at));
        }
        command.cid = static_cast<uint16_t>(i + 1);
        fixture.driver->submit(admin, command);
    }
    size_t completed = 0;
    // Asynchronous Event Requests stay outstanding: wait for the rest only as far as they come.
    fixture.driver->wait_for(
        [&] {
            while (fixture.driver->poll(admin)) {
                ++completed;
            }
            return completed >= count;
        },
        2000);
    FUZZ_CHECK(fixture.driver->disable());
    return 0;
}
