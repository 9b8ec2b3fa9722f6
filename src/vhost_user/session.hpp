// Session: the vhost-user protocol state machine for one frontend connection, without any
// socket: negotiated features, ownership, the guest memory snapshot, per-ring state and the
// device status. It starts and stops queues through QueueControl.
//
// Requests are handled one at a time. Most complete at once; those that must first stop running
// queues (GET_VRING_BASE, SET_VRING_ENABLE 0, RESET_DEVICE, a memory table change, ...) complete
// when the queues have drained. The caller hands over the next request only after the previous
// one's `done` has run. Everything runs on the control reactor's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "guest_memory/dirty_log.hpp"
#include "guest_memory/guest_memory.hpp"
#include "uds/teardown.hpp"
#include "vhost_user/backend_channel.hpp"
#include "vhost_user/message.hpp"
#include "vhost_user/vring.hpp"
#include "virtio/device.hpp"
#include "virtio/inflight_region.hpp"
#include "virtio/queue_control.hpp"

namespace vhostd::vhost_user {

class Session {
  public:
    struct Options {
        std::string name = "vhost-user";  // prefixes log lines (the socket path)
    };

    // How a request ended, for the connection.
    struct Response {
        std::optional<Message> reply;  // to send to the frontend
        bool close = false;  // the request failed and the frontend expects no reply: close
    };
    using Done = std::move_only_function<void(Response)>;

    Session(virtio::Device& device, virtio::QueueControl& queues, Options options);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Handles one request. `done` runs exactly once: before handle() returns if the request
    // completes at once, otherwise later, from the QueueControl stop callback that lets it
    // finish. No other request may be handed over until then. The message's fds are closed
    // unless the request keeps them.
    void handle(Message request, Done done);
    // A request is in progress (waiting for queues to stop).
    [[nodiscard]] bool busy() const { return current_.has_value(); }

    // The frontend is gone. Once the request in progress (if any) has completed, stops every
    // queue, closes the ring fds, drops the guest memory and resets the device, then calls
    // `done` (possibly before disconnect() returns). The session takes no more requests.
    void disconnect(std::move_only_function<void()> done);

    // The target reports that the device broke ring `index`: GET_STATUS includes
    // DEVICE_NEEDS_RESET and the ring is not restarted until the frontend resets it.
    void queue_broken(uint16_t index);

    // The device's configuration space changed (a resized disk): sends CONFIG_CHANGE_MSG on
    // the backend channel, after which the frontend reads the config again (spec: with
    // PROTOCOL_F_CONFIG). ENOTSUP when the frontend did not negotiate CONFIG and BACKEND_REQ
    // or gave no channel: it cannot be told, and reads the new config at its next start.
    [[nodiscard]] Result<void> notify_config_changed();

    // --- observers (tests, status reporting) ---
    [[nodiscard]] uint64_t offered_features() const;
    [[nodiscard]] static uint64_t offered_protocol_features();
    [[nodiscard]] uint64_t acked_features() const { return acked_features_; }
    [[nodiscard]] uint64_t acked_protocol_features() const { return acked_protocol_features_; }
    [[nodiscard]] bool owned() const { return owner_; }
    // The device status as GET_STATUS reports it.
    [[nodiscard]] uint8_t device_status() const;
    [[nodiscard]] const guest_memory::GuestMemory::Ptr& memory() const { return memory_; }
    [[nodiscard]] uint16_t num_queues() const { return static_cast<uint16_t>(vrings_.size()); }
    [[nodiscard]] const Vring& vring(uint16_t index) const { return vrings_.at(index); }
    // The dirty log (SET_LOG_BASE), or null; queues mark into it while VHOST_F_LOG_ALL is
    // negotiated.
    [[nodiscard]] const guest_memory::DirtyLog::Ptr& log() const { return log_; }
    [[nodiscard]] bool logging_all() const;
    // The inflight region (GET/SET_INFLIGHT_FD), or null.
    [[nodiscard]] const std::shared_ptr<virtio::InflightRegion>& inflight() const {
        return inflight_;
    }

  private:
    // The result of a request: success with an explicit reply or without one, or failure.
    using Outcome = Result<std::optional<Message>>;
    using Continuation = std::move_only_function<Outcome()>;
    // What a handler decided: finish now with `reply`, or stop `stop` first and let `then`
    // decide once they have drained, or hand `memory` to the running rings `update` (memory
    // hot-plug) and let `then` decide once they are done with the old table.
    struct Step {
        std::optional<Message> reply;
        std::vector<uint16_t> stop;
        Continuation then;
        std::vector<uint16_t> update;
        guest_memory::GuestMemory::Ptr memory;
        bool drain_old = false;
    };
    struct Current {
        Request request;
        bool ack;        // REPLY_ACK negotiated and NEED_REPLY set: answer with a u64 status
        bool own_reply;  // a request that always has a reply (GET_*)
        Done done;
    };

    static Step now(std::optional<Message> reply = std::nullopt);
    static Step after_stopping(std::vector<uint16_t> rings, Continuation then);

    void finish(Outcome outcome);
    Result<Step> dispatch(Message& request);

