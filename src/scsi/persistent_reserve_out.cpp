// PERSISTENT RESERVE OUT (SPC-4 6.14, 5.12): REGISTER, REGISTER AND IGNORE EXISTING KEY,
// RESERVE, RELEASE, CLEAR and PREEMPT, with the basic 24-byte parameter list. Registrations
// are not persisted across power loss (APTPL is refused: PTPL_C=0).
#include <mutex>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

enum : uint8_t { kRegister = 0, kReserve = 1, kRelease = 2, kClear = 3, kPreempt = 4 };
enum : uint8_t { kRegisterAndIgnore = 6 };

bool valid_type(uint8_t type) {
    return type == 1 || type == 3 || (type >= 5 && type <= 8);
}

bool all_registrants(ReservationType type) {
    return type == ReservationType::write_exclusive_all_registrants ||
           type == ReservationType::exclusive_access_all_registrants;
}

bool registrants_only(ReservationType type) {
    return type == ReservationType::write_exclusive_registrants_only ||
           type == ReservationType::exclusive_access_registrants_only;
}

// The state of one PERSISTENT RESERVE OUT, under the reservation mutex.
struct PrOut {
    Task& task;
    LogicalUnit& unit;
    Reservations& r;
    uint32_t self;
    uint64_t key;
    uint64_t sa_key;
    uint8_t type;

    Reservations::Registration& me() { return r.registrations()[self]; }
    bool key_matches() { return me().registered && me().key == key; }

    Disposition conflict() {
        task.status = status::reservation_conflict;  // SPC-4 5.12.11.1: no sense data
        task.sense_length = 0;
        return Disposition::done;
    }
    Disposition good() {
        set_good(task);
        return Disposition::done;
    }
    void tell_others(UnitAttention ua) {
        for (uint32_t i = 0; i < kReservationInitiators; ++i) {
            if (i != self && r.registrations()[i].registered) {
                unit.unit_attentions().raise(i, ua);
            }
        }
    }
    // Drops initiator `i`'s registration; a reservation it held goes with it (5.12.11.2.3).
    void unregister(uint32_t i) {
        r.registrations()[i] = {};
        if (r.type() == ReservationType::none) {
            return;
        }
        if (all_registrants(r.type())) {
            bool any = false;
            for (const auto& reg : r.registrations()) {
                any = any || reg.registered;
            }
            if (!any) {
                r.set_reservation(ReservationType::none, 0);
            }
        } else if (r.holder() == i) {
            if (registrants_only(r.type())) {
                tell_others(UnitAttention::reservations_released);
            }
            r.set_reservation(ReservationType::none, 0);
        }
    }
    // Removes every registration with `victim_key` (but this nexus's when `spare_self`);
    // returns how many went.
    int remove_key(uint64_t victim_key, bool spare_self) {
        int removed = 0;
        for (uint32_t i = 0; i < kReservationInitiators; ++i) {
            auto& reg = r.registrations()[i];
            if (reg.registered && reg.key == victim_key && !(spare_self && i == self)) {
                unregister(i);
                if (i != self) {
                    unit.unit_attentions().raise(i, UnitAttention::registrations_preempted);
                }
                ++removed;
            }
        }
        return removed;
    }
    void changed() {
        r.bump_generation();
        r.publish_registrations();
    }

    Disposition do_register(bool ignore_existing) {
        if (!me().registered) {
            if (!ignore_existing && key != 0) {
                return conflict();
            }
            if (sa_key == 0) {
                return good();  // SPC-4 5.12.7: registering key 0 does nothing
            }
            me() = {true, sa_key};
        } else {
            if (!ignore_existing && key != me().key) {
                return conflict();
            }
            if (sa_key == 0) {
                unregister(self);
            } else {
                me().key = sa_key;
            }
        }
        changed();
        return good();
    }

    Disposition reserve() {
        if (!key_matches()) {
            return conflict();
        }
        if (!valid_type(type)) {
            set_invalid_field(task, true, 2, 3);
            return Disposition::done;
        }
        if (r.type() != ReservationType::none) {
            // SPC-4 5.12.9: the holder repeating its own reservation is a no-op; anything
            // else conflicts.
            const bool same = r.is_holder(self) && static_cast<uint8_t>(r.type()) == type;
            return same ? good() : conflict();
        }
        r.set_reservation(static_cast<ReservationType>(type), self);
        return good();
    }

