// The command vocabulary: what /patch, /mod, /gate and /seq accept, refuse and produce.
#include "model/interpreter.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

using namespace chronus::model;

namespace {

std::string S(const char *s) { return s; }

void expectFail(Interpreter &c, const char *address, std::vector<Arg> args, const char *fragment)
{
    auto r = c.handle(address, args);
    ASSERT_FALSE(r) << address << " should fail";
    EXPECT_NE(r.error().find(fragment), std::string::npos) << "error was: " << r.error();
}

Interpreter withSine()
{
    Interpreter c;
    EXPECT_TRUE(c.handle("/patch/create", {S("s1"), S("simple_sine")}));
    EXPECT_TRUE(c.handle("/patch/connect", {S("s1"), S("output")}));
    EXPECT_TRUE(c.handle("/patch/commit", {}));
    return c;
}

} // namespace

TEST(Interpreter, PrototypeSessionBuildsAndCommitsAPatch)
{
    Interpreter c;
    ASSERT_TRUE(c.handle("/patch/create", {S("sine"), S("simple_sine")}));
    ASSERT_TRUE(c.handle("/patch/connect", {S("sine"), S("output")}));
    EXPECT_TRUE(c.pendingDirty());
    auto commit = c.handle("/patch/commit", {});
    ASSERT_TRUE(commit) << commit.error();
    ASSERT_TRUE(commit->commit);
    EXPECT_EQ(commit->commit->generation, 1u);
    EXPECT_EQ(commit->crossfadeMs, kDefaultCrossfadeMs);
    EXPECT_GE(c.live().findNode("sine"), 0);
}

TEST(Interpreter, ModResolvesToAnEventWithIndicesAndClampsWithAWarning)
{
    Interpreter c = withSine();
    auto r = c.handle("/mod/s1/frequency", {880.0f});
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->events.size(), 1u);
    EXPECT_EQ(r->events[0].node, static_cast<std::uint32_t>(c.live().findNode("s1")));
    EXPECT_EQ(r->events[0].param, 0u);
    EXPECT_EQ(r->events[0].value, 880.0f);
    EXPECT_TRUE(r->warning.empty());
    auto clamped = c.handle("/mod/s1/freq", {1e7f});
    ASSERT_TRUE(clamped);
    EXPECT_EQ(clamped->events[0].value, 20000.0f);
    EXPECT_NE(clamped->warning.find("clamped"), std::string::npos);
    // The value is remembered for /patch/dump.
    EXPECT_NE(c.liveJson(-1).find("20000"), std::string::npos) << c.liveJson(-1);
}

TEST(Interpreter, BadCommandsFailWithAReason)
{
    Interpreter c = withSine();
    expectFail(c, "/mod/nope/freq", {1.0f}, "no node 'nope'");
    expectFail(c, "/mod/s1/nope", {1.0f}, "has no parameter 'nope' (parameters: freq, gain)");
    expectFail(c, "/mod/s1/freq", {}, "missing value");
    expectFail(c, "/mod/s1/freq", {S("fast")}, "needs a number");
    expectFail(c, "/mod/s1", {1.0f}, "/mod/<node>/<param>");
    expectFail(c, "/gate/s1", {1}, "has no gate");
    expectFail(c, "/patch/create", {S("x"), S("nosuch")}, "unknown module type 'nosuch'");
    expectFail(c, "/patch/create", {S("s1"), S("sine")}, "already exists");
    expectFail(c, "/patch/connect", {S("s1"), S("output.nope")}, "no input or parameter 'nope'");
    expectFail(c, "/patch/disconnect", {S("s1"), S("nowhere")}, "no connection");
    expectFail(c, "/patch/delete", {S("output")}, "cannot be deleted");
    expectFail(c, "/patch/commit", {S("soon")}, "optional crossfade");
    expectFail(c, "/patch/load", {S("/no/such/file.json")}, "cannot read patch file");
    expectFail(c, "/patch/load", {S("{not json")}, "not valid JSON");
    expectFail(c, "/nonsense", {}, "unknown address");
    expectFail(c, "/seq/start", {S("s1")}, "not a sequencer");
    // Extra arguments are refused, not ignored.
    expectFail(c, "/patch/delete", {S("s1"), S("also")}, "takes one argument");
    expectFail(c, "/patch/abort", {1}, "takes no arguments");
    expectFail(c, "/patch/dump", {S("x")}, "takes no arguments");
    expectFail(c, "/patch/clear", {S("x")}, "takes no arguments");
    for (const char *verb : {"/seq/start", "/seq/stop", "/seq/reset"})
        expectFail(c, verb, {S("s1"), 1}, "takes one argument");
    expectFail(c, "/seq/create", {S("q"), 16, 120.0f, 3}, "/seq/create takes");
    expectFail(c, "/seq/create", {S("q"), S("sixteen")}, "/seq/create takes");
    // Nothing above changed the live patch.
    EXPECT_EQ(c.generation(), 1u);
}

