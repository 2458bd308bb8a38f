// The playing commands of the interpreter: notes into polys, /panic, MIDI messages, binds,
// controller maps and learning; templates checked by compile(); note names where Hz go.
#include "model/interpreter.hpp"
#include "model/modules/poly.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

using namespace chronus::model;
using S = std::string;

namespace {

void expectFail(Interpreter &c, const char *address, std::vector<Arg> args, const char *fragment)
{
    auto r = c.handle(address, args);
    ASSERT_FALSE(r) << address << " should fail";
    EXPECT_NE(r.error().find(fragment), std::string::npos) << "error was: " << r.error();
}

Interpreter withPolys()
{
    Interpreter c;
    auto spec = PatchSpec::fromJson(R"({"nodes":[
        {"id":"keys","type":"poly","params":{"voices":4}},
        {"id":"pad","type":"poly"},
        {"id":"lfo1","type":"lfo"}],
        "connections":[{"from":"keys","to":"output"},{"from":"pad","to":"output"}]})");
    EXPECT_TRUE(spec) << spec.error();
    EXPECT_TRUE(c.load(*spec));
    return c;
}

std::string compileError(const char *json)
{
    auto spec = PatchSpec::fromJson(json);
    if (!spec)
        return spec.error();
    auto c = compile(*spec, 1);
    return c ? "" : c.error();
}

} // namespace

TEST(Play, ANoteBecomesANoteOnWithPitchVelocityAndDuration)
{
    Interpreter c = withPolys();
    auto r = c.handle("/note/keys", {S("C#4"), 0.5f, 0.25f});
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->events.size(), 1u);
    const Event &e = r->events[0];
    EXPECT_EQ(e.type, EventType::NoteOn);
    EXPECT_EQ(e.node, static_cast<std::uint32_t>(c.live().findNode("keys")));
    EXPECT_EQ(e.value, 61.0f);
    EXPECT_EQ(e.value2, 0.5f);
    EXPECT_EQ(noteDurationUs(e), 250000u);
    // MIDI velocity, microtones, and velocity 0 as a release.
    auto midi = c.handle("/note/keys", {60.5f, 127});
    ASSERT_TRUE(midi);
    EXPECT_EQ(midi->events[0].value, 60.5f);
    EXPECT_EQ(midi->events[0].value2, 1.0f);
    EXPECT_EQ(noteDurationUs(midi->events[0]), 0u);
    auto zero = c.handle("/note/keys", {60, 0});
    ASSERT_TRUE(zero);
    EXPECT_EQ(zero->events[0].type, EventType::NoteOff);
}

TEST(Play, BadNotesFailWithAReason)
{
    Interpreter c = withPolys();
    expectFail(c, "/note/nope", {60, 1.0f}, "no poly 'nope' (polys: keys, pad)");
    expectFail(c, "/note/lfo1", {60, 1.0f}, "is a lfo, not a poly");
    expectFail(c, "/note/keys", {128, 1.0f}, "out of range");
    expectFail(c, "/note/keys", {S("H4"), 1.0f}, "neither a note name");
    expectFail(c, "/note/keys", {S("C10"), 1.0f}, "out of range");
    expectFail(c, "/note/keys", {60, 200}, "velocity");
    expectFail(c, "/note/keys", {60, 1.0f, -1.0f}, "duration");
    expectFail(c, "/note/keys", {60}, "takes <pitch> <velocity>");
    expectFail(c, "/note_off/keys", {}, "takes <pitch>");
}

TEST(Play, PanicCutsEveryPolyAndStopsSequencers)
{
    Interpreter c;
    auto spec = PatchSpec::fromJson(R"({"nodes":[{"id":"keys","type":"poly"},{"id":"s","type":"sequencer"}],
        "connections":[{"from":"keys","to":"output"}]})");
    ASSERT_TRUE(c.load(*spec));
    auto r = c.handle("/panic", {});
    ASSERT_TRUE(r) << r.error();
    int cuts = 0, stops = 0;
    for (const auto &e : r->events) {
        cuts += e.type == EventType::VoicesCut;
        stops += e.type == EventType::SetParam && e.value == 0.0f;
    }
    EXPECT_EQ(cuts, 1);
    EXPECT_EQ(stops, 1);
}

