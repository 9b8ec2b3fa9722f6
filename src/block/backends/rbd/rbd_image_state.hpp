// RbdImageState: what one RBD bdev shares between its backend (control reactor), its channels
// (I/O reactors) and librbd's threads: the open image, the counters bdev_get_bdevs shows, and
// the bookkeeping that keeps blocking image jobs (size refresh, resize, close) one at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "block/backends/rbd/rbd_api.hpp"
#include "block/bdev.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

struct RbdImageState {
    std::shared_ptr<RbdApi> api;
    RbdImage* image = nullptr;  // open for as long as any channel exists
    reactor::Reactor* control = nullptr;

    // --- any thread ---
    std::atomic<uint64_t> channels{0};
    std::atomic<uint64_t> inflight{0};    // I/Os librbd has and has not answered
    std::atomic<uint64_t> overdue{0};     // of those, past io_timeout_ms (held until answered)
    std::atomic<uint64_t> timeouts{0};    // I/Os that got no answer within io_timeout_ms
    std::atomic<uint64_t> errors{0};      // I/Os that failed (timeouts included)
    std::atomic<uint64_t> recoveries{0};  // times the cluster answered again after failing
    std::atomic<bool> down{false};        // the last answer (or silence) was a failure
    std::atomic<uint64_t> stuck_channels{0};

    // The cluster answered a request (ok), or failed to in time.
    void note_answer(bool ok);

    // --- control reactor only ---
    Bdev* bdev = nullptr;  // null once the backend is gone
    bool reported_failed = false;
    uint32_t jobs = 0;                           // image jobs running on workers
    std::move_only_function<void()> after_jobs;  // the close, once they are done
    bool refreshing = false;
    bool refresh_again = false;
    std::chrono::milliseconds retry_delay{1000};  // after a failed size refresh

    // Reports failed while any channel is stuck, recovered once none is.
    void update_health();
};

}  // namespace vhostd::block