TEST(Interpreter, ACycleIsRefusedAtTheConnectThatMakesIt)
{
    Interpreter c;
    ASSERT_TRUE(c.handle("/patch/create", {S("a"), S("sine")}));
    ASSERT_TRUE(c.handle("/patch/create", {S("b"), S("sine")}));
    ASSERT_TRUE(c.handle("/patch/connect", {S("a"), S("b.freq"), 10.0f}));
    expectFail(c, "/patch/connect", {S("b"), S("a.freq"), 10.0f}, "cycle");
    EXPECT_EQ(c.pending().connections.size(), 1u);
}

TEST(Interpreter, AbortRestoresThePendingPatchFromTheLiveOne)
{
    Interpreter c = withSine();
    ASSERT_TRUE(c.handle("/patch/delete", {S("s1")}));
    EXPECT_EQ(c.pending().nodes.size(), 0u);
    EXPECT_EQ(c.pending().connections.size(), 0u);
    ASSERT_TRUE(c.handle("/patch/abort", {}));
    EXPECT_EQ(c.pending().nodes.size(), 1u);
    EXPECT_FALSE(c.pendingDirty());
}

TEST(Interpreter, GateAcceptsOnlyGateWords)
{
    if (!findModule("adsr"))
        GTEST_FAIL() << "adsr module missing from the catalogue";
    Interpreter c;
    ASSERT_TRUE(c.handle("/patch/create", {S("env"), S("adsr")}));
    ASSERT_TRUE(c.handle("/patch/connect", {S("env"), S("output")}));
    ASSERT_TRUE(c.handle("/patch/commit", {}));
    for (Arg on : {Arg(1), Arg(1.0f), Arg(S("on")), Arg(S("true"))}) {
        auto r = c.handle("/gate/env", {on});
        ASSERT_TRUE(r) << argText(on) << ": " << r.error();
        EXPECT_EQ(r->events[0].value, 1.0f);
    }
    for (Arg off : {Arg(0), Arg(S("off")), Arg(S("false"))}) {
        auto r = c.handle("/gate/env", {off});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->events[0].value, 0.0f);
    }
    expectFail(c, "/gate/env", {S("banana")}, "on/off");
    expectFail(c, "/gate/env", {}, "one value");
}

TEST(Interpreter, SeqCommandsMapOntoSequencerNodes)
{
    if (!findModule("sequencer"))
        GTEST_FAIL() << "sequencer module missing from the catalogue";
    Interpreter c;
    ASSERT_TRUE(c.handle("/seq/create", {S("seq1"), 16, 128}));
    ASSERT_TRUE(c.handle("/patch/commit", {}));
    auto pattern = c.handle("/seq/pattern", {S("seq1"), S("x..xX...")});
    ASSERT_TRUE(pattern) << pattern.error();
    EXPECT_EQ(pattern->events.size(), 9u); // 8 steps + length
    auto notes = c.handle("/seq/notes", {S("seq1"), S("C4"), S("E4"), S("G4")});
    ASSERT_TRUE(notes) << notes.error();
    EXPECT_EQ(notes->events.size(), 13u); // 3 steps of 4 chord notes + length
    auto stop = c.handle("/seq/stop", {S("seq1")});
    ASSERT_TRUE(stop);
    EXPECT_EQ(stop->events[0].value, 0.0f);
    auto reset = c.handle("/seq/reset", {S("seq1")});
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->events[0].type, EventType::ResetNode);
    expectFail(c, "/seq/pattern", {S("seq1"), S("x?x")}, "?");
    expectFail(c, "/seq/dance", {S("seq1")}, "unknown /seq command");
}

// ---------------------------------------------------------------------------------------
// Parameters are stored under their canonical names: a value given under an alias replaces
// one given under any other name of the same parameter, and /patch/dump holds one key.

