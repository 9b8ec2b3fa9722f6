// JsonStream: cuts a byte stream into top-level JSON values, as SPDK's server reads requests
// (no framing: values may arrive in pieces, several may arrive in one read). It only finds
// where a value ends and rejects what can never become JSON early; the value itself is then
// parsed by nlohmann::json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vhostd::rpc {

class JsonStream {
  public:
    // A request larger than this is refused (and the connection closed): it bounds the memory
    // one client can make the daemon hold.
    static constexpr size_t kMaxValueBytes = 1024 * 1024;
    // Deeper nesting is refused: nothing vhostd accepts needs more than a few levels.
    static constexpr size_t kMaxDepth = 64;

    enum class Status : uint8_t {
        incomplete,  // need more bytes
        value,       // value() holds one complete top-level value (not yet parsed)
        garbage,     // bytes that cannot start or continue JSON: the stream cannot resync
        too_large,   // the value in progress exceeds kMaxValueBytes
    };

    // Appends received bytes. A caller that stops reading once next() reports too_large never
    // buffers more than kMaxValueBytes plus one read.
    void append(std::string_view bytes);

    // Scans for the next value. After `value`, value() is valid until the next call.
    Status next();
    [[nodiscard]] std::string_view value() const { return value_; }
    // Bytes buffered and not yet returned as a value (whitespace included).
    [[nodiscard]] size_t buffered() const { return buffer_.size() - consumed_; }

  private:
    Status fail(Status status);
    Status complete(size_t end);
    void compact();

    std::string buffer_;
    size_t consumed_ = 0;  // start of the value being scanned
    size_t scanned_ = 0;   // resume point inside buffer_ (absolute)
    // Scanner state, kept across calls so that a value arriving byte by byte is scanned once.
    std::vector<char> stack_;  // open '{' / '[' of the value being scanned
    bool started_ = false;
    bool in_string_ = false;
    bool escape_ = false;
    bool in_scalar_ = false;  // a top-level number/literal: ends at the first delimiter
    std::string value_;
    bool failed_ = false;  // sticky: after garbage there is no point to resynchronise at
    Status failure_ = Status::incomplete;
};

}  // namespace vhostd::rpc
