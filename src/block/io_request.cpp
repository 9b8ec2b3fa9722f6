// IoRequest names for logs and RPC replies.
#include "block/io_request.hpp"

namespace vhostd::block {

const char* to_string(IoType type) {
    switch (type) {
        case IoType::read:
            return "read";
        case IoType::write:
            return "write";
        case IoType::flush:
            return "flush";
        case IoType::discard:
            return "discard";
        case IoType::write_zeroes:
            return "write_zeroes";
    }
    return "unknown";
}

const char* to_string(IoStatus status) {
    switch (status) {
        case IoStatus::success:
            return "success";
        case IoStatus::io_error:
            return "io_error";
        case IoStatus::unsupported:
            return "unsupported";
        case IoStatus::no_space:
            return "no_space";
        case IoStatus::aborted:
            return "aborted";
    }
    return "unknown";
}

}  // namespace vhostd::block
