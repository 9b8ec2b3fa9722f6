// PERSISTENT RESERVE IN/OUT and RESERVATION CONFLICT between two initiators.
#include <gtest/gtest.h>

#include "scsi/cdb.hpp"
#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

struct PersistentReserve : ::testing::Test {
    PersistentReserve() {
        h.command({0x00, 0, 0, 0, 0, 0});
        as(1, {0x00, 0, 0, 0, 0, 0});  // the other initiators' POWER ON
        as(2, {0x00, 0, 0, 0, 0, 0});
    }
    Task out(uint32_t initiator, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key) {
        std::vector<uint8_t> list(24);
        put_be64(&list[0], key);
        put_be64(&list[8], sa_key);
        return as(initiator, {0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0}, list,
                  DataDirection::to_device);
    }
    Task in(uint32_t initiator, uint8_t sa, std::vector<uint8_t>& buf) {
        return as(initiator, {0x5e, sa, 0, 0, 0, 0, 0, 0, 255, 0}, buf);
    }
    Task as(uint32_t initiator, std::initializer_list<uint8_t> cdb, std::vector<uint8_t> buf = {},
            DataDirection dir = DataDirection::from_device) {
        h.initiator = initiator;
        Task t = h.command(cdb, buf, dir);
        h.initiator = 0;
        last = buf;
        return t;
    }
    Task read_as(uint32_t initiator) {
        return as(initiator, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512));
    }
    Task write_as(uint32_t initiator) {
        return as(initiator, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512),
                  DataDirection::to_device);
    }
    Harness h;
    std::vector<uint8_t> last;
};

TEST_F(PersistentReserve, RegisterReadKeysReserveRelease) {
    EXPECT_EQ(out(0, 0, 0, 0, 0xaaaa).status, status::good);
    EXPECT_EQ(out(1, 0, 0, 0, 0xbbbb).status, status::good);
    std::vector<uint8_t> buf(255);
    in(0, 0, buf);
    EXPECT_EQ(get_be32(&last[0]), 2u);  // generation
    EXPECT_EQ(get_be32(&last[4]), 16u);
    EXPECT_EQ(get_be64(&last[8]), 0xaaaau);
    EXPECT_EQ(get_be64(&last[16]), 0xbbbbu);

    EXPECT_EQ(out(0, 1, 1, 0xaaaa, 0).status, status::good);  // RESERVE write exclusive
    in(1, 1, buf);
    EXPECT_EQ(get_be32(&last[4]), 16u);
    EXPECT_EQ(get_be64(&last[8]), 0xaaaau);
    EXPECT_EQ(last[21], 1);

    EXPECT_EQ(read_as(1).status, status::good);  // WE: others may read
    EXPECT_EQ(write_as(1).status, status::reservation_conflict);
    EXPECT_EQ(write_as(0).status, status::good);
    EXPECT_EQ(out(1, 1, 1, 0xbbbb, 0).status, status::reservation_conflict);  // taken
    EXPECT_EQ(out(0, 1, 1, 0xaaaa, 0).status, status::good);  // holder repeats: no-op
    // RELEASE with the wrong type.
    EXPECT_EQ(sense_of(out(0, 2, 3, 0xaaaa, 0)), sense::invalid_release_of_persistent_reservation);
    EXPECT_EQ(out(0, 2, 1, 0xaaaa, 0).status, status::good);
    EXPECT_EQ(write_as(1).status, status::good);
}

TEST_F(PersistentReserve, WrongKeyConflicts) {
    EXPECT_EQ(out(0, 0, 0, 0, 0x11).status, status::good);
    EXPECT_EQ(out(0, 0, 0, 0x99, 0x22).status, status::reservation_conflict);
    EXPECT_EQ(out(0, 6, 0, 0x99, 0x22).status, status::good);            // REGISTER AND IGNORE
    EXPECT_EQ(out(1, 1, 1, 0, 0).status, status::reservation_conflict);  // unregistered
}

