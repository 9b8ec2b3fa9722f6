// Fuzzes the vfio-user MessageReader: the input is cut into chunks, each written to a unix
// socket with a fuzzed number of fds attached, and the reader assembles commands from the
// other end. Checks: no crash, messages within the limits we advertise, no fd leak whatever
// the reader accepts or refuses.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "fuzz_check.hpp"
#include "support/vfio_user_fakes.hpp"
#include "vfio_user/message_reader.hpp"

using namespace vhostd;
using namespace vhostd::vfio_user;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    vhostd::log::set_level(spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const size_t fds_before = testing::count_open_fds();
    {
        int pair[2];
        FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        UniqueFd client(pair[0]);
        UniqueFd server(pair[1]);
        ::fcntl(server.get(), F_SETFL, O_NONBLOCK);
        MessageReader reader;
        bool dead = false;
        size_t pos = 0;
        while (pos + 2 <= size && !dead) {
            const size_t chunk = std::min<size_t>(1 + data[pos] % 64, size - pos - 2);
            const size_t nfds = data[pos + 1] % 20;  // up to 19: more than a message may carry
            pos += 2;
            std::vector<UniqueFd> owned;
            std::vector<int> fds;
            for (size_t i = 0; i < nfds; ++i) {
                owned.push_back(std::move(*make_event_fd()));
                fds.push_back(owned.back().get());
            }
            if (chunk == 0) {
                break;
            }
            if (!testing::send_bytes(client.get(), std::as_bytes(std::span(data + pos, chunk)),
                                     fds)) {
                break;
            }
            pos += chunk;
            for (;;) {
                Message m;
                auto status = reader.read(server.get(), m);
                if (!status || *status == MessageReader::Status::closed) {
                    dead = true;  // the connection would close here
                    break;
                }
                if (*status == MessageReader::Status::would_block) {
                    break;
                }
                FUZZ_CHECK(m.header.msg_size >= sizeof(Header));
                FUZZ_CHECK(m.header.msg_size <= kMaxMessageSize);
                FUZZ_CHECK(m.payload.size() == m.header.msg_size - sizeof(Header));
                FUZZ_CHECK((m.header.flags & kTypeMask) == kTypeCommand);
                FUZZ_CHECK(m.fds.size() <= kMaxMsgFds);
                for (const auto& fd : m.fds) {
                    FUZZ_CHECK(fd.valid());
                    FUZZ_CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
                }
            }
        }
    }
    FUZZ_CHECK(testing::count_open_fds() == fds_before);
    return 0;
}
