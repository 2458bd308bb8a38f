// Graph building and processing: the stereo output rules, summed inputs, and state that
// follows nodes by id from one graph to the next.
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

} // namespace

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
