// Patch compilation: every mistake is an error that names its culprit; valid patches
// get a topological order and the stereo output rules.
#include "synth-worker/engine/graph.hpp"

#include <gtest/gtest.h>

using namespace chronus::engine;
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

TEST(Graph, UnknownTypeIsNamedWithTheNode)
{
    expectError(R"({"nodes":[{"id":"f1","type":"filtr"}]})", "node 'f1': unknown module type 'filtr'");
}

TEST(Graph, UnknownParameterIsNamedWithTheNodeAndTheValidNames)
{
    expectError(R"({"nodes":[{"id":"s","type":"sine","params":{"frq":3}}]})", "no parameter 'frq' (parameters: freq, gain)");
}

TEST(Graph, UnknownPortOrParameterInAConnectionIsNamed)
{
    expectError(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"s","to":"output.cutof"}]})",
                "connection s -> output.cutof: module 'output' has no input or parameter 'cutof'");
    expectError(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"s.nope","to":"output"}]})",
                "has no output 'nope'");
    expectError(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"x","to":"output"}]})", "no node 'x'");
}

TEST(Graph, CycleIsAnErrorThatListsTheNodesInIt)
{
    expectError(R"({"nodes":[{"id":"a","type":"sine"},{"id":"b","type":"sine"}],
        "connections":[{"from":"a","to":"b.freq"},{"from":"b","to":"a.freq"}]})",
                "cycle: ");
    auto c = compileJson(R"({"nodes":[{"id":"a","type":"sine"},{"id":"b","type":"sine"}],
        "connections":[{"from":"a","to":"b.freq"},{"from":"b","to":"a.freq"}]})");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().find("a -> b -> a"), std::string::npos) << c.error();
}

TEST(Graph, ACycleIsNamedByItsOwnNodesWhateverElseIsConnectedToIt)
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

TEST(Graph, DuplicateAndInvalidIdsAreRefused)
{
    expectError(R"({"nodes":[{"id":"a","type":"sine"},{"id":"a","type":"sine"}]})", "node 'a' is defined twice");
    expectError(R"({"nodes":[{"id":"a b","type":"sine"}]})", "is not valid");
    expectError(R"({"nodes":[{"id":"o2","type":"output"}]})", "there is one output node");
}

TEST(Graph, OutOfRangeValuesInAPatchAreClampedAndBadWordsRefused)
{
    auto c = compileJson(R"({"nodes":[{"id":"s","type":"sine","params":{"freq":1e9}}]})");
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->nodes[c->findNode("s")].paramValues[0], 20000.0f);
    expectError(R"({"nodes":[{"id":"s","type":"sine","params":{"freq":"loud"}}]})", "needs a number, not 'loud'");
}

TEST(Graph, ModulationSourcesComeBeforeTheirTargetsInTheOrder)
{
    auto c = compileJson(R"({"nodes":[{"id":"car","type":"sine"},{"id":"mod","type":"sine"}],
        "connections":[{"from":"mod","to":"car.freq","depth":100},{"from":"car","to":"output"}]})");
    ASSERT_TRUE(c) << c.error();
    EXPECT_LT(c->findNode("mod"), c->findNode("car"));
    EXPECT_LT(c->findNode("car"), c->findNode("output"));
    ASSERT_EQ(c->mods.size(), 1u);
    EXPECT_EQ(c->mods[0].depth, 100.0f);
}

TEST(Graph, MonoSourceConnectedToOutputFeedsBothChannels)
{
    auto c = compileJson(R"({"nodes":[{"id":"s","type":"sine"}],"connections":[{"from":"s","to":"output"}]})");
    ASSERT_TRUE(c) << c.error();
    ASSERT_EQ(c->audio.size(), 2u);
    EXPECT_EQ(c->audio[0].toInput, 0u);
    EXPECT_EQ(c->audio[1].toInput, 1u);

    auto g = Graph::build(*c, 48000, 64);
    ASSERT_TRUE(g) << g.error();
    std::vector<float> l(64), r(64);
    (*g)->process(64, l.data(), r.data());
    EXPECT_EQ(l, r);
    EXPECT_NE(l[10], 0.0f);
}

TEST(Graph, AudioConnectionsToOneInputSum)
{
    auto one = compileJson(R"({"nodes":[{"id":"a","type":"sine","params":{"freq":500}}],
        "connections":[{"from":"a","to":"output.L"}]})");
    auto two = compileJson(R"({"nodes":[{"id":"a","type":"sine","params":{"freq":500}},{"id":"b","type":"sine","params":{"freq":500}}],
        "connections":[{"from":"a","to":"output.L"},{"from":"b","to":"output.L","depth":0.5}]})");
    ASSERT_TRUE(one && two);
    auto g1 = Graph::build(*one, 48000, 128);
    auto g2 = Graph::build(*two, 48000, 128);
    std::vector<float> l1(128), r1(128), l2(128), r2(128);
    (*g1)->process(128, l1.data(), r1.data());
    (*g2)->process(128, l2.data(), r2.data());
    for (int i = 0; i < 128; ++i) {
        EXPECT_FLOAT_EQ(l2[i], 1.5f * l1[i]);
        EXPECT_EQ(r2[i], 0.0f);
    }
}

TEST(Graph, PatchJsonRoundTripsAndRejectsMalformedText)
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

TEST(Graph, TextThatIsNotJsonIsRefusedWithItsLineAndColumn)
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

TEST(Graph, EveryNodeOfALargePatchIsFoundByIdAndOthersAreNot)
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

TEST(Graph, InheritedStateFollowsNodesByIdWhateverTheirOrder)
{
    // The same three sines declared in the opposite order: after inheriting, the second
    // graph continues exactly where the first one is.
    const char *forward = R"({"nodes":[{"id":"a","type":"sine","params":{"freq":110}},
        {"id":"b","type":"sine","params":{"freq":220}},{"id":"c","type":"sine","params":{"freq":330}}],
        "connections":[{"from":"a","to":"output"},{"from":"b","to":"output"},{"from":"c","to":"output"}]})";
    const char *reversed = R"({"nodes":[{"id":"c","type":"sine","params":{"freq":330}},
        {"id":"b","type":"sine","params":{"freq":220}},{"id":"a","type":"sine","params":{"freq":110}}],
        "connections":[{"from":"a","to":"output"},{"from":"b","to":"output"},{"from":"c","to":"output"}]})";
    auto c1 = compileJson(forward);
    auto c2 = compileJson(reversed);
    ASSERT_TRUE(c1 && c2);
    ASSERT_NE(c1->nodes[0].id, c2->nodes[0].id);
    auto g1 = Graph::build(*c1, 48000, 64);
    auto g2 = Graph::build(*c2, 48000, 64);
    ASSERT_TRUE(g1 && g2);
    std::vector<float> l1(64), r1(64), l2(64), r2(64);
    for (int k = 0; k < 7; ++k)
        (*g1)->process(64, l1.data(), r1.data());
    (*g2)->inheritState(**g1);
    (*g1)->process(64, l1.data(), r1.data());
    (*g2)->process(64, l2.data(), r2.data());
    EXPECT_EQ(l1, l2);
    EXPECT_EQ(r1, r2);
}