TEST_F(PersistentReserve, ExclusiveAccessRegistrantsOnly) {
    out(0, 0, 0, 0, 0xa);
    out(0, 1, 6, 0xa, 0);
    EXPECT_EQ(read_as(1).status, status::reservation_conflict);
    out(1, 0, 0, 0, 0xb);
    EXPECT_EQ(read_as(1).status, status::good);
    EXPECT_EQ(write_as(1).status, status::good);
    EXPECT_EQ(read_as(2).status, status::reservation_conflict);
    // The holder unregisters: the reservation goes, the other registrant is told.
    out(0, 0, 0, 0xa, 0);
    EXPECT_EQ(sense_of(as(1, {0x00, 0, 0, 0, 0, 0})),
              (SenseCode{sense_key::unit_attention, 0x2a, 0x04}));
    EXPECT_EQ(read_as(2).status, status::good);
}

TEST_F(PersistentReserve, PreemptAndClear) {
    out(0, 0, 0, 0, 0xa);
    out(1, 0, 0, 0, 0xb);
    out(1, 1, 3, 0xb, 0);  // 1 holds exclusive access
    EXPECT_EQ(read_as(0).status, status::reservation_conflict);
    EXPECT_EQ(sense_of(out(0, 4, 3, 0xa, 0)), sense::invalid_field_in_parameter_list);
    EXPECT_EQ(out(0, 4, 3, 0xa, 0xc).status, status::reservation_conflict);  // no such key
    EXPECT_EQ(out(0, 4, 3, 0xa, 0xb).status, status::good);                  // preempt the holder
    EXPECT_EQ(read_as(0).status, status::good);
    EXPECT_EQ(sense_of(as(1, {0x00, 0, 0, 0, 0, 0})),
              (SenseCode{sense_key::unit_attention, 0x2a, 0x05}));
    EXPECT_EQ(read_as(1).status, status::reservation_conflict);
    std::vector<uint8_t> buf(255);
    in(0, 0, buf);
    EXPECT_EQ(get_be32(&last[4]), 8u);                     // only 0 is registered
    EXPECT_EQ(out(0, 3, 0, 0xa, 0).status, status::good);  // CLEAR
    EXPECT_EQ(read_as(1).status, status::good);
    in(0, 1, buf);
    EXPECT_EQ(get_be32(&last[4]), 0u);
}

TEST_F(PersistentReserve, HostileParameters) {
    std::vector<uint8_t> list(24);
    EXPECT_EQ(sense_of(as(0, {0x5f, 0, 0, 0, 0, 0, 0, 0, 23, 0}, list, DataDirection::to_device)),
              sense::parameter_list_length_error);
    EXPECT_TRUE(as(0, {0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0}, std::vector<uint8_t>(10),
                   DataDirection::to_device)
                    .overrun);
    list[20] = 0x01;  // APTPL
    EXPECT_EQ(sense_of(as(0, {0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0}, list, DataDirection::to_device)),
              sense::invalid_field_in_parameter_list);
    out(0, 0, 0, 0, 0xa);
    EXPECT_EQ(sense_of(out(0, 1, 2, 0xa, 0)), sense::invalid_field_in_cdb);     // bad type
    EXPECT_EQ(sense_of(out(0, 1, 0x11, 0xa, 0)), sense::invalid_field_in_cdb);  // scope
    EXPECT_EQ(sense_of(out(0, 7, 1, 0xa, 0)), sense::invalid_field_in_cdb);     // REGISTER AND MOVE
    std::vector<uint8_t> caps(255);
    EXPECT_EQ(in(0, 2, caps).status, status::good);
    EXPECT_EQ(get_be16(&last[0]), 8);
    EXPECT_EQ(sense_of(in(0, 3, caps)), sense::invalid_field_in_cdb);  // READ FULL STATUS
}

}  // namespace
}  // namespace vhostd::scsi