TEST(Play, MidiNotesReachThePolysBoundToTheirChannel)
{
    Interpreter c = withPolys();
    auto all = c.handle("/midi/in", {0x93, 60, 64}); // channel 4: both polys listen to every channel
    ASSERT_TRUE(all) << all.error();
    EXPECT_EQ(all->events.size(), 2u);
    ASSERT_TRUE(c.handle("/midi/bind", {S("keys"), 1}));
    ASSERT_TRUE(c.handle("/midi/bind", {S("pad"), S("none")}));
    auto ch4 = c.handle("/midi/in", {0x93, 60, 64});
    ASSERT_TRUE(ch4);
    EXPECT_TRUE(ch4->events.empty());
    auto ch1 = c.handle("/midi/in", {0x90, 60, 64});
    ASSERT_TRUE(ch1);
    ASSERT_EQ(ch1->events.size(), 1u);
    EXPECT_EQ(ch1->events[0].node, static_cast<std::uint32_t>(c.live().findNode("keys")));
    EXPECT_FLOAT_EQ(ch1->events[0].value2, 64.0f / 127.0f);
    // Note-on with velocity 0 is a note-off; bend, pressure, pedal, all notes off.
    EXPECT_EQ(c.handle("/midi/in", {0x90, 60, 0})->events[0].type, EventType::NoteOff);
    auto bend = c.handle("/midi/in", {0xE0, 0x7F, 0x7F});
    EXPECT_EQ(bend->events[0].type, EventType::Bend);
    EXPECT_FLOAT_EQ(bend->events[0].value, 1.0f);
    EXPECT_EQ(c.handle("/midi/in", {0xD0, 127})->events[0].type, EventType::Pressure);
    EXPECT_EQ(c.handle("/midi/in", {0xB0, 64, 127})->events[0].value, 1.0f);
    EXPECT_EQ(c.handle("/midi/in", {0xB0, 123, 0})->events[0].type, EventType::NotesOff);
    // System messages play nothing; broken ones fail.
    EXPECT_TRUE(c.handle("/midi/in", {0xF8})->events.empty());
    expectFail(c, "/midi/in", {0x90, 60}, "incomplete");
    expectFail(c, "/midi/in", {0x90, 200, 1}, "out of range");
    expectFail(c, "/midi/bind", {S("keys"), 17}, "channel");
}

TEST(Play, ControllerMapsScaleLinearlyAndFrequenciesInPitch)
{
    Interpreter c = withPolys();
    ASSERT_TRUE(c.handle("/midi/map", {74, S("keys.filter.cutoff"), 100.0f, 6400.0f}));
    ASSERT_TRUE(c.handle("/midi/map", {1, S("lfo1.depth"), 0.0f, 2.0f}));
    auto half = c.handle("/midi/in", {0xB0, 74, 127});
    ASSERT_TRUE(half) << half.error();
    ASSERT_EQ(half->events.size(), 1u);
    EXPECT_EQ(half->events[0].type, EventType::VoiceParam);
    EXPECT_NEAR(half->events[0].value, 6400.0f, 0.01f);
    // Half way in pitch: the geometric mean, 800 Hz.
    auto mid = c.handle("/midi/in", {0xB0, 74, 0});
    EXPECT_NEAR(mid->events[0].value, 100.0f, 0.01f);
    auto lin = c.handle("/midi/in", {0xB0, 1, 127});
    EXPECT_EQ(lin->events[0].type, EventType::SetParam);
    EXPECT_NEAR(lin->events[0].value, 2.0f, 1e-5f);
    // Learn: the next controller moved is mapped, over the parameter's whole range.
    ASSERT_TRUE(c.handle("/midi/learn", {S("lfo1.rate")}));
    ASSERT_TRUE(c.handle("/midi/in", {0xB0, 21, 0}));
    auto learnt = c.handle("/midi/in", {0xB0, 21, 127});
    ASSERT_EQ(learnt->events.size(), 1u);
    // Maps go with the patch.
    const std::string json = c.liveJson(-1);
    EXPECT_NE(json.find("\"cc\":21"), std::string::npos) << json;
    EXPECT_NE(json.find("keys.filter.cutoff"), std::string::npos) << json;
    auto reloaded = PatchSpec::fromJson(json);
    ASSERT_TRUE(reloaded) << reloaded.error();
    EXPECT_EQ(reloaded->midiMaps.size(), 3u);
    ASSERT_TRUE(c.handle("/midi/unmap", {21}));
    expectFail(c, "/midi/unmap", {21}, "no MIDI map");
    expectFail(c, "/midi/map", {74, S("keys.nothing.cutoff")}, "no template node 'nothing'");
    expectFail(c, "/midi/learn", {S("lfo1.nope")}, "no parameter 'nope'");
}

