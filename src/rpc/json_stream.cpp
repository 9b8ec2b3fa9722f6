// JsonStream: a resumable scanner over the structure of JSON (brackets, strings, escapes).
#include "rpc/json_stream.hpp"

namespace vhostd::rpc {
namespace {

// RFC 8259 section 2: insignificant whitespace.
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Characters of numbers and of the literals true/false/null.
bool is_scalar_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

}  // namespace

void JsonStream::append(std::string_view bytes) {
    compact();
    buffer_.append(bytes);
}

void JsonStream::compact() {
    // Consumed bytes are dropped in bulk, not per value, so many small requests in one read
    // do not each pay for a memmove of the rest.
    if (consumed_ == buffer_.size()) {
        buffer_.clear();
        scanned_ = consumed_ = 0;
    } else if (consumed_ > size_t{64} * 1024) {
        buffer_.erase(0, consumed_);
        scanned_ -= consumed_;
        consumed_ = 0;
    }
}

JsonStream::Status JsonStream::fail(Status status) {
    failed_ = true;
    failure_ = status;
    return status;
}

JsonStream::Status JsonStream::complete(size_t end) {
    if (end - consumed_ > kMaxValueBytes) {
        return fail(Status::too_large);
    }
    value_.assign(buffer_, consumed_, end - consumed_);
    consumed_ = scanned_ = end;
    stack_.clear();
    started_ = in_string_ = escape_ = in_scalar_ = false;
    return Status::value;
}

JsonStream::Status JsonStream::next() {
    if (failed_) {
        return failure_;
    }
    value_.clear();
    size_t i = scanned_;
    for (; i < buffer_.size(); ++i) {
        const char c = buffer_[i];
        if (!started_) {
            if (is_space(c)) {
                ++consumed_;
                continue;
            }
            started_ = true;
            if (c == '{' || c == '[') {
                stack_.push_back(c);
            } else if (c == '"') {
                in_string_ = true;
            } else if (is_scalar_char(c)) {
                in_scalar_ = true;
            } else {
                return fail(Status::garbage);
            }
            continue;
        }
        if (in_string_) {
            if (escape_) {
                escape_ = false;
            } else if (c == '\\') {
                escape_ = true;
            } else if (c == '"') {
                in_string_ = false;
                if (stack_.empty()) {
                    return complete(i + 1);
                }
            } else if (static_cast<unsigned char>(c) < 0x20) {
                return fail(Status::garbage);  // RFC 8259 section 7: control characters escaped
            }
            continue;
        }
        if (in_scalar_) {
            if (is_scalar_char(c)) {
                continue;
            }
            return complete(i);  // the delimiter belongs to whatever follows
        }
        switch (c) {
            case '{':
            case '[':
                if (stack_.size() >= kMaxDepth) {
                    return fail(Status::garbage);
                }
                stack_.push_back(c);
                break;
            case '}':
            case ']':
                if (stack_.back() != (c == '}' ? '{' : '[')) {
                    return fail(Status::garbage);
                }
                stack_.pop_back();
                if (stack_.empty()) {
                    return complete(i + 1);
                }
                break;
            case '"':
                in_string_ = true;
                break;
            case ':':
            case ',':
                break;
            default:
                if (!is_space(c) && !is_scalar_char(c)) {
                    return fail(Status::garbage);
                }
        }
    }
    scanned_ = i;
    if (started_ && buffer_.size() - consumed_ > kMaxValueBytes) {
        return fail(Status::too_large);
    }
    return Status::incomplete;
}

}  // namespace vhostd::rpc
