// Connection: reading, framing, dispatch and non-blocking answers for one client.
#include "rpc/connection.hpp"

#include <array>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.hpp"

namespace vhostd::rpc {

Connection::Connection(reactor::Reactor& control, UniqueFd fd, const MethodTable& methods,
                       ClosedCallback on_closed)
    : control_(control), fd_(std::move(fd)), methods_(methods), on_closed_(std::move(on_closed)) {}

Connection::~Connection() {
    if (watch_) {
        control_.unwatch_fd(*watch_);
    }
}

Result<void> Connection::start() {
    update_interest();
    if (!watch_) {
        return make_error(EIO, "cannot watch the RPC connection");
    }
    return {};
}

void Connection::close() {
    if (!fd_) {
        return;
    }
    if (watch_) {
        control_.unwatch_fd(*watch_);
        watch_.reset();
    }
    fd_.reset();
    if (on_closed_) {
        on_closed_(*this);  // may drop the server's reference; callers hold their own
    }
}

bool Connection::accepting_requests() const {
    return !close_on_flush_ && outstanding_ < kMaxOutstanding &&
           output_.size() - output_sent_ < kMaxPendingOutput;
}

// Level-triggered epoll: ask for input only while requests are taken, for output only while
// some is pending, so that neither a silent nor a non-reading client makes the reactor spin.
void Connection::update_interest() {
    if (!fd_) {
        return;
    }
    uint32_t wanted = 0;
    if (accepting_requests() && !peer_done_) {
        wanted |= EPOLLIN;
    }
    if (output_sent_ < output_.size()) {
        wanted |= EPOLLOUT;
    }
    if (watch_ && wanted == interest_) {
        return;
    }
    if (watch_) {
        control_.unwatch_fd(*watch_);
        watch_.reset();
    }
    interest_ = wanted;
    auto watch = control_.watch_fd(fd_.get(), wanted | EPOLLRDHUP,
                                   [this](uint32_t events) { on_events(events); });
    if (!watch) {
        LOG_RATELIMITED(rpc, err, "RPC connection: {}", watch.error().message);
        close();
        return;
    }
    watch_ = *watch;
}

void Connection::on_events(uint32_t events) {
    auto self = shared_from_this();  // a reply or close below may drop the server's reference
    if ((events & EPOLLERR) != 0) {
        close();
        return;
    }
    if ((events & EPOLLOUT) != 0) {
        flush();
    }
    if (!closed() && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) {
        read_available();
    }
    update_interest();
}

void Connection::read_available() {
    std::array<char, size_t{64} * 1024> chunk;
    // Bounded: a few reads per wake-up so one chatty client cannot starve the others.
    for (int round = 0; round < 4 && accepting_requests() && !peer_done_; ++round) {
        const ssize_t n = ::recv(fd_.get(), chunk.data(), chunk.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                break;
            }
            close();
            return;
        }
        if (n == 0) {
            peer_done_ = true;  // answer what was sent, then hang up
            break;
        }
        input_.append(std::string_view(chunk.data(), static_cast<size_t>(n)));
        process_buffered();
        if (closed()) {
            return;
        }
    }
    if (peer_done_) {
        process_buffered();
        if (!closed() && outstanding_ == 0 && output_sent_ == output_.size()) {
            close();
        }
    }
}

void Connection::process_buffered() {
    // A method that answers at once re-enters here through its reply; the outer loop carries
    // on instead, so a read holding many requests does not recurse once per request.
    if (processing_) {
        return;
    }
    processing_ = true;
    struct Reset {
        bool& flag;
        ~Reset() { flag = false; }
    } reset{processing_};
    while (!closed() && accepting_requests()) {
        switch (input_.next()) {
            case JsonStream::Status::incomplete:
                return;
            case JsonStream::Status::garbage:
                fail(RequestFailure{RpcError{code::kParseError, "Parse error"}, nullptr, true});
                return;
            case JsonStream::Status::too_large:
                fail(RequestFailure{RpcError{code::kInvalidRequest,
                                             fmt::format("Invalid request: larger than {} bytes",
                                                         JsonStream::kMaxValueBytes)},
                                    nullptr, true});
                return;
            case JsonStream::Status::value:
                break;
        }
        auto message = decode_message(input_.value());
        if (!message) {
            fail(message.error());
            continue;
        }
        if (auto* batch = std::get_if<Batch>(&*message)) {
            dispatch_batch(std::move(*batch));
        } else {
            dispatch(std::move(std::get<Request>(*message)));
        }
    }
}

