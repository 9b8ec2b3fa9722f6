// Session: command dispatch, completion, VERSION, DMA, reset and teardown. The device and
// region commands live in region_request.cpp and irq_request.cpp.
#include "vfio_user/session.hpp"

#include "base/log.hpp"
#include "vfio_user/irq_request.hpp"
#include "vfio_user/region_request.hpp"

namespace vhostd::vfio_user {

using guest_memory::GuestMemory;

namespace {

Result<Reply> no_payload(const Message& m) {
    VHOSTD_TRY(m.expect_empty());
    VHOSTD_TRY(m.expect_at_most_fds(0));
    return Reply{};
}

}  // namespace

Session::Session(pci::Function& function, Options options)
    : function_(function), options_(std::move(options)), self_(std::make_shared<Session*>(this)) {}

Session::~Session() {
    if (busy()) {
        LOG_WARN(vfio_user, "{}: session destroyed with a command waiting for the device",
                 options_.name);
    }
}

ServerCapabilities Session::server_capabilities() {
    return ServerCapabilities{.max_dma_maps = DmaTable::kMaxRegions};
}

void Session::handle(Message request, Done done) {
    if (busy() || teardown_.requested()) {
        // A caller bug, not a client's: refuse rather than interleave two commands.
        LOG_ERROR(vfio_user, "{}: {} handed over while the session cannot take it", options_.name,
                  request.name());
        done(Response{.reply = std::nullopt, .close = true});
        return;
    }
    current_ = Current{request.header, std::move(done)};
    close_after_ = false;
    LOG_TRACE(vfio_user, "{}: {} msg_id {} ({} payload bytes, {} fds)", options_.name,
              request.name(), request.header.msg_id, request.payload.size(), request.fds.size());

    auto step = dispatch(request);
    if (!step) {
        finish(std::unexpected(std::move(step).error()));
        return;
    }
    if (!step->wait) {
        finish(std::move(step->reply));
        return;
    }
    // The function may call back before wait() returns; nothing may touch the session after.
    pending_reply_ = std::move(step->reply);
    step->wait([self = std::weak_ptr<Session*>(self_)] {
        auto alive = self.lock();
        // A function that calls `done` twice has a bug; the second call finds nothing to do.
        if (alive && (*alive)->busy()) {
            Session* session = *alive;
            session->finish(std::exchange(session->pending_reply_, Reply{}));
        }
    });
}

void Session::finish(Result<Reply> outcome) {
    if (!current_) {
        return;  // only a request in progress finishes (busy()); a second call is a no-op
    }
    Current current = std::move(*current_);
    current_.reset();
    const bool no_reply = (current.header.flags & kFlagNoReply) != 0;
    Response response;
    response.close = std::exchange(close_after_, false);
    if (outcome) {
        if (!no_reply) {
            response.reply = make_reply(current.header, std::move(*outcome));
        }
    } else {
        const Error& error = outcome.error();
        LOG_RATELIMITED(vfio_user, warn, "{}: {} (msg_id {}) failed: {}{}", options_.name,
                        to_string(static_cast<Command>(current.header.command)),
                        current.header.msg_id, error.describe(),
                        response.close ? "; closing the connection" : "");
        // Spec "Header": a failed command gets the header alone, with Error and an errno;
        // unless the client asked for no reply at all.
        if (!no_reply) {
            response.reply = make_error_reply(current.header, error.code);
        }
    }
    current.done(std::move(response));
    if (teardown_.due(busy())) {
        begin_teardown();
    }
}

Result<Session::Step> Session::dispatch(Message& m) {
    // Spec "Header": flags hold the type (a command; the reader refused anything else) and
    // No_reply; Error belongs to replies.
    if ((m.header.flags & ~(kTypeMask | kFlagNoReply)) != 0) {
        return make_error(EINVAL, "{}: unknown header flags {:#x}", m.name(), m.header.flags);
    }
    // The client sent more fds than the max_msg_fds we advertised; some were lost.
    if (m.fds_truncated) {
        return make_error(E2BIG, "{}: more than {} file descriptors", m.name(), kMaxMsgFds);
    }
    // Spec "Connection Initiation": the first message is VERSION. A client that starts with
    // anything else does not speak the protocol.
    if (!negotiated_ && m.command() != Command::version) {
        close_after_ = true;
        return make_error(EINVAL, "{} before VERSION", m.name());
    }
    switch (m.command()) {
        case Command::version:
            return version(m);
        case Command::dma_map:
            return dma_map(m);
        case Command::dma_unmap:
            return dma_unmap(m);
        case Command::device_get_info:
            return Step{VHOSTD_TRY(device_info_reply(m)), nullptr};
        case Command::device_get_region_info:
            return Step{VHOSTD_TRY(region_info_reply(m, function_, client_.max_msg_fds >= 1)),
                        nullptr};
        case Command::device_get_region_io_fds:
            return Step{VHOSTD_TRY(region_io_fds_reply(m)), nullptr};
        case Command::device_get_irq_info:
            return Step{VHOSTD_TRY(irq_info_reply(m, function_)), nullptr};
        case Command::device_set_irqs: {
            pci::IrqSet set = VHOSTD_TRY(parse_set_irqs(m, function_));
            VHOSTD_TRY(function_.set_irqs(std::move(set)));
            return Step{};
        }
        case Command::region_read:
            return Step{VHOSTD_TRY(region_read(m, function_)), nullptr};
        case Command::region_write:
            return Step{VHOSTD_TRY(region_write(m, function_)), nullptr};
        case Command::dma_read:
        case Command::dma_write:
            return make_error(EINVAL, "{} is a server-to-client command", m.name());
        case Command::device_reset:
            return device_reset(m);
        case Command::region_write_multi:
            return make_error(ENOTSUP, "{}: write_multiple was not offered", m.name());
        case Command::device_feature:
        case Command::mig_data_read:
        case Command::mig_data_write:
            return make_error(ENOTSUP, "{}: migration was not offered", m.name());
        case Command::none:
            break;
    }
    return make_error(ENOSYS, "unknown command {}", m.header.command);
}

Result<Session::Step> Session::version(const Message& m) {
    if (negotiated_) {
        return make_error(EINVAL, "VERSION repeated");
    }
    auto client = parse_version(m);
    if (!client) {
        // Spec "Version": the server "closes the connection if it cannot support the
        // advertised version"; a proposal we cannot read is no better.
        close_after_ = true;
        return std::unexpected(std::move(client).error());
    }
    client_ = *client;
    negotiated_ = true;
    LOG_RATELIMITED(vfio_user, info,
                    "{}: client speaks vfio-user {}.{} (max_msg_fds {}, max_data_xfer_size {})",
                    options_.name, client_.major, client_.minor, client_.max_msg_fds,
                    client_.max_data_xfer_size);
    return Step{version_reply(client_, server_capabilities()), nullptr};
}

Session::Step Session::update_memory(Reply reply) {
    // The reply waits until the device no longer points into memory the table lost (spec
    // DMA_UNMAP: "release all references to that DMA region before replying").
    return Step{std::move(reply),
                [this](Resume resume) { function_.set_memory(dma_.memory(), std::move(resume)); }};
}

Result<Session::Step> Session::dma_map(Message& m) {
    VHOSTD_TRY(dma_.map(m));
    if (!dma_.reachable_changed()) {
        return Step{};  // recorded, unreachable: the device's view does not change
    }
    return update_memory(Reply{});
}

Result<Session::Step> Session::dma_unmap(const Message& m) {
    const DmaUnmapRequest request = VHOSTD_TRY(DmaTable::parse_unmap(m));
    VHOSTD_TRY(dma_.remove(request));
    // Spec DMA_UNMAP: "the server responds with the original DMA entry in the request".
    Reply reply;
    reply.append(request.wire);
    if (!dma_.reachable_changed()) {
        return Step{std::move(reply), nullptr};
    }
    return update_memory(std::move(reply));
}

Result<Session::Step> Session::device_reset(const Message& m) {
    // Spec DEVICE_RESET: "neither the request or reply have a payload". The DMA table stays,
    // as VFIO_DEVICE_RESET leaves the IOMMU's mappings alone.
    Reply reply = VHOSTD_TRY(no_payload(m));
    return Step{std::move(reply), [this](Resume resume) { function_.reset(std::move(resume)); }};
}

void Session::disconnect(std::move_only_function<void()> done) {
    // A command waiting for the function finishes first (finish() then starts the teardown).
    if (teardown_.request(std::move(done), busy())) {
        begin_teardown();
    }
}

void Session::begin_teardown() {
    teardown_.begin();
    const std::weak_ptr<Session*> self(self_);
    // Reset first (queues stop while their memory is still there), then take the memory away;
    // the mappings and their fds go when the function drops its last snapshot.
    function_.reset([self, fired = false]() mutable {
        auto alive = self.lock();
        if (!alive || std::exchange(fired, true)) {
            return;
        }
        Session* session = *alive;
        session->dma_.clear();
        session->function_.set_memory(GuestMemory::empty(), [self, again = false]() mutable {
            auto still = self.lock();
            if (!still || std::exchange(again, true)) {
                return;
            }
            Session* s = *still;
            s->negotiated_ = false;
            s->client_ = ClientCapabilities{};
            s->teardown_.finish();
        });
    });
}

}  // namespace vhostd::vfio_user
