// A patch's JSON form: it round-trips, and text that is not a patch is refused with
// where and why.
#include "model/patch.hpp"

#include <gtest/gtest.h>

using namespace chronus::model;

TEST(PatchSpec, JsonRoundTripsAndMalformedTextIsRejected)
{
    auto spec = PatchSpec::fromJson(R"({"nodes":[{"id":"o1","type":"osc","params":{"waveform":"saw","freq":110}}],
        "connections":[{"from":"o1","to":"output"},["o1","output.L",0.5]]})");
    ASSERT_TRUE(spec) << spec.error();
    auto again = PatchSpec::fromJson(spec->toJson());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->toJson(), spec->toJson());
    EXPECT_EQ(again->connections[1].depth, 0.5);
    EXPECT_FALSE(PatchSpec::fromJson("{nodes:"));
    EXPECT_FALSE(PatchSpec::fromJson(R"({"nodes":[{"type":"sine"}]})"));
    EXPECT_FALSE(PatchSpec::fromJson(R"({"nodes":"x"})"));
}

TEST(PatchSpec, TextThatIsNotJsonIsRefusedWithItsLineAndColumn)
{
    // The parser gives up at the end of the unexpected string `"to"`: line 3, column 20.
    auto spec = PatchSpec::fromJson("{\"nodes\": [{\"id\": \"a\", \"type\": \"sine\"}],\n"
                                    " \"connections\": [\n"
                                    "   {\"from\": \"a\" \"to\": \"output\"}]}");
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().rfind("patch is not valid JSON: line 3, column 20: syntax error while parsing object", 0), 0u)
        << spec.error();
    auto empty = PatchSpec::fromJson("");
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().find("line 1, column 1: "), std::string::npos) << empty.error();
}

TEST(PatchSpec, ParametersAreStoredUnderTheirCanonicalNamesTheLaterOfTwoNamesWinning)
{
    auto spec = PatchSpec::fromJson(R"({"nodes":[{"id":"f","type":"biquad","params":
        {"frequency":500,"resonance":2,"cutoff":700,"bogus":1}}]})");
    ASSERT_TRUE(spec) << spec.error();
    const auto &params = spec->nodes[0].params;
    ASSERT_EQ(params.size(), 3u);
    EXPECT_EQ(params[0].first, "cutoff");
    EXPECT_EQ(std::get<double>(params[0].second), 700.0);
    EXPECT_EQ(params[1].first, "q");
    EXPECT_EQ(params[2].first, "bogus"); // unknown: kept as given, for compile() to name
    EXPECT_EQ(spec->toJson(-1).find("frequency"), std::string::npos);

    // A spec built in code is brought to the same form.
    PatchSpec built;
    built.nodes.push_back({"l", "lfo", {{"freq", 2.0}, {"rate", 3.0}, {"frequency", 4.0}}});
    built.canonicalize();
    ASSERT_EQ(built.nodes[0].params.size(), 1u);
    EXPECT_EQ(built.nodes[0].params[0].first, "rate");
    EXPECT_EQ(std::get<double>(built.nodes[0].params[0].second), 4.0);
}
