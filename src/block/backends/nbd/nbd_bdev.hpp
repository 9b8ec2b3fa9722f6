// NBD client bdev: a disk exported by an NBD server (qemu-nbd, nbdkit, a storage appliance)
// served through libnbd, each channel with its own connection driven by its reactor. Created
// asynchronously: bdev_nbd_client_create connects once to learn the export's size and
// capabilities, and answers only then (or with the reason it could not).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "block/bdev.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

struct ModuleContext;  // block/bdev_rpc.hpp

// Registers bdev_nbd_client_create and bdev_nbd_client_delete (nbd_rpc.cpp).
void register_nbd_module(ModuleContext& context);

struct NbdParams {
    std::string name;
    std::string uri;           // nbd://host:port/export, nbd+unix:///export?socket=PATH, nbds://...
    uint32_t block_size = 0;   // 0: the server's preferred block size, at least 512
    uint32_t connections = 0;  // most channels (reactors) with a connection each; 0: no limit
    uint32_t io_timeout_ms = 30'000;
    std::string uuid;
};

using NbdCreated = std::move_only_function<void(Result<std::shared_ptr<Bdev>>)>;

// Connects to params.uri on `control` (its thread), then creates the bdev. `done` runs on the
// control reactor, within io_timeout_ms.
void bdev_nbd_client_create(reactor::Reactor& control, NbdParams params, NbdCreated done);

}  // namespace vhostd::block