TEST(Play, ATemplateParameterIsSetInEveryVoiceAndKeptForTheDump)
{
    Interpreter c = withPolys();
    auto r = c.handle("/mod/keys/filter.cutoff", {S("A5")}); // 880 Hz by name
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->events.size(), 1u);
    EXPECT_EQ(r->events[0].type, EventType::VoiceParam);
    EXPECT_NEAR(r->events[0].value, 880.0f, 1e-3f);
    const std::string json = c.liveJson(-1);
    EXPECT_NE(json.find("\"cutoff\":880"), std::string::npos) << json;
    // The dump reloads and compiles to the same template value.
    auto spec = PatchSpec::fromJson(json);
    ASSERT_TRUE(spec);
    auto compiled = compile(*spec, 1);
    ASSERT_TRUE(compiled) << compiled.error();
    const auto &voice = *compiled->nodes[compiled->findNode("keys")].voice;
    EXPECT_NEAR(voice.nodes[voice.findNode("filter")].paramValues[1], 880.0f, 1e-3f);
    // More voices than built: a warning, it applies at the next commit.
    auto more = c.handle("/mod/keys/voices", {16});
    ASSERT_TRUE(more);
    EXPECT_NE(more->warning.find("next /patch/commit"), std::string::npos);
}

TEST(Play, FrequencyParametersTakeNoteNamesAndNumbersStayHertz)
{
    Interpreter c = withPolys();
    ASSERT_TRUE(c.handle("/patch/create", {S("o"), S("osc")}));
    ASSERT_TRUE(c.handle("/patch/commit", {}));
    auto named = c.handle("/mod/o/freq", {S("C4")});
    ASSERT_TRUE(named) << named.error();
    EXPECT_NEAR(named->events[0].value, 261.6256f, 1e-3f);
    auto number = c.handle("/mod/o/freq", {60});
    EXPECT_EQ(number->events[0].value, 60.0f) << "a number stays Hz";
    expectFail(c, "/mod/o/amp", {S("C4")}, "needs a number");
}

