// FuzzInput: reads a fuzzer's input as a program's operands (bytes, little-endian integers,
// values near the edges); zeros once it runs out, so every program is complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

class FuzzInput {
  public:
    FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    [[nodiscard]] bool empty() const { return pos_ >= size_; }
    uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
    uint32_t u32() { return u16() | (static_cast<uint32_t>(u16()) << 16); }
    uint64_t u64() { return u32() | (static_cast<uint64_t>(u32()) << 32); }
    void fill(std::span<std::byte> out) {
        for (auto& b : out) {
            b = std::byte{byte()};
        }
    }
    std::vector<std::byte> bytes(size_t n) {
        std::vector<std::byte> out(n);
        fill(out);
        return out;
    }
    // A value near the edges that matter more often than a uniform one would be.
    uint64_t interesting(uint64_t limit) {
        switch (byte() % 6) {
            case 0:
                return 0;
            case 1:
                return limit;
            case 2:
                return limit - 1;
            case 3:
                return ~0ULL - byte();
            case 4:
                return u64();
            default:
                return u32() % (limit + 1);
        }
    }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};
