// Fuzzes the vfio-user MessageReader through fuzz_message_reader (reader_fuzz.hpp): commands
// within the limits we advertise, their payload exactly what msg_size announces.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "reader_fuzz.hpp"
#include "vfio_user/message_reader.hpp"

using namespace vhostd;
using namespace vhostd::vfio_user;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Up to 19 fds a chunk: more than a message may carry.
    fuzz_message_reader<MessageReader>(data, size, 20, [](const Message& m) {
        FUZZ_CHECK(m.header.msg_size >= sizeof(Header));
        FUZZ_CHECK(m.header.msg_size <= kMaxMessageSize);
        FUZZ_CHECK(m.payload.size() == m.header.msg_size - sizeof(Header));
        FUZZ_CHECK((m.header.flags & kTypeMask) == kTypeCommand);
        FUZZ_CHECK(m.fds.size() <= kMaxMsgFds);
    });
    return 0;
}
