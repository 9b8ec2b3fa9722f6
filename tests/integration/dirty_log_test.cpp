// Live migration's dirty log end to end (issue 13 item 4): vhostd and the frontend library
// over a real socket, logging turned on and off on running queues as QEMU does. The bitmap
// must hold every page the device wrote (read data, status bytes, the used ring or the packed
// descriptors written back) and nothing the device only read (request headers, write data);
// with logging off nothing is marked. Split and packed rings, two queues.
#include "frontend/dirty_log.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "spec/virtio.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace fe = frontend;

constexpr uint64_t kBlocks = 16384;  // 8 MiB of 512-byte blocks
constexpr uint64_t kPage = vhost_user::kLogPageSize;

std::set<uint64_t> pages_of(uint64_t gpa, uint64_t len) {
    std::set<uint64_t> pages;
    for (uint64_t p = gpa / kPage; p <= (gpa + len - 1) / kPage; ++p) {
        pages.insert(p);
    }
    return pages;
}

void add(std::set<uint64_t>& to, const std::set<uint64_t>& from) {
    to.insert(from.begin(), from.end());
}

std::string describe(const std::set<uint64_t>& pages) {
    std::string s;
    for (uint64_t p : pages) {
        s += std::to_string(p) + " ";
    }
    return s;
}

class DirtyLogTest : public ::testing::TestWithParam<bool> {
  protected:
    bool packed() const { return GetParam(); }

    VhostdProcess vhostd{
        {.config = make_config(
             json::array({malloc_bdev("Malloc0", kBlocks)}),
             json::array({blk_controller("vhost.0", "Malloc0", {{"packed_ring", GetParam()}})})),
         .sockets = {"vhost.0"}}};

    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }

    fe::BlkClient::Options options() {
        auto o = client_options(vhostd.socket("vhost.0"), 2);
        o.protocol_features |= virtio::bit(vhost_user::protocol_feature::kLogShmfd);
        o.packed = packed();
        return o;
    }

    // One request: a readable header, then `data` (device-writable for a read), then a status
    // byte, each in guest RAM the caller chose. Waits for its completion.
    static uint8_t run(fe::BlkQueue& queue, fe::GuestRam& ram, uint32_t type, uint64_t sector,
                       fe::GuestBuffer header, fe::GuestBuffer data, fe::GuestBuffer status) {
        const fe::blk::RequestHeader h{type, 0, sector};
        std::memcpy(header.host, &h, sizeof(h));
        *status.host = fe::blk::status::kNotWritten;
        const bool in = type == static_cast<uint32_t>(fe::blk::RequestType::in);
        const fe::Segment chain[] = {
            {header.gpa, sizeof(h), false},
            {data.gpa, static_cast<uint32_t>(data.size), in},
            {status.gpa, 1, true},
        };
        EXPECT_TRUE(queue.submit_raw(7, chain));
        queue.kick();
        fe::BlkCompletion done;
        for (int i = 0; i < 1000; ++i) {
            auto n = queue.poll({&done, 1});
            EXPECT_TRUE(n.has_value());
            if (n && *n == 1) {
                return *status.host;
            }
            (void)queue.wait(std::chrono::milliseconds(100));
        }
        ADD_FAILURE() << "no completion";
        (void)ram;
        return 0xee;
    }

    // The pages the rings of `client` may have written: used rings and event areas, and for
    // packed rings the descriptor rings (written back).
    static std::set<uint64_t> ring_pages(fe::BlkClient& client) {
        std::set<uint64_t> pages;
        for (size_t i = 0; i < client.num_queues(); ++i) {
            const fe::DriverQueue& ring = client.queue(i).ring();
            if (ring.packed()) {
                add(pages, pages_of(ring.desc_gpa(), uint64_t{ring.size()} * 16));
                add(pages, pages_of(ring.used_gpa(), virtio::kEventSuppressBytes));
            } else {
                add(pages, pages_of(ring.used_gpa(), virtio::used_ring_bytes(ring.size())));
            }
        }
        return pages;
    }
};

