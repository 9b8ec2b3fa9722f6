// LibNbdApi: NbdApi straight through to libnbd.
#include <libnbd.h>

#include "block/backends/nbd/nbd_api.hpp"

namespace vhostd::block {
namespace {

// NbdHandle is libnbd's nbd_handle under another name: the pointer only ever goes back to libnbd.
nbd_handle* raw(NbdHandle* h) {
    return reinterpret_cast<nbd_handle*>(h);
}

nbd_completion_callback callback(NbdCallback cb) {
    return {.callback = cb.answered, .user_data = cb.user_data, .free = cb.released};
}

class LibNbdApi final : public NbdApi {
  public:
    [[nodiscard]] int last_errno() const override { return nbd_get_errno(); }
    [[nodiscard]] std::string last_error() const override {
        const char* message = nbd_get_error();
        return message != nullptr ? message : "unknown error";
    }

    NbdHandle* create() override {
        nbd_handle* h = nbd_create();
        if (h != nullptr) {
            // Structured replies (libnbd's default): reads may come back in chunks and errors
            // are reported per command.
            nbd_set_request_structured_replies(h, true);
        }
        return reinterpret_cast<NbdHandle*>(h);
    }
    int connect_uri(NbdHandle* h, const std::string& uri) override {
        return nbd_aio_connect_uri(raw(h), uri.c_str());
    }
    void close(NbdHandle* h) override { nbd_close(raw(h)); }

    int fd(NbdHandle* h) override { return nbd_aio_get_fd(raw(h)); }
    unsigned direction(NbdHandle* h) override {
        const unsigned d = nbd_aio_get_direction(raw(h));
        return ((d & LIBNBD_AIO_DIRECTION_READ) != 0 ? kNbdWantsRead : 0) |
               ((d & LIBNBD_AIO_DIRECTION_WRITE) != 0 ? kNbdWantsWrite : 0);
    }
    int notify_read(NbdHandle* h) override { return nbd_aio_notify_read(raw(h)); }
    int notify_write(NbdHandle* h) override { return nbd_aio_notify_write(raw(h)); }
    bool is_ready(NbdHandle* h) override { return nbd_aio_is_ready(raw(h)) == 1; }
    bool is_dead_or_closed(NbdHandle* h) override {
        return nbd_aio_is_dead(raw(h)) == 1 || nbd_aio_is_closed(raw(h)) == 1;
    }

    int64_t size(NbdHandle* h) override { return nbd_get_size(raw(h)); }
    bool is_read_only(NbdHandle* h) override { return nbd_is_read_only(raw(h)) == 1; }
    bool can_flush(NbdHandle* h) override { return nbd_can_flush(raw(h)) == 1; }
    bool can_trim(NbdHandle* h) override { return nbd_can_trim(raw(h)) == 1; }
    bool can_zero(NbdHandle* h) override { return nbd_can_zero(raw(h)) == 1; }
    bool can_multi_conn(NbdHandle* h) override { return nbd_can_multi_conn(raw(h)) == 1; }
    int64_t preferred_block_size(NbdHandle* h) override {
        return nbd_get_block_size(raw(h), LIBNBD_SIZE_PREFERRED);
    }

    int64_t pread(NbdHandle* h, void* buf, size_t count, uint64_t offset, NbdCallback cb) override {
        return nbd_aio_pread(raw(h), buf, count, offset, callback(cb), 0);
    }
    int64_t pwrite(NbdHandle* h, const void* buf, size_t count, uint64_t offset,
                   NbdCallback cb) override {
        return nbd_aio_pwrite(raw(h), buf, count, offset, callback(cb), 0);
    }
    int64_t flush(NbdHandle* h, NbdCallback cb) override {
        return nbd_aio_flush(raw(h), callback(cb), 0);
    }
    int64_t trim(NbdHandle* h, uint64_t count, uint64_t offset, NbdCallback cb) override {
        return nbd_aio_trim(raw(h), count, offset, callback(cb), 0);
    }
    int64_t zero(NbdHandle* h, uint64_t count, uint64_t offset, NbdCallback cb) override {
        return nbd_aio_zero(raw(h), count, offset, callback(cb), 0);
    }
};

}  // namespace

std::shared_ptr<NbdApi> libnbd_api() {
    static const std::shared_ptr<NbdApi> api = std::make_shared<LibNbdApi>();
    return api;
}

}  // namespace vhostd::block
