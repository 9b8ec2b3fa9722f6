// NQN validation: the forms of NVMe Base 4.5 pass, everything else is refused.
#include "targets/nvmf/nqn.hpp"

#include <string>

#include <gtest/gtest.h>

namespace vhostd::targets::nvmf {
namespace {

TEST(NqnTest, AcceptsTheSpecForms) {
    EXPECT_TRUE(check_nqn("nqn.2019-07.io.spdk:cnode0"));
    EXPECT_TRUE(check_nqn("nqn.2016-06.io.spdk:cnode1"));
    EXPECT_TRUE(check_nqn("nqn.2014-08.org.nvmexpress.discovery"));
    EXPECT_TRUE(check_nqn("nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
    EXPECT_TRUE(check_nqn("nqn.2024-01.com.example-corp.storage:disk.1:a b"));
    EXPECT_TRUE(check_nqn("nqn.2024-01.io.vhostd:\xc3\xa9t\xc3\xa9"));  // UTF-8 user string
    EXPECT_TRUE(check_nqn("nqn.2024-01.io.vhostd:" + std::string(223 - 22, 'x')));
}

TEST(NqnTest, RefusesMalformedNames) {
    for (const std::string& bad : {
             std::string(""),
             std::string("nqn.bad"),
             std::string("iqn.2019-07.io.spdk:cnode0"),
             std::string("nqn.2019-7.io.spdk:cnode0"),
             std::string("nqn.2019-07io.spdk:cnode0"),
             std::string("nqn.2019-07.io.spdk"),
             std::string("nqn.2019-07.io.spdk:"),
             std::string("nqn.2019-07.:name"),
             std::string("nqn.2019-07.1io.spdk:name"),
             std::string("nqn.2019-07.io-.spdk:name"),
             std::string("nqn.2019-07.io..spdk:name"),
             std::string("nqn.2019-07.i_o.spdk:name"),
             std::string("nqn.2019-07.") + std::string(64, 'a') + ":name",
             std::string("nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-41d2-883f"),
             std::string("nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca42z"),
             std::string("nqn.2024-01.io.vhostd:a\nb"),
             std::string("nqn.2024-01.io.vhostd:\xc3"),
             std::string("nqn.2024-01.io.vhostd:\xc0\xaf"),  // overlong '/'
             std::string("nqn.2024-01.io.vhostd:" + std::string(224 - 22, 'x')),
         }) {
        auto checked = check_nqn(bad);
        EXPECT_FALSE(checked) << bad;
        if (!checked) {
            EXPECT_EQ(checked.error().code, EINVAL);
        }
    }
}

}  // namespace
}  // namespace vhostd::targets::nvmf
