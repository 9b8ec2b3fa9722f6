// Error bdev (SPDK's bdev_error, EE_<base>): per I/O class an injection of failures, stalls
// ("pending" until bdev_error_resume_pending) or corrupted read data, for a number of
// requests, optionally only at or above a queue depth.
#include <array>
#include <atomic>
#include <mutex>
#include <vector>

#include "base/iovec.hpp"
#include "base/log.hpp"
#include "block/backends/fault/fault_bdevs.hpp"
#include "block/backends/fault/passthrough_channel.hpp"
#include "block/backends/fault/stacked_backend.hpp"

namespace vhostd::block {
namespace {

enum IoClass : size_t { kRead, kWrite, kUnmap, kFlush, kClasses };

IoClass class_of(IoType type) {
    switch (type) {
        case IoType::read:
            return kRead;
        case IoType::write:
            return kWrite;
        case IoType::discard:
        case IoType::write_zeroes:
            return kUnmap;
        case IoType::flush:
            break;
    }
    return kFlush;
}

// One class's injection. Written by RPC on the control reactor, read by every channel; the
// count is taken one request at a time with a compare-exchange, so `num` requests in all are
// hit whichever reactors they arrive on.
struct Slot {
    std::atomic<uint32_t> remaining{0};
    std::atomic<ErrorType> type{ErrorType::failure};
    std::atomic<uint32_t> queue_depth{0};
    std::atomic<uint64_t> corrupt_offset{0};
    std::atomic<uint8_t> corrupt_value{0};

    // True if this request is one of the injected ones.
    bool take(uint32_t in_flight_before) {
        if (in_flight_before < queue_depth.load(std::memory_order_relaxed)) {
            return false;
        }
        uint32_t n = remaining.load(std::memory_order_relaxed);
        do {
            if (n == 0) {
                return false;
            }
        } while (!remaining.compare_exchange_weak(n, n - 1, std::memory_order_relaxed));
        return true;
    }
};

// What the channels share with the backend: the injections, the resume generation, and the
// reactors to wake when held requests are resumed (a sleeping reactor would not look).
struct ErrorState {
    std::array<Slot, kClasses> slots;
    std::atomic<uint64_t> resume_generation{0};
    std::mutex reactors_mutex;  // control plane: channel open/close and resume only
    std::vector<reactor::Reactor*> reactors;
};

class ErrorChannel final : public PassthroughChannel {
  public:
    ErrorChannel(reactor::Reactor& reactor, std::unique_ptr<IoChannel> base,
                 std::shared_ptr<ErrorState> state)
        : PassthroughChannel(reactor, std::move(base)),
          state_(std::move(state)),
          seen_generation_(state_->resume_generation.load()) {
        std::lock_guard lock(state_->reactors_mutex);
        state_->reactors.push_back(&reactor);
    }
    ~ErrorChannel() override {
        std::lock_guard lock(state_->reactors_mutex);
        auto it = std::find(state_->reactors.begin(), state_->reactors.end(), &reactor());
        if (it != state_->reactors.end()) {
            state_->reactors.erase(it);
        }
    }

  private:
    Verdict admit(IoRequest& request, IoStatus& status) noexcept override {
        Slot& slot = state_->slots[class_of(request.type)];
        scratch(request).backend_state = 0;
        if (!slot.take(in_flight() - 1)) {
            return Verdict::forward;
        }
        switch (slot.type.load(std::memory_order_relaxed)) {
            case ErrorType::failure:
                status = IoStatus::io_error;
                return Verdict::fail;
            case ErrorType::pending:
                held_.push_back(request);
                return Verdict::hold;
            case ErrorType::corrupt_data:
                scratch(request).backend_state = 1;  // corrupt once the read is done
                return Verdict::forward;
        }
        return Verdict::forward;
    }

    void finished(IoRequest& request) noexcept override {
        if (scratch(request).backend_state == 1 && request.status == IoStatus::success &&
            request.type == IoType::read) {
            const Slot& slot = state_->slots[kRead];
            uint8_t byte = 0;
            const std::span<const iovec> iov(request.iov, request.iovcnt);
            const uint64_t at = slot.corrupt_offset.load(std::memory_order_relaxed);
            if (iov_copy_out(iov, at, &byte, 1) == 1) {
                byte ^= slot.corrupt_value.load(std::memory_order_relaxed);
                iov_copy_in(iov, at, &byte, 1);
            }
        }
        complete_later(request);
    }

