// RequestPool: a queue's request contexts, allocated once for its depth, so that taking a
// request from a ring allocates nothing. Owner reactor only.
#pragma once

#include <cstddef>
#include <vector>

namespace vhostd::queue {

template <class Request>
class RequestPool {
  public:
    // `size` contexts; `init(request, index)` sets each one up (its slice of an iovec arena).
    template <class Init>
    RequestPool(size_t size, Init init) : storage_(size) {
        free_.reserve(size);
        for (size_t i = 0; i < size; ++i) {
            init(storage_[i], i);
            free_.push_back(&storage_[i]);
        }
    }
    explicit RequestPool(size_t size) : RequestPool(size, [](Request&, size_t) {}) {}
    RequestPool(const RequestPool&) = delete;
    RequestPool& operator=(const RequestPool&) = delete;

    // A free context, or nullptr when every one is in use (the engine never takes more
    // requests from the ring than available() says).
    [[nodiscard]] Request* acquire() noexcept {
        if (free_.empty()) {
            return nullptr;
        }
        Request* request = free_.back();
        free_.pop_back();
        return request;
    }
    void release(Request* request) noexcept { free_.push_back(request); }

    [[nodiscard]] size_t available() const noexcept { return free_.size(); }
    [[nodiscard]] size_t capacity() const noexcept { return storage_.size(); }

  private:
    std::vector<Request> storage_;
    std::vector<Request*> free_;
};

}  // namespace vhostd::queue
