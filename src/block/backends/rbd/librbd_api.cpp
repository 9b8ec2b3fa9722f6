// The real RbdApi: librados and librbd's C interfaces, call for call.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "base/log.hpp"
#include "block/backends/rbd/rbd_api.hpp"

namespace vhostd::block {
namespace {

struct Watch {
    std::function<void()> changed;
};

// An opened image, the pool context it was opened from (the ioctx must outlive it) and its
// header watch (one per image; the backend sets it up and takes it down in its open and close
// jobs, so no two threads touch it at once).
struct Image {
    rados_ioctx_t ioctx = nullptr;
    rbd_image_t image = nullptr;
    std::unique_ptr<Watch> watch;
};

std::unexpected<Error> rados_error(int rc, std::string what) {
    return std::unexpected(Error{-rc, std::move(what)});
}

// The librados options that bound how long a call may wait for the cluster. client_mount_timeout
// bounds rados_connect; the op timeouts make every monitor and OSD operation (so every librbd
// call and every aio) fail with ETIMEDOUT instead of waiting for a cluster that does not answer.
constexpr const char* kTimeoutOptions[] = {"client_mount_timeout", "rados_mon_op_timeout",
                                           "rados_osd_op_timeout"};
// Their defaults: a value still equal to it was not set by the file.
constexpr const char* kTimeoutDefaults[] = {"300", "0", "0"};

void librbd_done(rbd_completion_t completion, void* arg) {
    const int64_t result = rbd_aio_get_return_value(completion);
    rbd_aio_release(completion);
    rbd_io_done(arg, result);
}

void watch_changed(void* arg) {
    static_cast<Watch*>(arg)->changed();
}

class LibrbdApi final : public RbdApi {
  public:
    Result<RadosConnection*> connect(const RadosConfig& config) override {
        rados_t cluster = nullptr;
        int rc = rados_create(&cluster, config.user_id.empty() ? nullptr : config.user_id.c_str());
        if (rc < 0) {
            return rados_error(rc, "rados_create");
        }
        auto fail = [&](int code, std::string what) {
            rados_shutdown(cluster);
            return rados_error(code, std::move(what));
        };
        if (config.read_config_file) {
            rc = rados_conf_read_file(
                cluster, config.config_file.empty() ? nullptr : config.config_file.c_str());
            // SPDK: the default search may find nothing; a named file must be readable.
            if (rc < 0 && !config.config_file.empty()) {
                return fail(rc, "cannot read the Ceph config file " + config.config_file);
            }
        }
        for (const auto& [key, value] : config.config) {
            rc = rados_conf_set(cluster, key.c_str(), value.c_str());
            if (rc < 0) {
                return fail(rc, fmt::format("Ceph option {} = {}", key, value));
            }
        }
        if (!config.key_file.empty()) {
            rc = rados_conf_set(cluster, "keyring", config.key_file.c_str());
            if (rc < 0) {
                return fail(rc, "keyring " + config.key_file);
            }
        }
        const std::string timeout = std::to_string(config.timeout_s);
        for (size_t i = 0; i < std::size(kTimeoutOptions); ++i) {
            char value[64] = {};
            const bool in_config =
                std::any_of(config.config.begin(), config.config.end(),
                            [&](const auto& kv) { return kv.first == kTimeoutOptions[i]; });
            if (in_config ||
                (rados_conf_get(cluster, kTimeoutOptions[i], value, sizeof(value)) == 0 &&
                 std::strcmp(value, kTimeoutDefaults[i]) != 0)) {
                continue;  // the operator chose a value
            }
            rc = rados_conf_set(cluster, kTimeoutOptions[i], timeout.c_str());
            if (rc < 0) {
                return fail(rc, std::string("Ceph option ") + kTimeoutOptions[i]);
            }
        }
        rc = rados_connect(cluster);
        if (rc < 0) {
            return fail(rc, "cannot connect to the Ceph cluster");
        }
        return reinterpret_cast<RadosConnection*>(cluster);
    }

