// RequestList: an intrusive FIFO of IoRequests linked through their scratch area, so the bdev
// layer and backends can queue requests (QoS, ring overflow, deferred completions) without
// allocating.
#pragma once

#include "block/io_request.hpp"
#include "block/module/bdev_module.hpp"

namespace vhostd::block {

class RequestList {
  public:
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }

    void push_back(IoRequest& request) noexcept {
        scratch(request).next = nullptr;
        if (tail_ != nullptr) {
            scratch(*tail_).next = &request;
        } else {
            head_ = &request;
        }
        tail_ = &request;
    }

    // Unlinks and returns the first request, or nullptr. The request's link is cleared, so
    // its owner may queue it again right away (a completion callback resubmitting it).
    IoRequest* pop_front() noexcept {
        IoRequest* first = head_;
        if (first != nullptr) {
            head_ = scratch(*first).next;
            if (head_ == nullptr) {
                tail_ = nullptr;
            }
            scratch(*first).next = nullptr;
        }
        return first;
    }

    [[nodiscard]] IoRequest* front() const noexcept { return head_; }

    // Moves every request out, leaving this list empty (a batch to work through while new
    // requests queue up behind it).
    RequestList take() noexcept {
        RequestList out;
        out.head_ = head_;
        out.tail_ = tail_;
        head_ = tail_ = nullptr;
        return out;
    }

  private:
    IoRequest* head_ = nullptr;
    IoRequest* tail_ = nullptr;
};

// Completes `request` with `status` through its completion sink.
inline void complete(IoRequest& request, IoStatus status) noexcept {
    request.status = status;
    request.completion->io_complete(request);
}

}  // namespace vhostd::block
