// JsonStream: values cut from a byte stream however it is split, and early refusal of garbage.
#include "rpc/json_stream.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vhostd::rpc {
namespace {

using Status = JsonStream::Status;

// Feeds `input` in pieces of `piece` bytes; returns the values found, in order.
std::vector<std::string> split(std::string_view input, size_t piece, Status* last = nullptr) {
    JsonStream stream;
    std::vector<std::string> values;
    Status status = Status::incomplete;
    for (size_t at = 0; at < input.size(); at += piece) {
        stream.append(input.substr(at, piece));
        while ((status = stream.next()) == Status::value) {
            values.emplace_back(stream.value());
        }
        if (status != Status::incomplete) {
            break;
        }
    }
    if (last != nullptr) {
        *last = status;
    }
    return values;
}

TEST(JsonStream, FindsEveryValueWhateverTheReadSizes) {
    const std::string input = R"({"a": "}{\"]", "b": [1, {"c": null}]} [1,2] {"x":"\\"}  "str" 12 )"
                              "\n{\"last\": true}";
    const std::vector<std::string> expected = {R"({"a": "}{\"]", "b": [1, {"c": null}]})",
                                               "[1,2]",
                                               R"({"x":"\\"})",
                                               R"("str")",
                                               "12",
                                               R"({"last": true})"};
    for (size_t piece : {1, 2, 3, 7, 64, 4096}) {
        EXPECT_EQ(split(input, piece), expected) << "piece " << piece;
    }
}

TEST(JsonStream, WaitsForTheRestOfAValue) {
    JsonStream stream;
    stream.append(R"({"method": "x", )");
    EXPECT_EQ(stream.next(), Status::incomplete);
    EXPECT_EQ(stream.next(), Status::incomplete);
    stream.append(R"("id": 1})");
    ASSERT_EQ(stream.next(), Status::value);
    EXPECT_EQ(stream.value(), R"({"method": "x", "id": 1})");
    EXPECT_EQ(stream.next(), Status::incomplete);
    EXPECT_EQ(stream.buffered(), 0U);
}

TEST(JsonStream, RefusesGarbageAtOnceAndForGood) {
    for (const char* bad : {"\x01\x02", "<html>", "{\"a\": 1]", "]", "{\"a\"; 1}", "{\"a\x01\"}"}) {
        Status last{};
        EXPECT_TRUE(split(bad, 1, &last).empty()) << bad;
        EXPECT_EQ(last, Status::garbage) << bad;
    }
    JsonStream stream;
    stream.append("}{\"ok\": 1}");
    EXPECT_EQ(stream.next(), Status::garbage);
    EXPECT_EQ(stream.next(), Status::garbage);
}

TEST(JsonStream, RefusesDeepNesting) {
    Status last{};
    split(std::string(JsonStream::kMaxDepth + 1, '['), 16, &last);
    EXPECT_EQ(last, Status::garbage);
    const std::string ok =
        std::string(JsonStream::kMaxDepth, '[') + std::string(JsonStream::kMaxDepth, ']');
    EXPECT_EQ(split(ok, 16).size(), 1U);
}

TEST(JsonStream, RefusesAValueOverTheLimitWithoutWaitingForItsEnd) {
    JsonStream stream;
    stream.append(R"({"params": ")");
    const std::string chunk(64 * 1024, 'x');
    Status status = Status::incomplete;
    size_t appended = 0;
    while (status == Status::incomplete && appended < 4 * JsonStream::kMaxValueBytes) {
        stream.append(chunk);
        appended += chunk.size();
        status = stream.next();
    }
    EXPECT_EQ(status, Status::too_large);
    EXPECT_LE(appended, JsonStream::kMaxValueBytes + chunk.size());
}

TEST(JsonStream, AcceptsAValueJustUnderTheLimit) {
    std::string value = R"({"p": ")";
    value += std::string(JsonStream::kMaxValueBytes - value.size() - 2, 'y');
    value += "\"}";
    ASSERT_EQ(value.size(), JsonStream::kMaxValueBytes);
    EXPECT_EQ(split(value + " {}", 4096).size(), 2U);
}

}  // namespace
}  // namespace vhostd::rpc