    void disconnect(RadosConnection* cluster) override {
        rados_shutdown(reinterpret_cast<rados_t>(cluster));
    }

    Result<RbdImage*> open(RadosConnection* cluster, const std::string& pool,
                           const std::string& name, bool read_only) override {
        auto image = std::make_unique<Image>();
        int rc =
            rados_ioctx_create(reinterpret_cast<rados_t>(cluster), pool.c_str(), &image->ioctx);
        if (rc < 0) {
            return rados_error(rc, "pool " + pool);
        }
        rc = read_only ? rbd_open_read_only(image->ioctx, name.c_str(), &image->image, nullptr)
                       : rbd_open(image->ioctx, name.c_str(), &image->image, nullptr);
        if (rc < 0) {
            rados_ioctx_destroy(image->ioctx);
            return rados_error(rc, "image " + pool + "/" + name);
        }
        return reinterpret_cast<RbdImage*>(image.release());
    }

    void close(RbdImage* handle) override {
        std::unique_ptr<Image> image(reinterpret_cast<Image*>(handle));
        const int rc = rbd_close(image->image);
        if (rc < 0) {
            LOG_WARN(block, "rbd_close: {}", std::strerror(-rc));
        }
        rados_ioctx_destroy(image->ioctx);
    }

    Result<uint64_t> size(RbdImage* handle) override {
        uint64_t bytes = 0;
        const int rc = rbd_get_size(reinterpret_cast<Image*>(handle)->image, &bytes);
        if (rc < 0) {
            return rados_error(rc, "rbd_get_size");
        }
        return bytes;
    }

    Result<void> resize(RbdImage* handle, uint64_t bytes) override {
        const int rc = rbd_resize(reinterpret_cast<Image*>(handle)->image, bytes);
        if (rc < 0) {
            return rados_error(rc, "rbd_resize");
        }
        return {};
    }

    Result<uint64_t> watch(RbdImage* handle, std::function<void()> changed) override {
        auto* image = reinterpret_cast<Image*>(handle);
        auto watch = std::make_unique<Watch>(Watch{std::move(changed)});
        uint64_t id = 0;
        const int rc = rbd_update_watch(image->image, &id, &watch_changed, watch.get());
        if (rc < 0) {
            return rados_error(rc, "rbd_update_watch");
        }
        image->watch = std::move(watch);
        return id;
    }

    void unwatch(RbdImage* handle, uint64_t id) override {
        auto* image = reinterpret_cast<Image*>(handle);
        rbd_update_unwatch(image->image, id);  // no callback runs after it returns
        image->watch.reset();
    }

    int submit(RbdImage* handle, const RbdIo& io, void* arg) noexcept override {
        rbd_image_t image = reinterpret_cast<Image*>(handle)->image;
        rbd_completion_t completion = nullptr;
        int rc = rbd_aio_create_completion(arg, &librbd_done, &completion);
        if (rc < 0) {
            return rc;
        }
        switch (io.type) {
            case IoType::read:
                rc = rbd_aio_readv(image, io.iov, io.iovcnt, io.offset, completion);
                break;
            case IoType::write:
                rc = rbd_aio_writev(image, io.iov, io.iovcnt, io.offset, completion);
                break;
            case IoType::flush:
                rc = rbd_aio_flush(image, completion);
                break;
            case IoType::discard:
                rc = rbd_aio_discard(image, io.offset, io.length, completion);
                break;
            case IoType::write_zeroes:
                rc = rbd_aio_write_zeroes(image, io.offset, io.length, completion, 0, 0);
                break;
        }
        if (rc < 0) {
            rbd_aio_release(completion);
        }
        return rc;
    }
};

}  // namespace

std::shared_ptr<RbdApi> make_librbd_api() {
    return std::make_shared<LibrbdApi>();
}

}  // namespace vhostd::block
