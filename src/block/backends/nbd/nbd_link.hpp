// NbdLink: one NBD connection (a libnbd handle) driven by one reactor. libnbd's asynchronous
// interface exposes the socket and the direction it waits for; the link watches that fd on
// the reactor and calls libnbd back, so commands are issued and reaped on the reactor's own
// loop, with no thread of libnbd's or ours. A link connects, reports what the server exports,
// and when the connection breaks (error, EOF, or a command with no answer within the I/O
// timeout) closes the handle, which makes libnbd release every command still in flight, and
// connects again with backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "block/backends/nbd/nbd_api.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

// What the server said about the export at the handshake.
struct NbdExport {
    uint64_t size = 0;
    bool read_only = false;
    bool can_flush = false;
    bool can_trim = false;
    bool can_zero = false;
    bool can_multi_conn = false;
    uint32_t preferred_block_size = 0;  // 0: not advertised
};

class NbdLink {
  public:
    enum class State : uint8_t { connecting, ready, down, closed };

    struct Options {
        std::string uri;
        std::chrono::milliseconds connect_timeout{30'000};
        // Reconnect after a failure: first wait, doubling up to max_backoff. 0: never.
        std::chrono::milliseconds first_backoff{100};
        std::chrono::milliseconds max_backoff{5'000};
        bool reconnect = true;
        std::shared_ptr<NbdApi> api = libnbd_api();  // a fake in unit tests
    };
    // Called on the reactor at every state change; `error` says why a connection ended or
    // failed. May destroy the link only through Reactor::post (not inside the call).
    using StateChanged = std::function<void(State state, const Error* error)>;

    // Starts connecting at once. Call on `reactor`'s thread.
    NbdLink(reactor::Reactor& reactor, Options options, StateChanged on_state);
    ~NbdLink();  // closes the handle: libnbd frees every pending command (their free callbacks)
    NbdLink(const NbdLink&) = delete;
    NbdLink& operator=(const NbdLink&) = delete;

    [[nodiscard]] State state() const { return state_; }
    // Valid in state ready.
    [[nodiscard]] NbdHandle* handle() const { return handle_; }
    [[nodiscard]] NbdApi& api() const { return *options_.api; }
    [[nodiscard]] const NbdExport& exported() const { return export_; }
    [[nodiscard]] uint64_t reconnects() const { return reconnects_; }

    // After issuing commands: libnbd may now want to write; re-arms the fd watch.
    void kick();
    // Breaks the connection (a command timed out): closes the handle and reconnects.
    void fail(const Error& error);

  private:
    void connect();
    void on_fd(uint32_t events);
    void watch();
    void check_progress();
    void become_ready();
    void close_handle();
    void set_state(State state, const Error* error);
    [[nodiscard]] Error nbd_error(const char* what) const;

    reactor::Reactor& reactor_;
    Options options_;
    StateChanged on_state_;
    NbdHandle* handle_ = nullptr;
    State state_ = State::closed;
    NbdExport export_;
    std::optional<reactor::Reactor::FdId> watch_;
    uint32_t watched_events_ = 0;
    std::optional<reactor::Reactor::TimerId> timer_;  // connect deadline or reconnect backoff
    std::chrono::milliseconds backoff_;
    uint64_t reconnects_ = 0;
    bool ever_ready_ = false;
};

}  // namespace vhostd::block