TEST(Play, TemplatesMustPlayNotesAndStayInsideAPoly)
{
    EXPECT_NE(compileError(R"({"nodes":[{"id":"p","type":"poly","voice":{"nodes":[{"id":"o","type":"osc"}],
        "connections":[{"from":"o","to":"output"}]}}]})").find("nothing reads voice.gate"), std::string::npos);
    EXPECT_NE(compileError(R"({"nodes":[{"id":"p","type":"poly","voice":{"nodes":[{"id":"e","type":"adsr"}],
        "connections":[{"from":"voice.gate","to":"e.gate"},{"from":"e","to":"output"}]}}]})")
                  .find("nothing reads voice.pitch"), std::string::npos);
    EXPECT_NE(compileError(R"({"nodes":[{"id":"p","type":"poly","voice":{"nodes":[{"id":"q","type":"poly"}]}}]})")
                  .find("cannot hold a poly"), std::string::npos);
    EXPECT_NE(compileError(R"({"nodes":[{"id":"v","type":"voice"}]})").find("only inside a poly"), std::string::npos);
    EXPECT_NE(compileError(R"({"nodes":[{"id":"p","type":"poly","voice":"/no/such/file.json"}]})")
                  .find("cannot read file"), std::string::npos);
    EXPECT_EQ(compileError(R"({"nodes":[{"id":"p","type":"poly"}],"connections":[{"from":"p","to":"output"}]})"), "");
}

TEST(Play, MidiMapsListsTheMapsTheBindsAndWhatIsBeingLearnt)
{
    Interpreter c = withPolys();
    auto listed = [&] {
        auto r = c.handle("/midi/maps", {});
        EXPECT_TRUE(r) << (r ? "" : r.error());
        EXPECT_EQ(r->reply.size(), 1u);
        return nlohmann::json::parse(std::get<std::string>(r->reply.at(0)));
    };
    const auto none = listed();
    EXPECT_EQ(none["maps"], nlohmann::json::array());
    EXPECT_EQ(none["learning"], "");
    ASSERT_TRUE(c.handle("/midi/map", {74, S("keys.filter.cutoff"), 100.0f, 6400.0f}));
    ASSERT_TRUE(c.handle("/midi/map", {1, S("lfo1.depth")}));
    ASSERT_TRUE(c.handle("/midi/bind", {S("keys"), 3}));
    ASSERT_TRUE(c.handle("/midi/bind", {S("pad"), S("none")}));
    ASSERT_TRUE(c.handle("/midi/learn", {S("lfo1.rate")}));
    const auto some = listed();
    ASSERT_EQ(some["maps"].size(), 2u) << some.dump();
    EXPECT_EQ(some["maps"][0]["cc"], 74);
    EXPECT_EQ(some["maps"][0]["to"], "keys.filter.cutoff");
    EXPECT_NEAR(some["maps"][0]["min"].get<double>(), 100.0, 1e-6);
    EXPECT_NEAR(some["maps"][0]["max"].get<double>(), 6400.0, 1e-6);
    EXPECT_EQ(some["maps"][1]["cc"], 1);
    EXPECT_EQ(some["maps"][1]["to"], "lfo1.depth");
    EXPECT_LT(some["maps"][1]["min"].get<double>(), some["maps"][1]["max"].get<double>()) << "the whole range";
    EXPECT_EQ(some["bind"]["keys"], 3);
    EXPECT_EQ(some["bind"]["pad"], "none");
    EXPECT_EQ(some["learning"], "lfo1.rate");
    ASSERT_TRUE(c.handle("/midi/unmap", {74}));
    const auto fewer = listed();
    ASSERT_EQ(fewer["maps"].size(), 1u);
    EXPECT_EQ(fewer["maps"][0]["cc"], 1);
    expectFail(c, "/midi/maps", {1}, "takes no arguments");
}

