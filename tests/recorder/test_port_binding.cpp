// PortBinding: which source port each recorder input records, as ports come and go.
#include "recorder/port_binding.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using chronus::rec::globMatch;
using chronus::rec::naturalLess;
using chronus::rec::PortBinding;

namespace {

std::vector<std::string> boundOf(const PortBinding &b)
{
    std::vector<std::string> out;
    for (std::size_t k = 0; k < b.inputs(); ++k)
        out.push_back(b.boundTo(k));
    return out;
}

} // namespace

TEST(Glob, StarAndQuestionMarkAreTheOnlySpecialCharacters)
{
    EXPECT_TRUE(globMatch("chronus:out_*", "chronus:out_1"));
    EXPECT_TRUE(globMatch("chronus:out_*", "chronus:out_"));
    EXPECT_FALSE(globMatch("chronus:out_*", "chronus-01:out_1"));
    EXPECT_TRUE(globMatch("chronus*:out_*", "chronus-01:out_1"));
    EXPECT_TRUE(globMatch("a:out_?", "a:out_7"));
    EXPECT_FALSE(globMatch("a:out_?", "a:out_10"));
    EXPECT_TRUE(globMatch("a:[x].*", "a:[x].y"));
    EXPECT_FALSE(globMatch("a:[x]", "a:x"));
    EXPECT_TRUE(globMatch("*", ""));
    EXPECT_TRUE(globMatch("*a*b*c", "xxaxxbxxbxc"));
    EXPECT_FALSE(globMatch("*a*b*c", "xxaxxbxxbx"));
}

TEST(NaturalOrder, DigitRunsCompareByValue)
{
    EXPECT_TRUE(naturalLess("out_2", "out_10"));
    EXPECT_FALSE(naturalLess("out_10", "out_2"));
    EXPECT_TRUE(naturalLess("out_1", "out_1a"));
    EXPECT_TRUE(naturalLess("out_99999999999999999999998", "out_99999999999999999999999"));
    EXPECT_FALSE(naturalLess("out_1", "out_1"));
}

TEST(PortBinding, PortsBindInPatternOrderThenNaturalOrderToTheLowestFreeInputs)
{
    PortBinding b({"chronus:out_4", "chronus:out_?"}, 3);
    // The leading name has its input before it exists.
    EXPECT_EQ(boundOf(b), (std::vector<std::string>{"chronus:out_4", "", ""}));
    const auto bound = b.bindNew({"chronus:out_4", "chronus:out_3", "chronus:out_10", "chronus:out_1", "x:y"});
    EXPECT_EQ(bound, (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(boundOf(b), (std::vector<std::string>{"chronus:out_4", "chronus:out_1", "chronus:out_3"}));
}

TEST(PortBinding, ALeadingNameKeepsItsInputWhicheverPortAppearsFirst)
{
    PortBinding b({"a:out_1", "b:out_1"}, 2);
    EXPECT_TRUE(b.bindNew({"b:out_1"}).empty());
    EXPECT_EQ(boundOf(b), (std::vector<std::string>{"a:out_1", "b:out_1"}));
}

TEST(PortBinding, APortThatLeavesKeepsItsInputAndNoOtherPortMovesUpIntoIt)
{
    PortBinding b({"chronus:out_*"}, 2);
    b.bindNew({"chronus:out_1", "chronus:out_2"});
    // out_1 leaves; out_3 appears: every input is bound, so out_3 is recorded nowhere.
    EXPECT_FALSE(b.wouldBind({"chronus:out_2", "chronus:out_3"}));
    EXPECT_TRUE(b.bindNew({"chronus:out_2", "chronus:out_3"}).empty());
    // Ports come back in any order: the same inputs.
    b.bindNew({"chronus:out_2"});
    b.bindNew({"chronus:out_2", "chronus:out_1"});
    EXPECT_EQ(boundOf(b), (std::vector<std::string>{"chronus:out_1", "chronus:out_2"}));
}

TEST(PortBinding, ANewMatchingPortFillsOnlyAnInputThatHasNoSource)
{
    PortBinding b({"a:*", "b:*"}, 4);
    EXPECT_EQ(b.bindNew({"b:1", "b:2"}), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(b.bindNew({"b:1", "b:2", "a:1"}), (std::vector<std::size_t>{2}));
    EXPECT_EQ(b.bindNew({"a:2", "b:3", "a:1"}), (std::vector<std::size_t>{3}));
    EXPECT_EQ(boundOf(b), (std::vector<std::string>{"b:1", "b:2", "a:1", "a:2"}));
    EXPECT_TRUE(b.matches("b:9"));
    EXPECT_FALSE(b.matches("c:1"));
    EXPECT_EQ(b.patternOf("b:9"), "b:*");
}

TEST(PortBinding, APortMatchedByTwoPatternsIsBoundOnce)
{
    PortBinding b({"x:out_*", "x:out_1", "x:*"}, 4);
    b.bindNew({"x:out_1", "x:out_2", "x:in"});
    EXPECT_EQ(boundOf(b), (std::vector<std::string>{"x:out_1", "x:out_2", "x:in", ""}));
}

// Against a model: ports appear and disappear at random; once an input is bound, it stays
// bound to the same name, and no name is bound to two inputs.
TEST(PortBinding, BindingsNeverChangeAndNeverRepeatUnderRandomChurn)
{
    std::mt19937 rng(7);
    const std::vector<std::string> universe = {"s:out_1", "s:out_2", "s:out_3", "s:out_10", "t:out_1", "u:1"};
    PortBinding b({"s:out_*", "t:out_1"}, 3);
    std::vector<std::string> before = boundOf(b);
    for (int step = 0; step < 2000; ++step) {
        std::vector<std::string> present;
        for (const auto &p : universe)
            if (rng() % 2)
                present.push_back(p);
        std::shuffle(present.begin(), present.end(), rng);
        b.bindNew(present);
        const std::vector<std::string> now = boundOf(b);
        for (std::size_t k = 0; k < now.size(); ++k) {
            if (!before[k].empty()) {
                ASSERT_EQ(now[k], before[k]) << "step " << step;
            }
            if (!now[k].empty()) {
                ASSERT_EQ(std::count(now.begin(), now.end(), now[k]), 1) << now[k];
                ASSERT_TRUE(b.matches(now[k]));
                ASSERT_NE(now[k], "u:1");
            }
        }
        before = now;
    }
    EXPECT_EQ(std::count(before.begin(), before.end(), std::string()), 0);
}
