// ServerHarness: a vfio_user::Server over a FakeFunction on its own reactor thread, so that a
// test can drive it with a blocking client (the frontend's VfioUserClient or raw sockets) from
// the test thread. The function and the server are touched only on the reactor, through
// on_reactor(); wait_until() polls a condition there, bounded.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "reactor/reactor.hpp"
#include "support/vfio_user_fakes.hpp"
#include "vfio_user/server.hpp"

namespace vhostd::vfio_user::testing {

class ServerHarness {
  public:
    explicit ServerHarness(ServerOptions options = {}) {
        char dir[] = "/tmp/vhostd-vfu-XXXXXX";
        EXPECT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
        path_ = dir_ + "/cntrl";
        auto r = reactor::Reactor::create(0, reactor::ReactorOptions{reactor::PollMode::never});
        EXPECT_TRUE(r);
        reactor_ = std::move(*r);
        auto s = Server::create(*reactor_, path_, function_, std::move(options));
        EXPECT_TRUE(s) << (s ? "" : s.error().describe());
        if (s) {
            server_ = std::move(*s);
        }
        thread_ = std::thread([this] { reactor_->run(); });
    }

    ServerHarness(const ServerHarness&) = delete;
    ServerHarness& operator=(const ServerHarness&) = delete;

    [[nodiscard]] const std::string& path() const { return path_; }

    // Runs `fn` on the reactor thread and returns what it returns.
    template <class F>
    auto on_reactor(F&& fn) {
        using R = std::invoke_result_t<F&>;
        if constexpr (std::is_void_v<R>) {
            reactor::run_sync(*reactor_, [&] { fn(); });
        } else {
            std::optional<R> out;
            reactor::run_sync(*reactor_, [&] { out.emplace(fn()); });
            return std::move(*out);
        }
    }

    // Polls `pred` on the reactor until it holds; false after `timeout`.
    template <class Pred>
    bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!on_reactor([&] { return static_cast<bool>(pred()); })) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }

    ~ServerHarness() {
        bool shut = false;
        on_reactor([&] {
            if (server_) {
                server_->shutdown([&shut] { shut = true; });
            } else {
                shut = true;
            }
        });
        EXPECT_TRUE(wait_until([&] { return shut; }));
        on_reactor([&] { server_.reset(); });
        reactor_->request_stop();
        reactor_->post([] {});  // wake the loop
        thread_.join();
        reactor_.reset();
        std::filesystem::remove_all(dir_);
    }
    // Reactor thread only (inside on_reactor / wait_until).
    FakeFunction& function() { return function_; }
    Server& server() { return *server_; }

  private:
    std::string dir_;
    std::string path_;
    FakeFunction function_;
    std::unique_ptr<reactor::Reactor> reactor_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
};

}  // namespace vhostd::vfio_user::testing