TEST(Play, MoreVoicesThanAPolyCanHaveAreRefusedWithTheRange)
{
    EXPECT_NE(compileError(R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":100}}]})")
                  .find("node 'keys': parameter 'voices' must be from 1 to 64, not 100"),
              std::string::npos)
        << compileError(R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":100}}]})");
    EXPECT_NE(compileError(R"({"nodes":[{"id":"keys","type":"poly","params":{"polyphony":"0"}}]})")
                  .find("parameter 'voices' must be from 1 to 64, not 0"),
              std::string::npos);
    EXPECT_EQ(compileError(R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":64}}]})"), "");
    // Asking a live poly for such a count, creating or loading such a poly fail the same way.
    Interpreter c = withPolys();
    expectFail(c, "/mod/keys/voices", {100}, "node 'keys': parameter 'voices' must be from 1 to 64, not 100");
    expectFail(c, "/mod/keys/polyphony", {0}, "must be from 1 to 64, not 0");
    expectFail(c, "/patch/create", {S("more"), S("poly"), S("voices"), 65},
               "node 'more': parameter 'voices' must be from 1 to 64, not 65");
    auto bad = PatchSpec::fromJson(R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":100}}]})");
    ASSERT_TRUE(bad);
    auto loaded = c.load(*bad);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().find("must be from 1 to 64"), std::string::npos) << loaded.error();
    // Other numbers stay clamped, with a warning.
    auto gain = c.handle("/mod/keys/gain", {9.0f});
    ASSERT_TRUE(gain);
    EXPECT_NE(gain->warning.find("clamped"), std::string::npos);
}

TEST(Stems, StemCommitsTheLivePatchWithTheStemAndKeepsItInDumpsAndPendingEdits)
{
    Interpreter c;
    auto spec = PatchSpec::fromJson(R"({"nodes":[{"id":"a","type":"osc"},{"id":"b","type":"noise"}],
        "connections":[{"from":"a","to":"output"},{"from":"b","to":"output"}],"stems":["b"]})");
    ASSERT_TRUE(spec) << spec.error();
    ASSERT_TRUE(c.load(*spec));
    EXPECT_EQ(c.liveStems(), (std::vector<S>{"b"}));
    auto r = c.handle("/stem", {S("a"), 1});
    ASSERT_TRUE(r) << r.error();
    ASSERT_TRUE(r->commit);
    EXPECT_EQ(r->crossfadeMs, 0.0f);
    ASSERT_EQ(r->commit->stems.size(), 2u);
    EXPECT_EQ(r->commit->nodes[r->commit->stems[1].node].id, "a");
    EXPECT_EQ(c.liveStems(), (std::vector<S>{"b", "a"}));
    EXPECT_NE(c.liveJson().find("\"stems\""), std::string::npos);
    // A later commit of pending edits keeps the stems; deleting a stem node drops its stem.
    ASSERT_TRUE(c.handle("/patch/delete", {S("b")}));
    auto committed = c.handle("/patch/commit", {});
    ASSERT_TRUE(committed) << committed.error();
    EXPECT_EQ(c.liveStems(), (std::vector<S>{"a"}));
    ASSERT_TRUE(c.handle("/stem", {S("a"), S("off")}));
    EXPECT_TRUE(c.liveStems().empty());
    EXPECT_EQ(c.liveJson().find("\"stems\""), std::string::npos);
}

TEST(Stems, BadStemsAreRefusedWithAReason)
{
    Interpreter c;
    auto spec = PatchSpec::fromJson(R"({"nodes":[{"id":"a","type":"osc"},{"id":"b","type":"osc"},{"id":"c","type":"osc"}],
        "connections":[{"from":"a","to":"output"}]})");
    ASSERT_TRUE(spec) << spec.error();
    ASSERT_TRUE(c.load(*spec));
    expectFail(c, "/stem", {S("nosuch"), 1}, "no node 'nosuch'");
    expectFail(c, "/stem", {S("a"), 0}, "not a stem");
    expectFail(c, "/stem", {S("a"), 3}, "/stem takes <node> <1|0>");
    c.setStemLimit(2);
    ASSERT_TRUE(c.handle("/stem", {S("a"), 1}));
    ASSERT_TRUE(c.handle("/stem", {S("b"), 1}));
    expectFail(c, "/stem", {S("b"), 1}, "a stem already");
    expectFail(c, "/stem", {S("c"), 1}, "all 2 stems are in use");
    EXPECT_NE(compileError(R"({"nodes":[{"id":"a","type":"osc"}],"stems":["zz"]})").find("stem 'zz': no such node"),
              std::string::npos);
    EXPECT_NE(compileError(R"({"nodes":[{"id":"a","type":"osc"}],"stems":["a","a"]})").find("listed twice"),
              std::string::npos);
    EXPECT_NE(compileError(R"({"nodes":[{"id":"a","type":"osc"}],"stems":"a"})").find("list of node ids"),
              std::string::npos);
}