    bool tick() noexcept override {
        const uint64_t generation = state_->resume_generation.load(std::memory_order_acquire);
        if (generation == seen_generation_) {
            return false;
        }
        seen_generation_ = generation;
        bool any = false;
        RequestList batch = held_.take();
        while (IoRequest* request = batch.pop_front()) {
            forward(*request);
            any = true;
        }
        return any;
    }

    std::shared_ptr<ErrorState> state_;
    RequestList held_;  // "pending": until the next resume
    uint64_t seen_generation_;
};

class ErrorBackend final : public StackedBackend {
  public:
    explicit ErrorBackend(std::shared_ptr<Bdev> base)
        : StackedBackend(std::move(base)), state_(std::make_shared<ErrorState>()) {}

    [[nodiscard]] std::string_view driver() const override { return "error"; }
    [[nodiscard]] nlohmann::json describe() const override {
        return {{"base_name", base().name()}, {"uuid", bdev().uuid()}};
    }
    [[nodiscard]] ErrorState& state() { return *state_; }

  private:
    std::unique_ptr<BackendChannel> make_channel(reactor::Reactor& reactor,
                                                 std::unique_ptr<IoChannel> base) override {
        return std::make_unique<ErrorChannel>(reactor, std::move(base), state_);
    }

    std::shared_ptr<ErrorState> state_;  // shared with the channels
};

ErrorBackend* error_backend(Bdev& bdev) {
    return BdevModuleAccess::backend<ErrorBackend>(bdev);
}

}  // namespace

Result<std::shared_ptr<Bdev>> bdev_error_create(const std::string& base_name,
                                                const std::string& uuid, BdevRegistry& bdevs) {
    std::shared_ptr<Bdev> base = bdevs.find(base_name);
    if (!base || base->name() != base_name) {
        return make_error(ENODEV, "bdev {} not found", base_name);
    }
    BdevInit init = stacked_init(*base, "EE_" + base_name, "error", uuid);
    return make_stacked_bdev(std::move(init), std::make_unique<ErrorBackend>(base), bdevs);
}

Result<void> bdev_error_inject(Bdev& bdev, const ErrorInjection& injection) {
    ErrorBackend* backend = error_backend(bdev);
    if (backend == nullptr) {
        return make_error(ENODEV, "bdev {} is not an error bdev", bdev.name());
    }
    if (injection.type == ErrorType::corrupt_data) {
        // Corrupting written data needs a bounce buffer (the guest's buffer is not ours to
        // change); vhostd corrupts what reads return.
        if (injection.write || injection.unmap || injection.flush) {
            return make_error(ENOTSUP, "bdev {}: corrupt_data applies to reads only", bdev.name());
        }
        if (injection.corrupt_value == 0) {
            return make_error(EINVAL, "bdev {}: corrupt_value must be 1 to 255", bdev.name());
        }
    }
    const std::array<bool, kClasses> selected = {injection.read, injection.write, injection.unmap,
                                                 injection.flush};
    const bool clear = !injection.read && !injection.write && !injection.unmap && !injection.flush;
    for (size_t c = 0; c < kClasses; ++c) {
        Slot& slot = backend->state().slots[c];
        if (clear) {
            slot.remaining.store(0, std::memory_order_relaxed);
            continue;
        }
        if (!selected[c]) {
            continue;
        }
        slot.remaining.store(0, std::memory_order_relaxed);  // no request sees a half-set slot
        slot.type.store(injection.type, std::memory_order_relaxed);
        slot.queue_depth.store(injection.queue_depth, std::memory_order_relaxed);
        slot.corrupt_offset.store(injection.corrupt_offset, std::memory_order_relaxed);
        slot.corrupt_value.store(injection.corrupt_value, std::memory_order_relaxed);
        slot.remaining.store(injection.num, std::memory_order_release);
    }
    LOG_INFO(block, "bdev {}: {}", bdev.name(),
             clear ? "error injection cleared" : "error injection armed");
    return {};
}

Result<void> bdev_error_resume_pending(Bdev& bdev) {
    ErrorBackend* backend = error_backend(bdev);
    if (backend == nullptr) {
        return make_error(ENODEV, "bdev {} is not an error bdev", bdev.name());
    }
    ErrorState& state = backend->state();
    state.resume_generation.fetch_add(1, std::memory_order_release);
    // Under the lock a channel cannot close, so its reactor outlives the message.
    std::lock_guard lock(state.reactors_mutex);
    for (reactor::Reactor* r : state.reactors) {
        r->post([] {});
    }
    return {};
}

}  // namespace vhostd::block