TEST_P(DirtyLogTest, BitmapHoldsEveryPageTheDeviceWrote) {
    START_VHOSTD(vhostd);
    auto client = connect_client(options());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->has_protocol_feature(vhost_user::protocol_feature::kLogShmfd));
    ASSERT_NE(client->offered_features() & virtio::bit(vhost_user::kFeatureLogAll), 0U);
    ASSERT_EQ(client->packed(), packed());
    fe::GuestRam& ram = client->ram();
    const auto data = pattern(3, 64 * 1024);
    ASSERT_EQ(client->write(0, data).value(), kOk);

    auto log = fe::DirtyLog::create(client->options().ram_size);
    ASSERT_TRUE(log.has_value()) << log.error().describe();
    ASSERT_TRUE(client->start_logging(*log).has_value());
    (void)log->take_dirty();  // what the ring restarts wrote: not this test's business

    // Reads into buffers at awkward places (inside a page, across pages, several pages),
    // writes from other buffers, on both queues; headers and statuses on pages of their own.
    std::set<uint64_t> written;    // pages the device must have marked
    std::set<uint64_t> read_only;  // pages it only read: never marked
    for (int i = 0; i < 24; ++i) {
        const uint64_t offset = (i * 1237) % kPage;
        const uint64_t length = 512 * (1 + (i % 9));
        auto header = ram.alloc(kPage, kPage).value();
        auto status = ram.alloc(kPage, kPage).value();
        auto buffer = ram.alloc(4 * kPage, kPage).value();
        const fe::GuestBuffer window{buffer.gpa + offset, buffer.host + offset, length};
        const bool read = i % 3 != 2;
        const uint32_t type =
            static_cast<uint32_t>(read ? fe::blk::RequestType::in : fe::blk::RequestType::out);
        // Writes go past the pattern, which is read back at the end.
        const uint64_t sector = static_cast<uint64_t>(i) * 8 + (read ? 0 : 4096);
        ASSERT_EQ(run(client->queue(i % 2), ram, type, sector, header, window, status), kOk);
        add(read ? written : read_only, pages_of(window.gpa, window.size));
        add(written, pages_of(status.gpa, 1));
        add(read_only, pages_of(header.gpa, sizeof(fe::blk::RequestHeader)));
    }
    std::set<uint64_t> dirty;
    for (uint64_t p : log->take_dirty()) {
        dirty.insert(p);
    }
    const std::set<uint64_t> rings = ring_pages(*client);
    for (uint64_t p : written) {
        EXPECT_TRUE(dirty.contains(p)) << "page " << p << " was written but not marked";
    }
    std::set<uint64_t> allowed = written;
    add(allowed, rings);
    for (uint64_t p : dirty) {
        EXPECT_TRUE(allowed.contains(p)) << "page " << p << " marked but never written";
    }
    for (uint64_t p : read_only) {
        EXPECT_FALSE(dirty.contains(p)) << "page " << p << " was only read";
    }
    // The rings themselves: something was logged there (used elements / descriptors).
    std::set<uint64_t> ring_dirty;
    std::set_intersection(dirty.begin(), dirty.end(), rings.begin(), rings.end(),
                          std::inserter(ring_dirty, ring_dirty.end()));
    EXPECT_FALSE(ring_dirty.empty()) << "dirty: " << describe(dirty);

    // Migration over: nothing is marked any more, and I/O goes on.
    ASSERT_TRUE(client->stop_logging().has_value());
    (void)log->take_dirty();
    std::vector<std::byte> back(data.size());
    ASSERT_EQ(client->read(0, back, 0).value(), kOk);
    ASSERT_EQ(client->read(0, back, 1).value(), kOk);
    EXPECT_EQ(back, data);
    EXPECT_TRUE(log->dirty_pages().empty()) << describe([&] {
        std::set<uint64_t> s;
        for (uint64_t p : log->dirty_pages()) {
            s.insert(p);
        }
        return s;
    }());
}

TEST_P(DirtyLogTest, LoggingSurvivesALogResizeAndRestartedRings) {
    START_VHOSTD(vhostd);
    auto client = connect_client(options());
    ASSERT_TRUE(client);
    auto first = fe::DirtyLog::create(client->options().ram_size);
    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE(client->start_logging(*first).has_value());
    // QEMU hands over a larger log mid-migration (vhost_dev_log_resize): the new one gets the
    // marks from then on.
    auto second = fe::DirtyLog::create(2 * client->options().ram_size, 64);
    ASSERT_TRUE(second.has_value());
    const int fd = second->fd();
    const auto desc = second->wire();
    ASSERT_TRUE(
        client->connection()
            .call(vhost_user::Request::set_log_base, std::as_bytes(std::span(&desc, 1)), {&fd, 1})
            .has_value());
    (void)first->take_dirty();
    (void)second->take_dirty();
    auto buffer = client->ram().alloc(8 * kPage, kPage).value();
    auto header = client->ram().alloc(kPage, kPage).value();
    auto status = client->ram().alloc(kPage, kPage).value();
    ASSERT_EQ(run(client->queue(0), client->ram(), static_cast<uint32_t>(fe::blk::RequestType::in),
                  0, header, buffer, status),
              kOk);
    for (uint64_t p : pages_of(buffer.gpa, buffer.size)) {
        EXPECT_TRUE(second->dirty(p)) << p;
        EXPECT_FALSE(first->dirty(p)) << p;
    }
    // A queue stopped and started again (GET_VRING_BASE, then the ring set up anew) under
    // LOG_ALL still logs.
    ASSERT_TRUE(client->stop_queue(1).has_value());
    ASSERT_TRUE(client->start_queue(1).has_value());
    (void)second->take_dirty();
    ASSERT_EQ(run(client->queue(1), client->ram(), static_cast<uint32_t>(fe::blk::RequestType::in),
                  0, header, buffer, status),
              kOk);
    for (uint64_t p : pages_of(buffer.gpa, buffer.size)) {
        EXPECT_TRUE(second->dirty(p)) << p;
    }
    ASSERT_TRUE(client->stop_logging().has_value());
}

INSTANTIATE_TEST_SUITE_P(Rings, DirtyLogTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                             return p.param ? "packed" : "split";
                         });

}  // namespace
}  // namespace vhostd::testing
