// AsyncEvents: Asynchronous Event Requests and the events that answer them (5.2). Requests
// are held up to the AERL limit; an event answers the oldest one, or waits (bounded) until
// one arrives. Once an event of a log page has been reported, further events of that page are
// not reported until the host reads the page without Retain Asynchronous Event (the page
// itself accumulates the details: the error log, the changed namespace list). Control reactor.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "nvme/status.hpp"

namespace vhostd::nvme {

class AsyncEvents {
  public:
    struct Answer {
        uint16_t cid = 0;
        Status status = kSuccess;
        uint32_t dw0 = 0;
    };

    // Events kept for later requests at most; more are dropped (their log pages still
    // record them).
    static constexpr size_t kMaxPending = 16;

    // A new request: answered at once when over the limit or when an event is waiting.
    std::optional<Answer> request(uint16_t cid);
    // An event of `type` with `info`, whose details are in `log_page`.
    std::optional<Answer> raise(uint8_t type, uint8_t info, uint8_t log_page);
    // The host read `log_page` without RAE: its events are reported again.
    void log_page_read(uint8_t log_page);
    // An outstanding request aborted (Abort command): answered with Abort Requested.
    std::optional<Answer> abort(uint16_t cid);
    // Controller reset: requests and events are dropped, nothing answered.
    void reset();

    [[nodiscard]] size_t outstanding() const { return outstanding_.size(); }

  private:
    Answer report(uint16_t cid, uint32_t dw0);

    std::deque<uint16_t> outstanding_;  // CIDs, oldest first
    std::deque<uint32_t> pending_;      // dw0 of events not reported yet
    std::vector<uint8_t> masked_;       // log pages reported and not read since
};

}  // namespace vhostd::nvme
