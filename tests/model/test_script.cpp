// The timed script format shared by chronus-render and the supervisor's journal.
#include "model/script.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace chronus::model;

TEST(Script, ParsesSecondsFramesTypesQuotesAndComments)
{
    auto s = parseScript("# a comment\n"
                         "0.5 /mod/osc1/freq 220\n"
                         "\n"
                         "@100 /patch/create seq1 sequencer   # trailing comment\n"
                         "@100 /mod/seq1/pattern \"x..x X.x.\"\n"
                         "1 /gate/env1 on\n",
                         48000);
    ASSERT_TRUE(s) << s.error();
    ASSERT_EQ(s->size(), 4u);
    EXPECT_EQ((*s)[0].frame, 100u); // sorted by frame
    EXPECT_EQ((*s)[0].line, 4);
    EXPECT_EQ((*s)[2].frame, 24000u);
    EXPECT_EQ(std::get<std::int32_t>((*s)[2].args[0]), 220);
    EXPECT_EQ(std::get<std::string>((*s)[1].args[0]), "x..x X.x.");
    EXPECT_EQ((*s)[3].frame, 48000u);
    EXPECT_EQ(std::get<std::string>((*s)[3].args[0]), "on");
}

TEST(Script, ErrorsNameTheLine)
{
    auto s = parseScript("0 /mod/a/b 1\n1.x /mod/a/b 2\n", 48000);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("line 2"), std::string::npos) << s.error();
    EXPECT_FALSE(parseScript("0 mod/a 1\n", 48000));
    EXPECT_FALSE(parseScript("0 /x \"open\n", 48000));
    EXPECT_FALSE(parseScript("@-3 /x\n", 48000));
    EXPECT_FALSE(parseScript("5\n", 48000));
    auto named = parseScript("0 /mod/a/b 1\n\n0 /x \"open\n", 48000, "demo.txt");
    ASSERT_FALSE(named);
    EXPECT_EQ(named.error(), "demo.txt:3: error: unterminated quote");
}

TEST(Script, FormattedLinesParseBackToTheSameFrameAndArgumentBits)
{
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> any(-1e6f, 1e6f);
    for (int i = 0; i < 2000; ++i) {
        const std::uint64_t frame = (std::uint64_t(rng()) << 20) ^ rng();
        std::vector<Arg> args = {any(rng), static_cast<std::int32_t>(rng()), std::string("x..x X"),
                                 std::string("42"), std::string(""), std::string("a\"b\\c"), 2.0f, -0.0f};
        const std::string line = formatScriptLine(frame, "/mod/a/b", args);
        auto back = parseScript(line, 48000);
        ASSERT_TRUE(back) << line << ": " << back.error();
        ASSERT_EQ(back->size(), 1u);
        const auto &cmd = (*back)[0];
        EXPECT_EQ(cmd.frame, frame);
        EXPECT_EQ(cmd.address, "/mod/a/b");
        ASSERT_EQ(cmd.args.size(), args.size()) << line;
        for (std::size_t k = 0; k < args.size(); ++k) {
            ASSERT_EQ(cmd.args[k].index(), args[k].index()) << line << " arg " << k;
            if (const auto *f = std::get_if<float>(&args[k]))
                EXPECT_EQ(std::memcmp(f, &std::get<float>(cmd.args[k]), sizeof(float)), 0) << line;
            else
                EXPECT_EQ(cmd.args[k], args[k]) << line;
        }
    }
}
