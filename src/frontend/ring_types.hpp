// What a driver-side ring takes and gives back, whatever its layout: the buffers of one chain
// and the used elements the device returned.
#pragma once

#include <cstdint>

namespace vhostd::frontend {

// One buffer of a chain.
struct Segment {
    uint64_t gpa = 0;
    uint32_t len = 0;
    bool device_writable = false;
};

// A harvested used element.
struct UsedEntry {
    uint64_t cookie = 0;  // what add() was given
    uint32_t len = 0;     // bytes the device says it wrote
    uint16_t head = 0;    // split: head descriptor; packed: buffer ID
};

}  // namespace vhostd::frontend