// What may play before a commit that arrived ahead of it: notes and MIDI that only play the
// live patch; never a command that changes the interpreter (a mapped controller sets a
// parameter the next commit carries; a controller while /midi/learn waits maps it).
TEST(Play, OnlyNotesAndPlayingMidiCountAsOnlyPlaying)
{
    Interpreter c = withPolys();
    EXPECT_TRUE(c.onlyPlays("/note/keys", {60, 0.5f}));
    EXPECT_TRUE(c.onlyPlays("/note_off/keys", {60}));
    EXPECT_TRUE(c.onlyPlays("/notes_off", {}));
    EXPECT_TRUE(c.onlyPlays("/notes_off/pad", {}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0x90, 60, 100}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0x83, 60, 0}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0xE0, 0, 0x50}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0xD0, 40}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0xB0, 64, 127}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0xB0, 123, 0}));
    EXPECT_TRUE(c.onlyPlays("/midi/in", {0xF8}));
    EXPECT_FALSE(c.onlyPlays("/midi/in", {0xB0, 74, 20})) << "a controller may be mapped to a parameter";
    EXPECT_FALSE(c.onlyPlays("/midi/in", {0x40}));
    EXPECT_FALSE(c.onlyPlays("/gate/keys", {1}));
    EXPECT_FALSE(c.onlyPlays("/panic", {}));
    EXPECT_FALSE(c.onlyPlays("/mod/lfo1/rate", {2.0f}));
    EXPECT_FALSE(c.onlyPlays("/patch/commit", {}));
    ASSERT_TRUE(c.handle("/midi/learn", {S("lfo1.rate")}));
    EXPECT_FALSE(c.onlyPlays("/midi/in", {0xB0, 64, 127})) << "the next controller moved is mapped";
}

// Each commit keeps the interpreter as it was before it: notes resolved against it address
// the old patch's nodes with the old generation, and nothing done with it reaches the new.
TEST(Play, BeforeLastCommitResolvesNotesAgainstThePatchItReplaced)
{
    Interpreter c = withPolys();
    const auto oldGeneration = c.generation();
    const int oldKeys = c.live().findNode("keys");
    ASSERT_TRUE(c.handle("/patch/load", {S(R"({"nodes":[{"id":"lead","type":"poly"},{"id":"keys","type":"poly"}],
        "connections":[{"from":"keys","to":"output"}]})")}));
    ASSERT_EQ(c.generation(), oldGeneration + 1);
    auto before = c.beforeLastCommit();
    ASSERT_TRUE(before);
    EXPECT_EQ(before->generation(), oldGeneration);
    auto old = before->handle("/note/keys", {60, 0.5f});
    ASSERT_TRUE(old) << old.error();
    EXPECT_EQ(old->events.at(0).generation, oldGeneration);
    EXPECT_EQ(old->events.at(0).node, std::uint32_t(oldKeys));
    EXPECT_NE(oldKeys, c.live().findNode("keys")) << "the test needs the node to move";
    EXPECT_FALSE(before->handle("/note/lead", {60, 0.5f})) << "the old patch has no lead";
    auto now = c.handle("/note/lead", {60, 0.5f});
    ASSERT_TRUE(now) << now.error();
    EXPECT_EQ(now->events.at(0).generation, oldGeneration + 1);
    // The next commit keeps the one before it, not a chain.
    ASSERT_TRUE(c.handle("/patch/commit", {}));
    EXPECT_EQ(c.beforeLastCommit()->generation(), oldGeneration + 1);
    EXPECT_FALSE(c.beforeLastCommit()->beforeLastCommit());
}
