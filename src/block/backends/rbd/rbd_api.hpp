// RbdApi: the librados/librbd calls the RBD backend makes, behind a thin interface so that
// unit tests can put a fake cluster in their place and produce the timings a real cluster does
// not produce on demand (a completion that comes late, or never, or after a newer one). The
// real implementation (librbd_api.cpp) passes each call straight through.
//
// Threads: connect/open/close/size/resize/watch block (seconds, when the cluster is slow) and
// run on worker threads only (RbdWorkers), never on a reactor. submit() does not block and
// runs on the submitting reactor; its completion runs on one of librbd's threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/uio.h>

#include "base/error.hpp"
#include "block/io_request.hpp"

namespace vhostd::block {

// How to reach a cluster: SPDK's bdev_rbd_register_cluster / bdev_rbd_create parameters.
struct RadosConfig {
    std::string user_id;           // "admin" when empty (librados' default)
    std::string config_file;       // empty: librados' default search, a missing file is no error
    bool read_config_file = true;  // false: only `config` (SPDK's bdev_rbd_create with config)
    std::string key_file;          // the keyring, when not in the config
    // rados_conf_set, in order, after the file.
    std::vector<std::pair<std::string, std::string>> config;
    // librados' own timeouts (client_mount_timeout, rados_mon_op_timeout,
    // rados_osd_op_timeout), whole seconds; applied unless the file or `config` sets them.
    uint32_t timeout_s = 30;
};

// Opaque handles (a rados_t; an image with its pool's ioctx).
struct RadosConnection;
struct RbdImage;

// One I/O as librbd takes it; iov points at the request's own iovecs (zero copy).
struct RbdIo {
    IoType type = IoType::read;
    uint64_t offset = 0;
    uint64_t length = 0;
    const iovec* iov = nullptr;
    int iovcnt = 0;
};

// Where every started I/O ends (rbd_channel.cpp): librbd's return value (bytes for reads, 0 for
// the rest, or -errno) for the `arg` given to submit(). Called exactly once per started I/O, on
// a librbd thread (or a fake's). A plain function rather than a pointer per I/O: nothing needs
// to be stored (or allocated) per request to find it.
void rbd_io_done(void* arg, int64_t result) noexcept;

class RbdApi {
  public:
    virtual ~RbdApi() = default;

    // --- blocking: worker threads only ---
    virtual Result<RadosConnection*> connect(const RadosConfig& config) = 0;
    virtual void disconnect(RadosConnection* cluster) = 0;
    virtual Result<RbdImage*> open(RadosConnection* cluster, const std::string& pool,
                                   const std::string& image, bool read_only) = 0;
    // Waits for the image's own in-flight work (not ours: the bdev's channels are drained).
    virtual void close(RbdImage* image) = 0;
    virtual Result<uint64_t> size(RbdImage* image) = 0;
    virtual Result<void> resize(RbdImage* image, uint64_t bytes) = 0;
    // `changed` runs on a librbd thread whenever the image header changes (another client
    // resized it), until unwatch() returns.
    virtual Result<uint64_t> watch(RbdImage* image, std::function<void()> changed) = 0;
    virtual void unwatch(RbdImage* image, uint64_t handle) = 0;

    // --- I/O: any thread, never blocks ---
    // Starts `io`; on 0, rbd_io_done(arg, result) follows exactly once, on a librbd thread (or
    // on the caller's, inside this call, if librbd fails it at once). Returns -errno if the I/O
    // never started (then no rbd_io_done).
    virtual int submit(RbdImage* image, const RbdIo& io, void* arg) noexcept = 0;
};

// The real librados/librbd.
[[nodiscard]] std::shared_ptr<RbdApi> make_librbd_api();

}  // namespace vhostd::block
