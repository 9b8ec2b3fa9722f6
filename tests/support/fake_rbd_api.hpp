// FakeRbdApi: an RbdApi whose cluster is the test. Blocking calls can be held until the test
// releases them (a cluster that does not answer), I/Os wait in a list until the test answers
// them, from any thread, in any order, with any result: the orderings a real cluster produces
// only by chance (a completion after its timeout, after a newer one, never).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "block/backends/rbd/rbd_api.hpp"

namespace vhostd::testing {

class FakeRbdApi final : public block::RbdApi {
  public:
    struct Io {
        block::RbdIo io;
        void* arg = nullptr;
    };

    std::atomic<int> submit_result{0};  // what submit() returns (negative: librbd refused)

    // --- the test's side ---
    // Blocking calls wait while held (a cluster that does not answer).
    void hold(bool held) {
        {
            std::lock_guard lock(mutex_);
            held_ = held;
        }
        cv_.notify_all();
    }
    [[nodiscard]] size_t pending() {
        std::lock_guard lock(mutex_);
        return ios_.size();
    }
    [[nodiscard]] Io io(size_t i) {
        std::lock_guard lock(mutex_);
        return ios_.at(i);
    }
    // Answers the i-th pending I/O with `result` (-1: librbd's own answer: the length for a
    // read, else 0), on the calling thread, as librbd's thread would.
    void answer(size_t i, int64_t result = -1) {
        Io io;
        {
            std::lock_guard lock(mutex_);
            io = ios_.at(i);
            ios_.erase(ios_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        if (result == -1) {
            result = io.io.type == block::IoType::read ? static_cast<int64_t>(io.io.length) : 0;
        }
        block::rbd_io_done(io.arg, result);
    }
    std::atomic<int> connects{0};
    std::atomic<int> disconnects{0};
    std::atomic<int> opens{0};
    std::atomic<int> closes{0};
    std::atomic<int> size_calls{0};
    std::atomic<int> resizes{0};
    // The image's size as another client (or the cluster) sees it.
    void set_image_size(uint64_t bytes) {
        std::lock_guard lock(mutex_);
        image_size_ = bytes;
    }
    [[nodiscard]] uint64_t image_size() {
        std::lock_guard lock(mutex_);
        return image_size_;
    }
    // The image's header changed (another client resized it): what librbd's watch does.
    void notify_header_changed() {
        std::function<void()> changed;
        {
            std::lock_guard lock(mutex_);
            changed = watch_;
        }
        if (changed) {
            changed();
        }
    }

    // --- RbdApi ---
    Result<block::RadosConnection*> connect(const block::RadosConfig& config) override {
        wait_while_held();
        ++connects;
        last_config = config;
        return reinterpret_cast<block::RadosConnection*>(&cluster_);
    }
    void disconnect(block::RadosConnection*) override { ++disconnects; }
    Result<block::RbdImage*> open(block::RadosConnection*, const std::string&,
                                  const std::string& image, bool) override {
        wait_while_held();
        if (image == "missing") {
            return make_error(ENOENT, "image rbd/missing");
        }
        ++opens;
        return reinterpret_cast<block::RbdImage*>(&image_);
    }
    void close(block::RbdImage*) override {
        wait_while_held();
        ++closes;
    }
    Result<uint64_t> size(block::RbdImage*) override {
        wait_while_held();
        ++size_calls;
        std::lock_guard lock(mutex_);
        return image_size_;
    }
    Result<void> resize(block::RbdImage*, uint64_t bytes) override {
        wait_while_held();
        ++resizes;
        std::lock_guard lock(mutex_);
        image_size_ = bytes;
        return {};
    }
    Result<uint64_t> watch(block::RbdImage*, std::function<void()> changed) override {
        std::lock_guard lock(mutex_);
        watch_ = std::move(changed);
        return 1;
    }
    void unwatch(block::RbdImage*, uint64_t) override {
        std::lock_guard lock(mutex_);
        watch_ = nullptr;
    }
    int submit(block::RbdImage*, const block::RbdIo& io, void* arg) noexcept override {
        if (submit_result < 0) {
            return submit_result;
        }
        std::lock_guard lock(mutex_);
        ios_.push_back({io, arg});
        return 0;
    }

    block::RadosConfig last_config;

  private:
    void wait_while_held() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !held_; });
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    bool held_ = false;
    uint64_t image_size_ = 64 << 20;
    std::deque<Io> ios_;
    std::function<void()> watch_;
    int cluster_ = 0;
    int image_ = 0;
};

}  // namespace vhostd::testing
