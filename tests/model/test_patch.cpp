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
