// Teardown: disconnect callbacks chained until the session's teardown is over.
#include "uds/teardown.hpp"

#include <utility>

namespace vhostd::uds {

bool Teardown::request(std::move_only_function<void()> done, bool busy) {
    if (finished_) {
        done();
        return false;
    }
    if (done_) {
        done_ = [first = std::move(done_), second = std::move(done)]() mutable {
            first();
            second();
        };
        return false;
    }
    done_ = std::move(done);
    if (requested_) {
        return false;
    }
    requested_ = true;
    return !busy;
}

void Teardown::finish() {
    finished_ = true;
    auto done = std::exchange(done_, nullptr);
    if (done) {
        done();
    }
}

}  // namespace vhostd::uds
