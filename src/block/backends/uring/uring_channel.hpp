// UringChannel: a uring bdev's submission path on one reactor, with its own io_uring.
// submit() only prepares SQEs (or parks the request when the ring is full); the channel's
// poller submits everything prepared with one io_uring_enter, retries parked requests and
// reaps completions. Between polls (adaptive or event-driven reactors) an eventfd registered
// with the ring wakes the sleeping reactor when completions arrive.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <liburing.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "block/backends/uring/uring_file.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_check.hpp"
#include "block/module/request_list.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

class UringChannel final : public BackendChannel, public reactor::Poller {
  public:
    // SQ entries; also the cap on requests in the kernel at once, so the CQ (twice as big)
    // can never overflow.
    static constexpr unsigned kRingEntries = 256;
    // Resubmissions of one request after short transfers or EAGAIN before it fails.
    static constexpr uint32_t kMaxAttempts = 16;

    // Counters for tests and statistics; owner thread only.
    struct Stats {
        uint64_t buffered_retries = 0;  // O_DIRECT refused (EINVAL): retried on the buffered fd
        uint64_t short_resubmits = 0;   // short transfers continued
        uint64_t parked = 0;            // requests that waited for room in the ring
    };

    // Sets up the ring and registers the poller (and eventfd) on `reactor`; call on its thread.
    static Result<std::unique_ptr<UringChannel>> create(reactor::Reactor& reactor,
                                                        std::shared_ptr<const UringFile> file,
                                                        const RequestLimits& limits,
                                                        std::string bdev_name);
    // Unregisters everything. Precondition (BackendChannel): no request in flight. If one is
    // anyway, waits for the kernel to finish with its buffers before tearing the ring down,
    // and never completes it.
    ~UringChannel() override;
    UringChannel(const UringChannel&) = delete;
    UringChannel& operator=(const UringChannel&) = delete;

    void submit(IoRequest& request) noexcept override;
    reactor::PollResult poll() noexcept override;
    bool enter_interrupt_mode() noexcept override;

    [[nodiscard]] const Stats& stats() const { return stats_; }
    // Requests with an SQE prepared or in the kernel.
    [[nodiscard]] uint32_t in_flight() const { return in_flight_; }

  private:
    UringChannel(reactor::Reactor& reactor, std::shared_ptr<const UringFile> file,
                 const RequestLimits& limits, std::string bdev_name);
    Result<void> init();

    void start(IoRequest& request) noexcept;    // prepare, or park when the ring is full
    bool prepare(IoRequest& request) noexcept;  // false when the ring is full
    size_t retry_parked() noexcept;
    bool submit_prepared() noexcept;
    size_t reap() noexcept;
    size_t complete_deferred() noexcept;
    void on_cqe(IoRequest& request, int res) noexcept;
    void on_transfer(IoRequest& request, uint64_t bytes) noexcept;
    void on_error(IoRequest& request, int err) noexcept;
    void finish_later(IoRequest& request, IoStatus status) noexcept;
    void wait_for_kernel() noexcept;

    reactor::Reactor& reactor_;
    const std::shared_ptr<const UringFile> file_;
    const RequestLimits limits_;
    const std::string bdev_name_;  // for log messages

    io_uring ring_{};
    bool ring_ready_ = false;
    UniqueFd event_fd_;  // signalled by the kernel on completions; absent in PollMode::always
    bool event_fd_registered_ = false;
    std::optional<reactor::Reactor::FdId> watch_;
    bool poller_added_ = false;

    uint32_t in_flight_ = 0;
    RequestList parked_;  // waiting for room in the ring, in submission order
    RequestList done_;    // finished inside submit(); completed from poll()
    Stats stats_;
};

}  // namespace vhostd::block
