// The body of every message-reader fuzzer (uds::FramedReader under a transport's framing): the
// input is cut into chunks, each written to a unix socket with a fuzzed number of fds attached,
// and the reader assembles messages from the other end. Checks: no crash, every message passes
// the transport's `check`, every fd it carries is ours and close-on-exec, and no fd leaks
// whatever the reader accepts or refuses.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "base/unique_fd.hpp"
#include "fuzz_check.hpp"
#include "support/socket_support.hpp"
#include "uds/framed_reader.hpp"

// Each reader fuzzer includes this once: quiet logs.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    vhostd::log::set_level(vhostd::log::Level::off);
    return 0;
}

// `fd_choices`: a chunk carries 0 to fd_choices - 1 fds (more than a message may carry).
template <class Reader, class Check>
void fuzz_message_reader(const uint8_t* data, size_t size, size_t fd_choices, Check check) {
    using namespace vhostd;
    const size_t fds_before = testing::count_open_fds();
    {
        int pair[2];
        FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        UniqueFd peer(pair[0]);
        UniqueFd ours(pair[1]);
        ::fcntl(ours.get(), F_SETFL, O_NONBLOCK);
        Reader reader;
        bool dead = false;
        size_t pos = 0;
        while (pos + 2 <= size && !dead) {
            const size_t chunk = std::min<size_t>(1 + data[pos] % 64, size - pos - 2);
            const size_t nfds = data[pos + 1] % fd_choices;
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
            if (!testing::send_bytes(peer.get(), std::as_bytes(std::span(data + pos, chunk)),
                                     fds)) {
                break;
            }
            pos += chunk;
            for (;;) {
                typename Reader::Message m;
                auto status = reader.read(ours.get(), m);
                if (!status || *status == uds::ReadStatus::closed) {
                    dead = true;  // the connection would close here
                    break;
                }
                if (*status == uds::ReadStatus::would_block) {
                    break;
                }
                check(m);
                for (const auto& fd : m.fds) {
                    FUZZ_CHECK(fd.valid());
                    FUZZ_CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
                }
            }
        }
    }
    FUZZ_CHECK(testing::count_open_fds() == fds_before);
}
