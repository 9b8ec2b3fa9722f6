// Session: the vfio-user protocol state machine for one client connection, without any socket:
// the negotiated version and capabilities, the DMA table, and the PCI function it drives. The
// environment is passed in (the pci::Function; options), so tests and the fuzzer run it alone.
//
// Commands are handled one at a time, in order (spec "Command Concurrency"). Most complete at
// once; DMA_MAP and DMA_UNMAP that change what the device can reach wait for
// Function::set_memory's `done`, DEVICE_RESET for Function::reset's. The caller hands over the
// next command only after the previous one's `done` has run. Everything runs on the control
// reactor's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "guest_memory/guest_memory.hpp"
#include "pci/function.hpp"
#include "uds/teardown.hpp"
#include "vfio_user/capabilities.hpp"
#include "vfio_user/dma_table.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

class Session {
  public:
    struct Options {
        std::string name = "vfio-user";  // prefixes log lines (the socket path)
    };

    // How a command ended, for the connection.
    struct Response {
        std::optional<Message> reply;  // to send (none with No_reply)
        bool close = false;            // close the connection (after sending the reply)
    };
    using Done = std::move_only_function<void(Response)>;

    Session(pci::Function& function, Options options);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Handles one command. `done` runs exactly once: before handle() returns if the command
    // completes at once, otherwise later, from the function's callback. No other command may
    // be handed over until then. The message's fds are closed unless the command keeps them.
    void handle(Message request, Done done);
    // A command is in progress (waiting for the function).
    [[nodiscard]] bool busy() const { return current_.has_value(); }

    // The client is gone. Once the command in progress (if any) has completed, resets the
    // function, hands it the empty memory table, and forgets the DMA table (every mapping and
    // fd goes once the function has let go of them), then calls `done` (possibly before
    // disconnect() returns). The session takes no more commands.
    void disconnect(std::move_only_function<void()> done);

    // --- observers (tests, status reporting) ---
    // VERSION succeeded.
    [[nodiscard]] bool negotiated() const { return negotiated_; }
    [[nodiscard]] const ClientCapabilities& client() const { return client_; }
    [[nodiscard]] const DmaTable& dma() const { return dma_; }
    // What the device may reach (the snapshot last handed to Function::set_memory, or about
    // to be).
    [[nodiscard]] const guest_memory::GuestMemory::Ptr& memory() const { return dma_.memory(); }
    [[nodiscard]] static ServerCapabilities server_capabilities();

  private:
    using Resume = std::move_only_function<void()>;
    // A handler's decision: the reply, sent now, or once the asynchronous function call that
    // `wait` starts has called the Resume it is given.
    struct Step {
        Reply reply;
        std::move_only_function<void(Resume)> wait;
    };
    struct Current {
        Header header;
        Done done;
    };

    void finish(Result<Reply> outcome);
    Result<Step> dispatch(Message& request);
    Result<Step> version(const Message& m);
    Result<Step> dma_map(Message& m);
    Result<Step> dma_unmap(const Message& m);
    Result<Step> device_reset(const Message& m);
    // A step that hands the function the DMA table's new snapshot, then replies.
    Step update_memory(Reply reply);
    void begin_teardown();

    pci::Function& function_;
    Options options_;
    bool negotiated_ = false;
    ClientCapabilities client_;
    DmaTable dma_;

    std::optional<Current> current_;
    Reply pending_reply_;       // the reply of the command waiting for the function
    bool close_after_ = false;  // the command in progress ends the connection

    uds::Teardown teardown_;  // disconnect() calls and the teardown they start

    // Function callbacks hold a weak reference: a session destroyed while one is outstanding
    // (only if its owner skips disconnect()) ignores it instead of touching freed memory.
    std::shared_ptr<Session*> self_;
};

}  // namespace vhostd::vfio_user
