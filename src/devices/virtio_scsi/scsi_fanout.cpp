// Fanout: merging of per-queue TMF outcomes and delivery on the home reactor.
#include "devices/virtio_scsi/scsi_fanout.hpp"

namespace vhostd::virtio_scsi {
namespace {

constexpr uint8_t rank_of(scsi::TmfResponse r) {
    switch (r) {
        case scsi::TmfResponse::complete:
            return 0;
        case scsi::TmfResponse::succeeded:
            return 1;
        case scsi::TmfResponse::incorrect_lun:
            return 2;
        case scsi::TmfResponse::rejected:
            return 3;
    }
    return 3;
}

constexpr scsi::TmfResponse from_rank(uint8_t rank) {
    constexpr scsi::TmfResponse order[] = {
        scsi::TmfResponse::complete, scsi::TmfResponse::succeeded, scsi::TmfResponse::incorrect_lun,
        scsi::TmfResponse::rejected};
    return order[rank < 4 ? rank : 3];
}

}  // namespace

Fanout::~Fanout() {
    home_.post([done = std::move(done_), result = from_rank(rank_.load())]() mutable {
        if (done) {
            done(result);
        }
    });
}

void Fanout::merge(scsi::TmfResponse response) noexcept {
    const uint8_t rank = rank_of(response);
    uint8_t seen = rank_.load(std::memory_order_relaxed);
    while (seen < rank && !rank_.compare_exchange_weak(seen, rank)) {
    }
}

}  // namespace vhostd::virtio_scsi
