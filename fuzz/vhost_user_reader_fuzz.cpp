// Fuzzes the vhost-user MessageReader through fuzz_message_reader (reader_fuzz.hpp): messages
// within the payload bound, version 1, at most kMaxFdsPerMessage fds.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "reader_fuzz.hpp"
#include "vhost_user/message_reader.hpp"

using namespace vhostd;
using namespace vhostd::vhost_user;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Up to 10 fds a chunk: more than a message may carry.
    fuzz_message_reader<MessageReader>(data, size, 11, [](const Message& m) {
        FUZZ_CHECK(m.header.size <= kMaxPayloadSize);
        FUZZ_CHECK((m.header.flags & kVersionMask) == kVersion);
        FUZZ_CHECK(m.fds.size() <= kMaxFdsPerMessage);
    });
    return 0;
}