namespace {

// The params object of node `id` in the live patch's dump, parsed as it is written.
nlohmann::ordered_json dumpedParams(const Interpreter &c, const std::string &id)
{
    const auto doc = nlohmann::ordered_json::parse(c.liveJson(-1));
    for (const auto &node : doc["nodes"])
        if (node["id"] == id)
            return node["params"];
    ADD_FAILURE() << "no node " << id << " in " << c.liveJson(-1);
    return {};
}

float liveValue(const Interpreter &c, const std::string &id, const std::string &param)
{
    const auto &node = c.live().nodes[c.live().findNode(id)];
    return node.paramValues[node.spec->findParam(param)];
}

Interpreter withLead()
{
    Interpreter c;
    EXPECT_TRUE(c.handle("/patch/create", {S("lead"), S("osc")}));
    EXPECT_TRUE(c.handle("/patch/connect", {S("lead"), S("output")}));
    EXPECT_TRUE(c.handle("/patch/commit", {}));
    return c;
}

} // namespace

TEST(Interpreter, AParameterSetByAliasAndThenByItsNameIsStoredOnceUnderItsName)
{
    Interpreter c = withLead();
    ASSERT_TRUE(c.handle("/mod/lead/frequency", {330.0f}));
    ASSERT_TRUE(c.handle("/mod/lead/freq", {440.0f}));
    const auto params = dumpedParams(c, "lead");
    EXPECT_EQ(params.size(), 1u) << params.dump();
    EXPECT_EQ(params.value("freq", 0.0), 440.0) << params.dump();
    // The next commit carries the latest value.
    ASSERT_TRUE(c.handle("/patch/commit", {}));
    EXPECT_EQ(liveValue(c, "lead", "freq"), 440.0f);
}

TEST(Interpreter, AParameterSetByNameAndThenByAliasIsStoredOnceUnderItsName)
{
    Interpreter c = withLead();
    ASSERT_TRUE(c.handle("/mod/lead/freq", {330.0f}));
    ASSERT_TRUE(c.handle("/mod/lead/pitch", {440.0f}));
    const auto params = dumpedParams(c, "lead");
    EXPECT_EQ(params.size(), 1u) << params.dump();
    EXPECT_EQ(params.value("freq", 0.0), 440.0) << params.dump();
    ASSERT_TRUE(c.handle("/patch/commit", {}));
    EXPECT_EQ(liveValue(c, "lead", "freq"), 440.0f);
    // And a reload of the dump gives the same patch.
    Interpreter again;
    ASSERT_TRUE(again.handle("/patch/load", {c.liveJson(-1)}));
    EXPECT_EQ(again.liveJson(-1), c.liveJson(-1));
}

TEST(Interpreter, CreateAndPendingNodesStoreCanonicalNamesToo)
{
    Interpreter c;
    ASSERT_TRUE(c.handle("/patch/create", {S("f"), S("biquad"), S("resonance"), 2.0f, S("q"), 3.0f,
                                           S("frequency"), 500.0f}));
    // Not live yet: set in the pending patch.
    ASSERT_TRUE(c.handle("/mod/f/freq", {700.0f}));
    ASSERT_EQ(c.pending().nodes.size(), 1u);
    const auto &params = c.pending().nodes[0].params;
    ASSERT_EQ(params.size(), 2u);
    EXPECT_EQ(params[0].first, "q");
    EXPECT_EQ(std::get<double>(params[0].second), 3.0);
    EXPECT_EQ(params[1].first, "cutoff");
    EXPECT_EQ(std::get<double>(params[1].second), 700.0);
}

TEST(Interpreter, APatchFileGivingAParameterUnderTwoNamesKeepsTheLaterOne)
{
    for (const auto &[text, expected] :
         {std::pair{R"({"nodes":[{"id":"lead","type":"osc","params":{"freq":330,"frequency":440}}]})", 440.0},
          std::pair{R"({"nodes":[{"id":"lead","type":"osc","params":{"frequency":440,"freq":330}}]})", 330.0},
          std::pair{R"({"nodes":[{"id":"lead","type":"osc","params":{"pitch":220,"freq":330,"frequency":110}}]})",
                    110.0}}) {
        Interpreter c;
        auto loaded = c.handle("/patch/load", {S(text)});
        ASSERT_TRUE(loaded) << loaded.error();
        const auto params = dumpedParams(c, "lead");
        EXPECT_EQ(params.size(), 1u) << text << " dumped " << params.dump();
        EXPECT_EQ(params.value("freq", 0.0), expected) << text;
        EXPECT_EQ(liveValue(c, "lead", "freq"), static_cast<float>(expected)) << text;
    }
}