    // Negotiation, ownership, device-wide requests (session.cpp).
    Result<Step> set_features(const Message& m);
    Result<Step> set_protocol_features(const Message& m);
    Result<Step> set_owner(const Message& m);
    Result<Step> reset_device(const Message& m);
    Result<Step> get_config(const Message& m);
    Result<Step> set_config(const Message& m);
    Result<Step> set_status(const Message& m);
    Result<Step> set_backend_req_fd(Message& m);
    Result<Step> reply_u64(const Message& m, uint64_t value);
    Result<Step> replace_memory(Result<guest_memory::GuestMemory::Ptr> next);
    // ADD_MEM_REG / REM_MEM_REG: the running rings take the new table without stopping
    // (`removing`: once nothing they took before points into the old one).
    Result<Step> edit_memory(Result<guest_memory::GuestMemory::Ptr> next, bool removing);
    // Checks shared by every table change (warnings only).
    void note_new_memory(const guest_memory::GuestMemory& next);

    // Inflight tracking (session_inflight.cpp).
    Result<Step> get_inflight_fd(const Message& m);
    Result<Step> set_inflight_fd(Message& m);
    [[nodiscard]] virtio::InflightLayout inflight_layout() const;
    // Ring `index`'s slice of the inflight region (empty without one, or beyond its queues).
    [[nodiscard]] virtio::InflightSlot inflight_slot(uint16_t index) const;

    // Dirty logging for live migration (session_log.cpp).
    Result<Step> set_log_base(Message& m);
    Result<Step> set_log_fd(Message& m);
    // Fills in what ring `index` logs into (nothing without LOG_ALL); refuses a used ring its
    // log_guest_addr puts past the log.
    [[nodiscard]] Result<void> add_log_config(uint16_t index,
                                              virtio::VirtqueueConfig& config) const;

    // Ring requests (session_vring.cpp).
    Result<uint16_t> ring_index(uint64_t index) const;
    Result<Step> set_vring_num(const Message& m);
    Result<Step> set_vring_addr(const Message& m);
    Result<Step> set_vring_base(const Message& m);
    Result<Step> get_vring_base(const Message& m);
    Result<Step> set_vring_kick(Message& m);
    Result<Step> set_vring_call(Message& m);
    Result<Step> set_vring_err(Message& m);
    Result<Step> set_vring_enable(const Message& m);

    // Ring start/stop (session_vring.cpp).
    // VIRTIO_F_RING_PACKED was negotiated: every ring is packed (virtio 2.8).
    [[nodiscard]] bool packed_ring() const;
    [[nodiscard]] bool protocol_features_acked() const;
    // Spec "Ring states": kicked, sized, addressed, memory present, and enabled when
    // PROTOCOL_FEATURES was negotiated (rings start enabled otherwise).
    [[nodiscard]] bool ready(uint16_t index) const;
    // Starts ring `index` if it is ready and not running; translation failures are errors.
    Result<void> start_if_ready(uint16_t index);
    // SET_VRING_ADDR's checks: alignment, no overlap with the used ring, inside memory.
    [[nodiscard]] Result<void> check_ring_addresses(uint16_t index, const VringAddr& addr) const;
    [[nodiscard]] Result<void> check_packed_ring_addresses(uint16_t index,
                                                           const VringAddr& addr) const;
    // After a memory change: starts every ready ring; failures are logged (a ring whose memory
    // is momentarily absent waits for the next table).
    void start_ready_rings();
    [[nodiscard]] std::vector<uint16_t> running_rings() const;
    // Stops the running rings among `rings`, then runs `then` (at once if none was running).
    void stop_rings(const std::vector<uint16_t>& rings, std::move_only_function<void()> then);
    void on_ring_stopped(uint16_t index, virtio::QueueStopResult result);
    // Hands `memory` to the running rings `rings`, then runs `then` (at once if none).
    void update_rings(const std::vector<uint16_t>& rings,
                      const guest_memory::GuestMemory::Ptr& memory, bool drain_old,
                      std::move_only_function<void()> then);
    void begin_teardown();

    virtio::Device& device_;
    virtio::QueueControl& queues_;
    Options options_;
    std::vector<Vring> vrings_;
    guest_memory::GuestMemory::Ptr memory_;
    uint64_t acked_features_ = 0;
    uint64_t acked_protocol_features_ = 0;
    bool owner_ = false;
    bool warned_unsealed_ = false;  // the unsealed-memory warning is logged once
    uint8_t status_ = 0;
    BackendChannel backend_channel_;
    // Where queues record their requests in flight; kept by the frontend across our restarts.
    std::shared_ptr<virtio::InflightRegion> inflight_;
    // The frontend's dirty log (SET_LOG_BASE) and log eventfd (SET_LOG_FD, kept, never
    // signalled).
    guest_memory::DirtyLog::Ptr log_;
    UniqueFd log_call_;

    std::optional<Current> current_;
    size_t stops_pending_ = 0;
    std::move_only_function<void()> after_stops_;
    size_t updates_pending_ = 0;
    std::move_only_function<void()> after_updates_;

    uds::Teardown teardown_;  // disconnect() calls and the teardown they start

    // Stop callbacks hold a weak reference: a session destroyed with stops in flight (only
    // possible if its owner skips disconnect()) ignores them instead of touching freed memory.
    std::shared_ptr<Session*> self_;
};

}  // namespace vhostd::vhost_user
