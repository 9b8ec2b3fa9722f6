// AsyncEvents: request limit, pending events, per-log-page masking.
#include "nvme/async_events.hpp"

#include <algorithm>

#include "nvme/core.hpp"

namespace vhostd::nvme {

namespace {

uint8_t log_page_of(uint32_t dw0) {
    return static_cast<uint8_t>(dw0 >> 16);
}

}  // namespace

AsyncEvents::Answer AsyncEvents::report(uint16_t cid, uint32_t dw0) {
    masked_.push_back(log_page_of(dw0));
    return Answer{.cid = cid, .status = kSuccess, .dw0 = dw0};
}

std::optional<AsyncEvents::Answer> AsyncEvents::request(uint16_t cid) {
    if (!pending_.empty()) {
        const uint32_t dw0 = pending_.front();
        pending_.pop_front();
        return report(cid, dw0);
    }
    // 5.2: more outstanding requests than AERL + 1 are refused.
    if (outstanding_.size() >= size_t{kAerl} + 1) {
        return Answer{.cid = cid, .status = status::kAerLimitExceeded, .dw0 = 0};
    }
    outstanding_.push_back(cid);
    return std::nullopt;
}

std::optional<AsyncEvents::Answer> AsyncEvents::raise(uint8_t type, uint8_t info,
                                                      uint8_t log_page) {
    const uint32_t dw0 = nvme_spec::aen_dw0(type, info, log_page);
    const bool masked = std::find(masked_.begin(), masked_.end(), log_page) != masked_.end();
    const bool queued = std::any_of(pending_.begin(), pending_.end(),
                                    [&](uint32_t p) { return log_page_of(p) == log_page; });
    if (masked || queued) {
        return std::nullopt;  // reported (or about to be) already; the log page has the rest
    }
    if (!outstanding_.empty()) {
        const uint16_t cid = outstanding_.front();
        outstanding_.pop_front();
        return report(cid, dw0);
    }
    if (pending_.size() < kMaxPending) {
        pending_.push_back(dw0);
    }
    return std::nullopt;
}

void AsyncEvents::log_page_read(uint8_t log_page) {
    std::erase(masked_, log_page);
}

std::optional<AsyncEvents::Answer> AsyncEvents::abort(uint16_t cid) {
    auto it = std::find(outstanding_.begin(), outstanding_.end(), cid);
    if (it == outstanding_.end()) {
        return std::nullopt;
    }
    outstanding_.erase(it);
    return Answer{.cid = cid, .status = status::kAbortRequested, .dw0 = 0};
}

void AsyncEvents::reset() {
    outstanding_.clear();
    pending_.clear();
    masked_.clear();
}

}  // namespace vhostd::nvme
