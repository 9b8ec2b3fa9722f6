// Bdev: identity, geometry, health and events; the module contract's shared parts (make_bdev,
// default channel opening, config calls); opening a user's channel.
#include "block/bdev.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "base/log.hpp"
#include "block/bdev_channel.hpp"
#include "block/bdev_checks.hpp"
#include "block/module/bdev_module.hpp"
#include "block/uuid.hpp"

namespace vhostd::block {

const char* to_string(BdevState state) {
    switch (state) {
        case BdevState::online:
            return "online";
        case BdevState::failed:
            return "failed";
        case BdevState::removed:
            return "removed";
    }
    return "unknown";
}

const char* to_string(BdevEvent event) {
    switch (event) {
        case BdevEvent::resized:
            return "resized";
        case BdevEvent::failed:
            return "failed";
        case BdevEvent::recovered:
            return "recovered";
        case BdevEvent::removed:
            return "removed";
    }
    return "unknown";
}

Bdev::Bdev(std::string name, std::string product, uint32_t block_size, uint64_t num_blocks,
           Capabilities caps, std::string uuid, std::unique_ptr<BdevBackend> backend)
    : name_(std::move(name)),
      product_(std::move(product)),
      block_size_(block_size),
      num_blocks_(std::make_shared<std::atomic<uint64_t>>(num_blocks)),
      caps_(caps),
      uuid_(uuid.empty() ? generate_uuid() : std::move(uuid)),
      backend_(std::move(backend)) {}

Bdev::~Bdev() = default;

std::string_view Bdev::driver() const {
    return backend_->driver();
}

nlohmann::json Bdev::driver_specific() const {
    nlohmann::json out = nlohmann::json::object();
    out[std::string(backend_->driver())] = backend_->describe();
    return out;
}

nlohmann::json Bdev::config_calls() const {
    return backend_->config_calls();
}

nlohmann::json Bdev::backend_status() const {
    return backend_->status();
}

uint64_t Bdev::add_listener(Listener listener) {
    const uint64_t token = next_listener_token_++;
    listeners_.emplace_back(token, std::move(listener));
    return token;
}

void Bdev::remove_listener(uint64_t token) {
    std::erase_if(listeners_, [token](const auto& l) { return l.first == token; });
}

void Bdev::notify(BdevEvent event) {
    // A listener may remove itself (or another): iterate over a snapshot of the tokens.
    std::vector<uint64_t> tokens;
    tokens.reserve(listeners_.size());
    for (const auto& l : listeners_) {
        tokens.push_back(l.first);
    }
    for (uint64_t token : tokens) {
        auto it = std::find_if(listeners_.begin(), listeners_.end(),
                               [token](const auto& l) { return l.first == token; });
        if (it != listeners_.end()) {
            auto listener = it->second;  // a copy: the listener may erase its own entry
            listener(*this, event);
        }
    }
}

void Bdev::set_num_blocks(uint64_t num_blocks) {
    const uint64_t was = num_blocks_->exchange(num_blocks, std::memory_order_relaxed);
    if (was == num_blocks) {
        return;
    }
    LOG_INFO(block, "bdev {}: resized to {} blocks of {} bytes (was {})", name_, num_blocks,
             block_size_, was);
    notify(BdevEvent::resized);
}

void Bdev::report(BdevEvent event) {
    const BdevState was = state();
    BdevState next = was;
    switch (event) {
        case BdevEvent::resized:
            notify(event);
            return;
        case BdevEvent::failed:
            next = BdevState::failed;
            break;
        case BdevEvent::recovered:
            next = BdevState::online;
            break;
        case BdevEvent::removed:
            next = BdevState::removed;
            break;
    }
    // Removal is final; an event that changes nothing is not repeated to the users.
    if (was == BdevState::removed || next == was) {
        return;
    }
    state_.store(next, std::memory_order_release);
    LOG_WARN(block, "bdev {}: {} (was {})", name_, to_string(next), to_string(was));
    notify(event);
}

// --- the module contract's defaults ---

void BdevBackend::open_channel(reactor::Reactor& reactor, BackendChannelOpened done) {
    done(create_channel(reactor));
}

Result<std::unique_ptr<BackendChannel>> BdevBackend::create_channel(reactor::Reactor&) {
    return make_error(ENOTSUP, "bdev {}: the {} backend opens its channels asynchronously",
                      bdev().name(), driver());
}

nlohmann::json BdevBackend::config_calls() const {
    nlohmann::json calls = nlohmann::json::array();
    calls.push_back({{"method", fmt::format("bdev_{}_create", driver())}, {"params", describe()}});
    return calls;
}

nlohmann::json geometry_params(const Bdev& bdev) {
    return {{"name", bdev.name()},
            {"num_blocks", bdev.num_blocks()},
            {"block_size", bdev.block_size()},
            {"uuid", bdev.uuid()}};
}

std::shared_ptr<Bdev> BdevModuleAccess::create(BdevInit init,
                                               std::unique_ptr<BdevBackend> backend) {
    BdevBackend* raw = backend.get();
    std::shared_ptr<Bdev> bdev(new Bdev(std::move(init.name), std::move(init.product),
                                        init.block_size, init.num_blocks, init.caps,
                                        std::move(init.uuid), std::move(backend)));
    raw->bdev_ = bdev.get();
    return bdev;
}

Result<std::shared_ptr<Bdev>> make_bdev(BdevInit init, std::unique_ptr<BdevBackend> backend) {
    VHOSTD_TRY(check_bdev_name(init.name));
    VHOSTD_TRY(check_block_size(init.name, init.block_size));
    VHOSTD_TRY(checked_size_bytes(init.name, init.block_size, init.num_blocks));
    init.uuid = VHOSTD_TRY(check_uuid(init.name, init.uuid));
    return BdevModuleAccess::create(std::move(init), std::move(backend));
}

// --- users' channels ---

void open_channel(Bdev& bdev, reactor::Reactor& reactor, ChannelOpened done) {
    BdevModuleAccess::backend_of(bdev).open_channel(
        reactor, [&bdev, &reactor,
                  done = std::move(done)](Result<std::unique_ptr<BackendChannel>> backend) mutable {
            if (!backend) {
                done(std::unexpected(std::move(backend).error()));
                return;
            }
            done(std::unique_ptr<IoChannel>(
                std::make_unique<BdevChannel>(bdev, reactor, std::move(*backend))));
        });
}

Result<std::unique_ptr<IoChannel>> open_channel_now(Bdev& bdev, reactor::Reactor& reactor) {
    // Shared with the callback: a backend that answers later finds it still there (and the
    // channel it delivers is then simply dropped, on the reactor that opened it).
    auto opened = std::make_shared<std::optional<Result<std::unique_ptr<IoChannel>>>>();
    open_channel(bdev, reactor, [opened](Result<std::unique_ptr<IoChannel>> channel) {
        *opened = std::move(channel);
    });
    std::optional<Result<std::unique_ptr<IoChannel>>>& answer = *opened;
    if (!answer) {
        return make_error(EWOULDBLOCK, "bdev {}: its channels open asynchronously", bdev.name());
    }
    auto result = std::move(*answer);
    answer.reset();
    return result;
}

}  // namespace vhostd::block
