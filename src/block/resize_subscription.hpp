// ResizeSubscription: a bdev resize listener that stays registered exactly as long as the
// subscription lives, so an owner that goes away can never be called back. Control reactor.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "block/bdev.hpp"

namespace vhostd::block {

class ResizeSubscription {
  public:
    ResizeSubscription() = default;
    ResizeSubscription(std::shared_ptr<Bdev> bdev, Bdev::ResizeListener listener)
        : bdev_(std::move(bdev)), token_(bdev_->add_resize_listener(std::move(listener))) {}
    ~ResizeSubscription() { reset(); }
    ResizeSubscription(ResizeSubscription&& other) noexcept
        : bdev_(std::move(other.bdev_)), token_(std::exchange(other.token_, 0)) {}
    ResizeSubscription& operator=(ResizeSubscription&& other) noexcept {
        if (this != &other) {
            reset();
            bdev_ = std::move(other.bdev_);
            token_ = std::exchange(other.token_, 0);
        }
        return *this;
    }
    ResizeSubscription(const ResizeSubscription&) = delete;
    ResizeSubscription& operator=(const ResizeSubscription&) = delete;

    void reset() {
        if (bdev_) {
            bdev_->remove_resize_listener(token_);
            bdev_.reset();
        }
        token_ = 0;
    }

  private:
    std::shared_ptr<Bdev> bdev_;
    uint64_t token_ = 0;
};

}  // namespace vhostd::block
