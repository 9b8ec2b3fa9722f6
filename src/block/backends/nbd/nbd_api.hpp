// NbdApi: the libnbd calls the NBD backend makes, behind a thin interface so that unit tests
// can put a fake server in its place and produce on demand what a real one produces only by
// chance (an answer that comes late or never, a connection that breaks with commands on the
// wire, a reconnect while requests wait). The real implementation (libnbd_api.cpp) passes each
// call straight through to libnbd.
//
// Threads: every call runs on the reactor that owns the handle, and so do the callbacks (libnbd
// runs them inside notify_read/notify_write and close).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vhostd::block {

// An opaque connection (libnbd's nbd_handle).
struct NbdHandle;

// A command's two callbacks, as libnbd takes them: `answered` when the server's reply
// arrives (error: 0 or an errno; return 1 to retire the command), then `released` exactly once
// per issued command, also when the handle is closed with the command unanswered.
struct NbdCallback {
    int (*answered)(void* user_data, int* error) = nullptr;
    void* user_data = nullptr;
    void (*released)(void* user_data) = nullptr;
};

// What the handle waits for on its fd (libnbd's LIBNBD_AIO_DIRECTION_*).
inline constexpr unsigned kNbdWantsRead = 1;
inline constexpr unsigned kNbdWantsWrite = 2;

class NbdApi {
  public:
    virtual ~NbdApi() = default;

    // The last failure on this thread: errno-style code (0: unknown) and message.
    [[nodiscard]] virtual int last_errno() const = 0;
    [[nodiscard]] virtual std::string last_error() const = 0;

    // A new handle (nullptr on failure), set to ask for structured replies.
    virtual NbdHandle* create() = 0;
    // Starts connecting; -1 on failure.
    virtual int connect_uri(NbdHandle* h, const std::string& uri) = 0;
    // Releases every command still on the handle (their `released` runs inside), then frees it.
    virtual void close(NbdHandle* h) = 0;

    [[nodiscard]] virtual int fd(NbdHandle* h) = 0;  // < 0: no socket yet
    [[nodiscard]] virtual unsigned direction(NbdHandle* h) = 0;
    // The fd is ready: let the handle read / write (callbacks may run inside); -1 on failure.
    virtual int notify_read(NbdHandle* h) = 0;
    virtual int notify_write(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool is_ready(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool is_dead_or_closed(NbdHandle* h) = 0;

    // The export, once ready.
    [[nodiscard]] virtual int64_t size(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool is_read_only(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool can_flush(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool can_trim(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool can_zero(NbdHandle* h) = 0;
    [[nodiscard]] virtual bool can_multi_conn(NbdHandle* h) = 0;
    [[nodiscard]] virtual int64_t preferred_block_size(NbdHandle* h) = 0;

    // Commands: a cookie, or -1 if the command was not issued (then no callback runs).
    virtual int64_t pread(NbdHandle* h, void* buf, size_t count, uint64_t offset,
                          NbdCallback cb) = 0;
    virtual int64_t pwrite(NbdHandle* h, const void* buf, size_t count, uint64_t offset,
                           NbdCallback cb) = 0;
    virtual int64_t flush(NbdHandle* h, NbdCallback cb) = 0;
    virtual int64_t trim(NbdHandle* h, uint64_t count, uint64_t offset, NbdCallback cb) = 0;
    virtual int64_t zero(NbdHandle* h, uint64_t count, uint64_t offset, NbdCallback cb) = 0;
};

// libnbd itself (one shared instance: it holds no state).
[[nodiscard]] std::shared_ptr<NbdApi> libnbd_api();

}  // namespace vhostd::block
