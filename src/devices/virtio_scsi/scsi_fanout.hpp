// Fanout: one control operation (task management, target removal) spread over the reactors
// of a device. Every participant holds a copy of the shared_ptr and may merge a TMF outcome;
// when the last copy is dropped, on whichever reactor, the merged outcome is posted to the
// home reactor. A participant that goes away without answering (its queue was destroyed)
// simply drops its copy, so a fan-out always finishes. No locks: the refcount is the barrier.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "reactor/reactor.hpp"
#include "scsi/target_channel.hpp"

namespace vhostd::virtio_scsi {

class Fanout {
  public:
    using Done = std::move_only_function<void(scsi::TmfResponse)>;

    static std::shared_ptr<Fanout> create(reactor::Reactor& home, Done done) {
        return std::shared_ptr<Fanout>(new Fanout(home, std::move(done)));
    }
    ~Fanout();
    Fanout(const Fanout&) = delete;
    Fanout& operator=(const Fanout&) = delete;

    // Keeps the most significant outcome: rejected > incorrect_lun > succeeded > complete.
    void merge(scsi::TmfResponse response) noexcept;

  private:
    Fanout(reactor::Reactor& home, Done done) : home_(home), done_(std::move(done)) {}

    reactor::Reactor& home_;
    Done done_;
    std::atomic<uint8_t> rank_{0};
};

}  // namespace vhostd::virtio_scsi
