// FakeNbdApi: an NbdApi whose server is the test. Connections succeed, are refused or hang as
// the test says; commands wait in a list until the test answers them, in any order, with any
// error, or drops the connection under them: the orderings a real server produces only by
// chance. Like libnbd, it runs callbacks only inside notify_read (the reactor saw the handle's
// fd readable: the test's answers make it so) and close (every unanswered command released).
// Single-threaded: the test drives the reactor on its own thread.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

#include "base/unique_fd.hpp"
#include "block/backends/nbd/nbd_api.hpp"

namespace vhostd::testing {

class FakeNbdApi final : public block::NbdApi {
  public:
    enum class Connect : uint8_t { ok, refuse, hang };
    struct Command {
        char kind = 'r';  // r(ead), w(rite), f(lush), t(rim), z(ero)
        uint64_t offset = 0;
        uint64_t count = 0;
        int64_t cookie = 0;
        block::NbdCallback callback;
    };

    // --- the test's side ---
    Connect connect = Connect::ok;  // what the next connection attempts do
    int64_t export_size = 64 << 20;

    [[nodiscard]] size_t connects() const { return connects_; }
    [[nodiscard]] size_t closes() const { return closes_; }
    [[nodiscard]] bool connected() const { return live_ != nullptr && live_->ready; }
    // Commands issued on the live connection and not answered yet, in issue order.
    [[nodiscard]] size_t pending() const { return live_ == nullptr ? 0 : live_->commands.size(); }
    [[nodiscard]] const Command& command(size_t i) const { return live_->commands.at(i); }
    // The server answers the i-th pending command (0 or an errno); it arrives when the reactor
    // next polls the fd.
    void answer(size_t i, int error = 0) {
        live_->answers.emplace_back(live_->commands.at(i).cookie, error);
        signal(*live_);
    }
    // The server goes away: the live connection reports an error at its next poll.
    void drop() {
        live_->dead = true;
        signal(*live_);
    }

    // --- NbdApi ---
    [[nodiscard]] int last_errno() const override { return errno_; }
    [[nodiscard]] std::string last_error() const override { return error_; }

    block::NbdHandle* create() override {
        auto* h = new Handle;
        h->event.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        live_ = h;
        return reinterpret_cast<block::NbdHandle*>(h);
    }
    int connect_uri(block::NbdHandle* h, const std::string& /*uri*/) override {
        ++connects_;
        switch (connect) {
            case Connect::refuse:
                return fail(ECONNREFUSED, "connection refused (fake)");
            case Connect::ok:
                of(h).ready = true;
                break;
            case Connect::hang:
                break;
        }
        return 0;
    }
    void close(block::NbdHandle* h) override {
        Handle* handle = &of(h);
        ++closes_;
        if (live_ == handle) {
            live_ = nullptr;
        }
        for (const Command& c : std::exchange(handle->commands, {})) {
            c.callback.released(c.callback.user_data);
        }
        delete handle;
    }

    int fd(block::NbdHandle* h) override { return of(h).event.get(); }
    unsigned direction(block::NbdHandle* /*h*/) override { return block::kNbdWantsRead; }
    int notify_read(block::NbdHandle* h) override {
        Handle& handle = of(h);
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = ::read(handle.event.get(), &count, sizeof(count));
        if (handle.dead) {
            return fail(ECONNRESET, "server closed the connection (fake)");
        }
        for (auto [cookie, error] : std::exchange(handle.answers, {})) {
            for (size_t i = 0; i < handle.commands.size(); ++i) {
                if (handle.commands[i].cookie == cookie) {
                    const Command c = handle.commands[i];
                    handle.commands.erase(handle.commands.begin() + static_cast<ptrdiff_t>(i));
                    int e = error;
                    c.callback.answered(c.callback.user_data, &e);
                    c.callback.released(c.callback.user_data);
                    break;
                }
            }
        }
        return 0;
    }
    int notify_write(block::NbdHandle* /*h*/) override { return 0; }
    bool is_ready(block::NbdHandle* h) override { return of(h).ready && !of(h).dead; }
    bool is_dead_or_closed(block::NbdHandle* h) override { return of(h).dead; }

    int64_t size(block::NbdHandle* /*h*/) override { return export_size; }
    bool is_read_only(block::NbdHandle* /*h*/) override { return false; }
    bool can_flush(block::NbdHandle* /*h*/) override { return true; }
    bool can_trim(block::NbdHandle* /*h*/) override { return true; }
    bool can_zero(block::NbdHandle* /*h*/) override { return true; }
    bool can_multi_conn(block::NbdHandle* /*h*/) override { return true; }
    int64_t preferred_block_size(block::NbdHandle* /*h*/) override { return 512; }

    int64_t pread(block::NbdHandle* h, void* /*buf*/, size_t count, uint64_t offset,
                  block::NbdCallback cb) override {
        return issue(h, 'r', offset, count, cb);
    }
    int64_t pwrite(block::NbdHandle* h, const void* /*buf*/, size_t count, uint64_t offset,
                   block::NbdCallback cb) override {
        return issue(h, 'w', offset, count, cb);
    }
    int64_t flush(block::NbdHandle* h, block::NbdCallback cb) override {
        return issue(h, 'f', 0, 0, cb);
    }
    int64_t trim(block::NbdHandle* h, uint64_t count, uint64_t offset,
                 block::NbdCallback cb) override {
        return issue(h, 't', offset, count, cb);
    }
    int64_t zero(block::NbdHandle* h, uint64_t count, uint64_t offset,
                 block::NbdCallback cb) override {
        return issue(h, 'z', offset, count, cb);
    }

  private:
    struct Handle {
        UniqueFd event;
        bool ready = false;
        bool dead = false;
        std::vector<Command> commands;
        std::vector<std::pair<int64_t, int>> answers;  // cookie, error
    };

    static Handle& of(block::NbdHandle* h) { return *reinterpret_cast<Handle*>(h); }
    static void signal(Handle& h) {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(h.event.get(), &one, sizeof(one));
    }
    int fail(int code, std::string message) {
        errno_ = code;
        error_ = std::move(message);
        return -1;
    }
    int64_t issue(block::NbdHandle* h, char kind, uint64_t offset, uint64_t count,
                  block::NbdCallback cb) {
        Handle& handle = of(h);
        if (!handle.ready || handle.dead) {
            return fail(ENOTCONN, "not connected (fake)");
        }
        handle.commands.push_back(Command{
            .kind = kind, .offset = offset, .count = count, .cookie = ++cookies_, .callback = cb});
        return cookies_;
    }

    Handle* live_ = nullptr;  // the newest handle not closed
    size_t connects_ = 0;
    size_t closes_ = 0;
    int64_t cookies_ = 0;
    int errno_ = 0;
    std::string error_;
};

}  // namespace vhostd::testing