    Disposition release() {
        if (!key_matches()) {
            return conflict();
        }
        if (r.type() == ReservationType::none || !r.is_holder(self)) {
            return good();  // SPC-4 5.12.11.2.2: nothing of this nexus to release
        }
        if (static_cast<uint8_t>(r.type()) != type) {
            set_check_condition(task, sense::invalid_release_of_persistent_reservation);
            return Disposition::done;
        }
        if (r.type() != ReservationType::write_exclusive &&
            r.type() != ReservationType::exclusive_access) {
            tell_others(UnitAttention::reservations_released);
        }
        r.set_reservation(ReservationType::none, 0);
        return good();
    }

    Disposition clear() {
        if (!key_matches()) {
            return conflict();
        }
        tell_others(UnitAttention::reservations_preempted);  // SPC-4 5.12.11.2.5
        r.registrations().fill({});
        r.set_reservation(ReservationType::none, 0);
        changed();
        return good();
    }

    // SPC-4 5.12.11.4.
    Disposition preempt() {
        if (!key_matches()) {
            return conflict();
        }
        const ReservationType held = r.type();
        const bool takes_reservation =
            held != ReservationType::none &&
            (all_registrants(held) ? sa_key == 0 : sa_key == r.registrations()[r.holder()].key);
        if (!takes_reservation) {
            if (sa_key == 0) {
                set_invalid_field(task, false, 8);
                return Disposition::done;
            }
            if (remove_key(sa_key, false) == 0) {
                return conflict();
            }
            changed();
            return good();
        }
        if (!valid_type(type)) {
            set_invalid_field(task, true, 2, 3);
            return Disposition::done;
        }
        if (all_registrants(held)) {
            for (uint32_t i = 0; i < kReservationInitiators; ++i) {
                if (i != self && r.registrations()[i].registered) {
                    r.registrations()[i] = {};
                    unit.unit_attentions().raise(i, UnitAttention::registrations_preempted);
                }
            }
        } else {
            remove_key(sa_key, true);
        }
        r.set_reservation(static_cast<ReservationType>(type), self);
        changed();
        return good();
    }
};

}  // namespace

Disposition persistent_reserve_out(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const uint8_t sa = service_action_of(cdb);
    const uint8_t scope = cdb[2] >> 4;
    const uint32_t length = get_be32(cdb + 5);
    if ((sa == kReserve || sa == kRelease || sa == kPreempt) && scope != 0) {
        set_invalid_field(task, true, 2, 7);  // only LU_SCOPE (SPC-4 6.14.3)
        return Disposition::done;
    }
    // SPC-4 6.14.3: with SPEC_I_PT=0 the parameter list is exactly 24 bytes.
    if (length != 24) {
        set_check_condition(task, sense::parameter_list_length_error);
        return Disposition::done;
    }
    if (!fetch_parameters(task, length)) {
        return Disposition::done;
    }
    const uint8_t* p = task.state.param.data();
    if ((p[20] & 0x0d) != 0) {
        // SPEC_I_PT, ALL_TG_PT and APTPL are not supported (SIP_C, ATP_C, PTPL_C are 0).
        set_invalid_field(task, false, 20);
        return Disposition::done;
    }
    if (task.initiator >= kReservationInitiators) {
        set_check_condition(task, sense::insufficient_registration_resources);
        return Disposition::done;
    }
    LogicalUnit& unit = cmd.lun->unit();
    Reservations& r = unit.reservations();
    std::lock_guard lock(r.mutex());
    PrOut pr{task,
             unit,
             r,
             task.initiator,
             get_be64(p),
             get_be64(p + 8),
             static_cast<uint8_t>(cdb[2] & 0x0f)};
    switch (sa) {
        case kRegister:
            return pr.do_register(false);
        case kRegisterAndIgnore:
            return pr.do_register(true);
        case kReserve:
            return pr.reserve();
        case kRelease:
            return pr.release();
        case kClear:
            return pr.clear();
        default:
            return pr.preempt();
    }
}

}  // namespace vhostd::scsi