void Connection::dispatch_batch(Batch batch) {
    // One outstanding unit for the whole batch: its answer is one array, written when the
    // last call with an id has answered (calls may answer in any order, or at once).
    struct Pending {
        std::vector<std::optional<nlohmann::json>> responses;
        size_t remaining = 1;  // released after the loop, so no call can finish it early
    };
    auto pending = std::make_shared<Pending>();
    pending->responses.resize(batch.items.size());
    ++outstanding_;
    std::weak_ptr<Connection> weak = weak_from_this();
    auto finish_one = [weak, pending] {
        if (--pending->remaining != 0) {
            return;
        }
        auto self = weak.lock();
        if (!self) {
            return;
        }
        --self->outstanding_;
        nlohmann::json answers = nlohmann::json::array();
        for (auto& r : pending->responses) {
            if (r) {
                answers.push_back(std::move(*r));
            }
        }
        // JSON-RPC 2.0 section 6: a batch of notifications only is answered with nothing.
        if (!answers.empty()) {
            self->send_response(answers);
        }
        self->after_reply();
    };
    for (size_t i = 0; i < batch.items.size(); ++i) {
        auto& item = batch.items[i];
        if (!item) {
            pending->responses[i] =
                response_object(item.error().id, std::unexpected(item.error().error));
            continue;
        }
        Request& request = *item;
        const nlohmann::json* params = request.params ? &*request.params : nullptr;
        const bool answered = request.id.has_value();
        if (answered) {
            ++pending->remaining;
        }
        LOG_DEBUG(rpc, "RPC call {} (in a batch)", request.method);
        methods_.call(request.method, params,
                      [pending, i, answered, finish_one,
                       id = std::move(request.id)](RpcResult result) mutable {
                          if (answered) {
                              pending->responses[i] = response_object(*id, result);
                              finish_one();
                          }
                      });
    }
    finish_one();
}

void Connection::after_reply() {
    if (closed()) {
        return;
    }
    process_buffered();
    if (peer_done_ && outstanding_ == 0 && output_sent_ == output_.size()) {
        close();
        return;
    }
    update_interest();
}

void Connection::fail(const RequestFailure& failure) {
    LOG_RATELIMITED(rpc, warn, "RPC client: {}{}", failure.error.message,
                    failure.close ? "; closing the connection" : "");
    answer(failure.id, std::unexpected(failure.error));
    if (failure.close) {
        close_on_flush_ = true;  // JSON on a stream has no resync point after garbage
        flush();
    }
}

void Connection::dispatch(Request request) {
    ++outstanding_;
    LOG_DEBUG(rpc, "RPC call {}", request.method);
    const nlohmann::json* params = request.params ? &*request.params : nullptr;
    // The reply may come after the client has gone: it then finds the connection closed (or
    // destroyed) and is dropped.
    std::weak_ptr<Connection> weak = weak_from_this();
    methods_.call(request.method, params,
                  [weak, id = std::move(request.id)](RpcResult result) mutable {
                      auto self = weak.lock();
                      if (!self) {
                          return;
                      }
                      --self->outstanding_;
                      if (id) {  // JSON-RPC 2.0 section 4.1: notifications are not answered
                          self->answer(*id, result);
                      }
                      self->after_reply();
                  });
}

void Connection::answer(const nlohmann::json& id, const RpcResult& result) {
    send_response(response_object(id, result));
}

void Connection::send_response(const nlohmann::json& response) {
    if (closed()) {
        return;
    }
    if (output_sent_ == output_.size()) {
        output_.clear();
        output_sent_ = 0;
    }
    output_ += encode_json_line(response);
    flush();
}

void Connection::flush() {
    while (!closed() && output_sent_ < output_.size()) {
        const ssize_t n = ::send(fd_.get(), output_.data() + output_sent_,
                                 output_.size() - output_sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return;  // EPOLLOUT resumes
            }
            close();
            return;
        }
        output_sent_ += static_cast<size_t>(n);
    }
    if (closed()) {
        return;
    }
    if (output_sent_ == output_.size()) {
        output_.clear();
        output_sent_ = 0;
        if (close_on_flush_) {
            close();
        }
    }
}

}  // namespace vhostd::rpc
