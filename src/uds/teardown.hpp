// Teardown: a session's disconnect bookkeeping, the same for every transport. disconnect() may
// come more than once (every caller is told when the teardown is over, a caller after the end
// at once), and a request in the session finishes before the teardown begins.
#pragma once

#include <functional>

namespace vhostd::uds {

class Teardown {
  public:
    // Records `done`. True when the caller is to begin the teardown now: the first disconnect
    // while no request is in the session (`busy`); else due() says when.
    [[nodiscard]] bool request(std::move_only_function<void()> done, bool busy);
    // After a request has finished: true when a disconnect has waited for it.
    [[nodiscard]] bool due(bool busy) const { return requested_ && !busy && !started_; }
    // The teardown begins: the session stops everything for good.
    void begin() { started_ = true; }
    // The teardown is over: tells every disconnect() caller.
    void finish();

    // disconnect() was called: the session takes no more requests.
    [[nodiscard]] bool requested() const { return requested_; }
    [[nodiscard]] bool started() const { return started_; }

  private:
    bool requested_ = false;
    bool started_ = false;
    bool finished_ = false;
    std::move_only_function<void()> done_;
};

}  // namespace vhostd::uds
