// Session: memory hot-plug without stopping the world (ADD_MEM_REG / REM_MEM_REG with
// CONFIGURE_MEM_SLOTS). SET_MEM_TABLE still stops, swaps and restarts (session.cpp); a single
// region added or removed reaches the running rings as a new snapshot instead.
//
// Ordering. The new snapshot is built first (mapped, checked); the session's own table stays
// the old one until every running ring has taken the new one:
//  - adding a region invalidates no address a request holds (every old region is in the new
//    snapshot, mapped at the same place), so a ring swaps and answers at once;
//  - removing one: a ring swaps (requests taken from then on cannot reach the region any more)
//    and keeps the old snapshot, which keeps the region mapped, until every request it took
//    before the swap has completed (virtio::QueueHandler::update_memory). Only then does it
//    answer; once all have, the session drops its reference too, the region is unmapped, and
//    the frontend gets its reply (QEMU frees the memory after that reply).
// A running ring whose own parts (descriptors, avail, used) would lose their memory is stopped
// and waits, as with SET_MEM_TABLE.
#include "base/log.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user {

using guest_memory::GuestMemory;
using guest_memory::MappedRegion;

namespace {

// The region of `from` that `other` lacks: an edit keeps every other region's mapping (the same
// pointer), so this is the one added (from = new table) or removed (from = old table).
const MappedRegion* region_missing_from(const GuestMemory& from, const GuestMemory& other) {
    for (const auto& region : from.regions()) {
        bool found = false;
        for (const auto& kept : other.regions()) {
            found = found || kept == region;
        }
        if (!found) {
            return region.get();
        }
    }
    return nullptr;
}

}  // namespace

Result<Session::Step> Session::edit_memory(Result<GuestMemory::Ptr> next, bool removing) {
    if (!next) {
        return std::unexpected(std::move(next).error());
    }
    note_new_memory(**next);
    std::vector<uint16_t> update;
    bool ring_memory_removed = false;
    for (uint16_t i : running_rings()) {
        const Vring& ring = vrings_[i];
        const bool still_mapped =
            packed_ring() ? translate_packed_ring(**next, ring.addr, ring.num).has_value()
                          : translate_ring(**next, ring.addr, ring.num).has_value();
        if (!still_mapped) {
            ring_memory_removed = true;
        }
        update.push_back(i);
    }
    auto install = [this, removing, memory = *next]() mutable -> Outcome {
        // Operators (and the memory hot-plug guest test) see each DIMM come and go.
        const MappedRegion* changed = removing ? region_missing_from(*memory_, *memory)
                                               : region_missing_from(*memory, *memory_);
        if (changed != nullptr) {
            LOG_RATELIMITED(vhost_user, info,
                            "{}: guest memory region {} (guest-physical {:#x}-{:#x}, {} MiB); "
                            "{} regions",
                            options_.name, removing ? "removed" : "added", changed->gpa_begin(),
                            changed->gpa_end(), changed->size() >> 20, memory->regions().size());
        }
        memory_ = std::move(memory);
        start_ready_rings();  // rings that waited for memory they now have
        return std::nullopt;
    };
    if (ring_memory_removed) {
        // The frontend took away a ring in use (QEMU never does): the old way for all.
        LOG_RATELIMITED(vhost_user, warn, "{}: a memory change removes a running ring's memory",
                        options_.name);
        return after_stopping(running_rings(), std::move(install));
    }
    if (update.empty()) {
        return now(VHOSTD_TRY(install()));
    }
    Step step;
    step.update = std::move(update);
    step.memory = std::move(*next);
    step.drain_old = removing;
    step.then = std::move(install);
    return step;
}

void Session::update_rings(const std::vector<uint16_t>& rings, const GuestMemory::Ptr& memory,
                           bool drain_old, std::move_only_function<void()> then) {
    // Requests are serialised, so at most one batch of updates is in flight; callbacks may
    // run synchronously and the last one runs `then`.
    updates_pending_ = rings.size();
    after_updates_ = std::move(then);
    for (uint16_t i : rings) {
        queues_.update_memory(i, memory, drain_old, [self = std::weak_ptr<Session*>(self_)] {
            auto alive = self.lock();
            if (!alive) {
                return;
            }
            Session& session = **alive;
            if (--session.updates_pending_ == 0) {
                auto done = std::move(session.after_updates_);
                session.after_updates_ = nullptr;
                done();
            }
        });
    }
}

}  // namespace vhostd::vhost_user
