// BdevSubscription: a bdev event listener that stays registered exactly as long as the
// subscription lives, so an owner that goes away can never be called back. Control reactor.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "block/bdev.hpp"

namespace vhostd::block {

class BdevSubscription {
  public:
    BdevSubscription() = default;
    BdevSubscription(std::shared_ptr<Bdev> bdev, Bdev::Listener listener)
        : bdev_(std::move(bdev)), token_(bdev_->add_listener(std::move(listener))) {}
    ~BdevSubscription() { reset(); }
    BdevSubscription(BdevSubscription&& other) noexcept
        : bdev_(std::move(other.bdev_)), token_(std::exchange(other.token_, 0)) {}
    BdevSubscription& operator=(BdevSubscription&& other) noexcept {
        if (this != &other) {
            reset();
            bdev_ = std::move(other.bdev_);
            token_ = std::exchange(other.token_, 0);
        }
        return *this;
    }
    BdevSubscription(const BdevSubscription&) = delete;
    BdevSubscription& operator=(const BdevSubscription&) = delete;

    void reset() {
        if (bdev_) {
            bdev_->remove_listener(token_);
            bdev_.reset();
        }
        token_ = 0;
    }

  private:
    std::shared_ptr<Bdev> bdev_;
    uint64_t token_ = 0;
};

}  // namespace vhostd::block
