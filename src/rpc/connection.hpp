// Connection: one JSON-RPC client on the control reactor. Requests are cut from the byte stream
// by JsonStream, dispatched through the MethodTable, and answered (possibly later, possibly out
// of order) through a bounded output queue written without blocking.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/unique_fd.hpp"
#include "reactor/reactor.hpp"
#include "rpc/json_stream.hpp"
#include "rpc/method_table.hpp"
#include "rpc/request.hpp"

namespace vhostd::rpc {

class Connection : public std::enable_shared_from_this<Connection> {
  public:
    // Requests of one client being served at once; more wait in the input buffer, so a client
    // cannot queue unbounded work.
    static constexpr unsigned kMaxOutstanding = 16;
    // Above this much unsent output the connection stops taking new requests until the client
    // reads (a slow reader holds at most this plus one response).
    static constexpr size_t kMaxPendingOutput = 1024 * 1024;

    using ClosedCallback = std::function<void(Connection&)>;

    Connection(reactor::Reactor& control, UniqueFd fd, const MethodTable& methods,
               ClosedCallback on_closed);
    ~Connection();

    Result<void> start();
    // Drops the client now: unanswered calls are answered into the void when they finish.
    void close();
    [[nodiscard]] bool closed() const { return !fd_; }

  private:
    void on_events(uint32_t events);
    void read_available();
    void process_buffered();
    void dispatch(Request request);
    void dispatch_batch(Batch batch);
    // After an answer: take more requests, close if the client is done, re-arm the watch.
    void after_reply();
    void answer(const nlohmann::json& id, const RpcResult& result);
    // Queues one response (an object, or a batch's array) and starts sending it.
    void send_response(const nlohmann::json& response);
    void fail(const RequestFailure& failure);
    void flush();
    void update_interest();
    bool accepting_requests() const;

    reactor::Reactor& control_;
    UniqueFd fd_;
    const MethodTable& methods_;
    ClosedCallback on_closed_;
    std::optional<reactor::Reactor::FdId> watch_;
    uint32_t interest_ = 0;
    JsonStream input_;
    std::string output_;
    size_t output_sent_ = 0;
    unsigned outstanding_ = 0;
    bool processing_ = false;
    bool peer_done_ = false;       // the client shut down its sending side
    bool close_on_flush_ = false;  // after a parse error: say why, then hang up
};

}  // namespace vhostd::rpc
