// Test helpers for code that runs on a reactor the test drives from its own thread: run the
// reactor until a condition holds (bounded), a completion that keeps every finished request,
// and a request for a backend channel.
#pragma once

#include <chrono>
#include <thread>
#include <vector>

#include <sys/uio.h>

#include "block/io_request.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::testing {

// Runs `reactor` until `done()` holds; false once `limit` has passed. Between turns it yields
// (or sleeps `pause`, for tests whose other threads need the core).
template <typename Pred>
bool run_reactor_until(reactor::Reactor& reactor, Pred done, std::chrono::milliseconds limit,
                       std::chrono::microseconds pause = std::chrono::microseconds(0)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        reactor.run_once();
        if (pause.count() > 0) {
            std::this_thread::sleep_for(pause);
        } else {
            std::this_thread::yield();
        }
    }
    return true;
}

// Keeps every completed request, in completion order.
struct DoneList final : block::IoCompletion {
    std::vector<block::IoRequest*> done;
    void io_complete(block::IoRequest& r) noexcept override { done.push_back(&r); }
};

// A request of `length` bytes at byte `offset` over `iov`, completing into `completion`.
inline block::IoRequest io_request(block::IoType type, iovec* iov, uint32_t iovcnt, uint64_t length,
                                   uint64_t offset, block::IoCompletion& completion) {
    return block::IoRequest{.type = type,
                            .offset = offset,
                            .length = length,
                            .iov = iov,
                            .iovcnt = iovcnt,
                            .completion = &completion};
}

}  // namespace vhostd::testing
