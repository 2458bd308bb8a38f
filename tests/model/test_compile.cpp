// Patch compilation: every mistake is an error that names its culprit; valid patches
// get a topological order and an index by id.
#include "model/compile.hpp"

#include <gtest/gtest.h>

using namespace chronus::model;

namespace {

Expected<CompiledPatch> compileJson(const char *json)
{
    auto spec = PatchSpec::fromJson(json);
    if (!spec)
        return chronus::fail(spec.error());
    return compile(*spec, 1);
}

void expectError(const char *json, const char *fragment)
{
    auto c = compileJson(json);
    ASSERT_FALSE(c) << "expected an error containing: " << fragment;
    EXPECT_NE(c.error().find(fragment), std::string::npos) << "error was: " << c.error();
}

} // namespace

TEST(Compile, UnknownTypeIsNamedWithTheNode)
{
    expectError(R"({"nodes":[{"id":"f1","type":"filtr"}]})", "node 'f1': unknown module type 'filtr'");
}

TEST(Compile, UnknownParameterIsNamedWithTheNodeAndTheValidNames)
{
    expectError(R"({"nodes":[{"id":"s","type":"sine","params":{"frq":3}}]})", "no parameter 'frq' (parameters: freq, gain)");
}

TEST(Compile, UnknownPortOrParameterInAConnectionIsNamed)
{
    expectError(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"s","to":"output.cutof"}]})",
                "connection s -> output.cutof: module 'output' has no input or parameter 'cutof'");
    expectError(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"s.nope","to":"output"}]})",
                "has no output 'nope'");
    expectError(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"x","to":"output"}]})", "no node 'x'");
}

TEST(Compile, CycleIsAnErrorThatListsTheNodesInIt)
{
    expectError(R"({"nodes":[{"id":"a","type":"sine"},{"id":"b","type":"sine"}],
        "connections":[{"from":"a","to":"b.freq"},{"from":"b","to":"a.freq"}]})",
                "cycle: ");
    auto c = compileJson(R"({"nodes":[{"id":"a","type":"sine"},{"id":"b","type":"sine"}],
        "connections":[{"from":"a","to":"b.freq"},{"from":"b","to":"a.freq"}]})");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().find("a -> b -> a"), std::string::npos) << c.error();
}

TEST(Compile, ACycleIsNamedByItsOwnNodesWhateverElseIsConnectedToIt)
{
    // The cycle b -> c -> d -> b feeds the output and is fed from outside; the nodes
    // around it are not part of it and must not be named.
    auto c = compileJson(R"({"nodes":[{"id":"out_first","type":"sine"},{"id":"a","type":"sine"},
        {"id":"b","type":"sine"},{"id":"c","type":"sine"},{"id":"d","type":"sine"},{"id":"e","type":"sine"}],
        "connections":[{"from":"a","to":"b.freq"},{"from":"b","to":"c.freq"},{"from":"c","to":"d.freq"},
        {"from":"d","to":"b.gain"},{"from":"c","to":"output"},{"from":"d","to":"e.freq"},{"from":"e","to":"output"},
        {"from":"out_first","to":"output"}]})");
    ASSERT_FALSE(c);
    const std::string e = c.error();
    // Any rotation of the cycle, and nothing else.
    EXPECT_TRUE(e == "cycle: b -> c -> d -> b" || e == "cycle: c -> d -> b -> c" || e == "cycle: d -> b -> c -> d") << e;
}

TEST(Compile, DuplicateAndInvalidIdsAreRefused)
{
    expectError(R"({"nodes":[{"id":"a","type":"sine"},{"id":"a","type":"sine"}]})", "node 'a' is defined twice");
    expectError(R"({"nodes":[{"id":"a b","type":"sine"}]})", "is not valid");
    expectError(R"({"nodes":[{"id":"o2","type":"output"}]})", "there is one output node");
}

TEST(Compile, OutOfRangeValuesInAPatchAreClampedAndBadWordsRefused)
{
    auto c = compileJson(R"({"nodes":[{"id":"s","type":"sine","params":{"freq":1e9}}]})");
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->nodes[c->findNode("s")].paramValues[0], 20000.0f);
    expectError(R"({"nodes":[{"id":"s","type":"sine","params":{"freq":"loud"}}]})", "needs a number (Hz) or a note name (C4, F#3, Bb2), not 'loud'");
}

TEST(Compile, ModulationSourcesComeBeforeTheirTargetsInTheOrder)
{
    auto c = compileJson(R"({"nodes":[{"id":"car","type":"sine"},{"id":"mod","type":"sine"}],
        "connections":[{"from":"mod","to":"car.freq","depth":100},{"from":"car","to":"output"}]})");
    ASSERT_TRUE(c) << c.error();
    EXPECT_LT(c->findNode("mod"), c->findNode("car"));
    EXPECT_LT(c->findNode("car"), c->findNode("output"));
    ASSERT_EQ(c->mods.size(), 1u);
    EXPECT_EQ(c->mods[0].depth, 100.0f);
}

TEST(Compile, EveryNodeOfALargePatchIsFoundByIdAndOthersAreNot)
{
    PatchSpec spec;
    for (int i = 999; i >= 0; --i) // declared out of id order on purpose
        spec.nodes.push_back({"n" + std::to_string(i), i % 2 ? "sine" : "lfo", {}});
    spec.nodes.push_back({"n-", "sine", {}});
    spec.nodes.push_back({"N", "sine", {}});
    auto c = compile(spec, 1);
    ASSERT_TRUE(c) << c.error();
    ASSERT_EQ(c->nodes.size(), spec.nodes.size() + 1);
    for (std::size_t i = 0; i < c->nodes.size(); ++i)
        ASSERT_EQ(c->findNode(c->nodes[i].id), static_cast<int>(i)) << c->nodes[i].id;
    EXPECT_EQ(c->nodes[c->outputNode].id, "output");
    for (const char *absent : {"", "n", "n1000", "n00", "o", "outpu", "output2", "zz"})
        EXPECT_EQ(c->findNode(absent), -1) << absent;
}
