// The poly node through the real engine: chords, voice stealing, release tails, the pedal,
// template parameters, the gate input from a sequencer, block-size independence and
// snapshots (what both workers and chronus-render rely on).
#include "engine_fixtures.hpp"

#include "synth-worker/engine/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

using namespace chronus;
using chronus::test::renderWith;
using chronus::test::TimedCommand;
using model::PatchSpec;
using S = std::string;

namespace {

constexpr double kRate = 48000.0;

// A poly of `voices` voices whose template is a pure sine with a short attack and release:
// its output is smooth, so a click is any step larger than the sines' own slope.
PatchSpec sinePoly(int voices, const char *extraParams = "")
{
    const std::string text = std::string(R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":)") +
                             std::to_string(voices) + extraParams + R"(},"voice":{
        "nodes":[{"id":"osc","type":"osc","params":{"waveform":"sine","amp":0.3}},
                 {"id":"env","type":"adsr","params":{"attack":5,"decay":0,"sustain":1,"release":30}}],
        "connections":[{"from":"voice.pitch","to":"osc.freq"},{"from":"voice.gate","to":"env.gate"},
                       {"from":"osc","to":"env"},{"from":"env","to":"output"}]}}],
        "connections":[{"from":"keys","to":"output"}]})";
    auto spec = PatchSpec::fromJson(text);
    EXPECT_TRUE(spec) << (spec ? "" : spec.error());
    return *spec;
}

PatchSpec defaultPoly()
{
    auto spec = PatchSpec::fromJson(
        R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":6}}],"connections":[{"from":"keys","to":"output"}]})");
    return *spec;
}

std::vector<float> leftOf(const std::vector<float> &lr) { return {lr.begin(), lr.begin() + lr.size() / 2}; }

bool bitIdentical(const std::vector<float> &a, const std::vector<float> &b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

float maxStep(const std::vector<float> &x, std::size_t from, std::size_t to)
{
    float worst = 0.0f;
    for (std::size_t i = std::max<std::size_t>(from, 1); i < to; ++i)
        worst = std::max(worst, std::fabs(x[i] - x[i - 1]));
    return worst;
}

float peak(const std::vector<float> &x, std::size_t from, std::size_t to)
{
    float p = 0.0f;
    for (std::size_t i = from; i < to; ++i)
        p = std::max(p, std::fabs(x[i]));
    return p;
}

} // namespace

TEST(Poly, AChordOfThreeNotesIsTheSumOfThreeSingleNoteRenders)
{
    const PatchSpec spec = defaultPoly();
    const std::uint64_t frames = 96000;
    const std::vector<TimedCommand> chord = {
        {4800, "/note/keys", {S("C4"), 0.8f, 1.0f}},
        {4800, "/note/keys", {S("Eb4"), 0.6f, 1.0f}},
        {4800, "/note/keys", {67, 100, 1.0f}}, // G4 by number, velocity in MIDI units
    };
    const auto together = renderWith(spec, chord, frames, 256);
    std::vector<float> sum(together.size(), 0.0f);
    for (const auto &one : chord) {
        const auto alone = renderWith(spec, {one}, frames, 256);
        for (std::size_t i = 0; i < sum.size(); ++i)
            sum[i] += alone[i];
    }
    ASSERT_GT(peak(together, 4800, 40000), 0.1f) << "the chord sounds";
    // Voices are summed in voice order, as the three renders are summed here: the same bits.
    EXPECT_TRUE(bitIdentical(together, sum));
    // And after the notes' duration (1 s) and release, silence.
    EXPECT_EQ(peak(together, 4800 + 48000 + 24000, frames), 0.0f);
}

TEST(Poly, OutputDoesNotDependOnBlockSizeWithStealsPedalBendAndDurations)
{
    const PatchSpec spec = sinePoly(3);
    std::vector<TimedCommand> commands;
    for (int i = 0; i < 24; ++i) // more notes than voices: steals, some timed, some released by hand
        commands.push_back({std::uint64_t(1000 + i * 1733), "/note/keys", {48 + (i * 7) % 24, 0.5f + 0.02f * i,
                                                                            (i % 3 == 0) ? 0.05f : 10.0f}});
    for (int i = 0; i < 24; i += 2)
        commands.push_back({std::uint64_t(1000 + i * 1733 + 2500), "/note_off/keys", {48 + (i * 7) % 24}});
    commands.push_back({20000, "/midi/in", {0xB0, 64, 127}}); // pedal down
    commands.push_back({30001, "/midi/in", {0xE0, 0, 100}}); // bend up
    commands.push_back({33333, "/midi/in", {0xB0, 64, 0}});  // pedal up
    commands.push_back({40000, "/mod/keys/env.release", {120}});
    commands.push_back({41000, "/notes_off/keys", {}});
    std::stable_sort(commands.begin(), commands.end(), [](auto &a, auto &b) { return a.frame < b.frame; });
    for (const PatchSpec &poly : {spec, sinePoly(3, R"(,"steal":"quietest")")}) {
        const auto reference = renderWith(poly, commands, 60000, 256);
        ASSERT_GT(peak(reference, 0, 60000), 0.1f);
        for (std::uint32_t block : {1u, 7u, 64u, 253u, 1024u})
            EXPECT_TRUE(bitIdentical(reference, renderWith(poly, commands, 60000, block))) << "block " << block;
    }
}

TEST(Poly, AStolenVoiceFadesOutWithoutAClick)
{
    // Two voices, three notes: the third steals the first, which is sounding at full level.
    const PatchSpec spec = sinePoly(2);
    const std::vector<TimedCommand> commands = {
        {4800, "/note/keys", {S("A3"), 1.0f}},
        {9600, "/note/keys", {S("C4"), 1.0f}},
        {24055, "/note/keys", {S("E4"), 1.0f}}, // A3 near its peak (a quarter cycle past 88)
    };
    const auto out = leftOf(renderWith(spec, commands, 48000, 256));
    // The sines' own steepest step: 0.3 * 2 pi f / rate each, summed; a cut voice would step
    // by up to its amplitude (0.3) in one sample.
    const double sineSlope = 0.3 * 2.0 * M_PI * (220.0 + 261.63 + 329.63) / kRate;
    const float around = maxStep(out, 23000, 30000);
    EXPECT_LT(around, 1.5 * sineSlope) << "a click at the steal";
    // The stolen voice is gone once the fade (5 ms) and the new note's attack are over: what
    // sounds then is C4 and E4 only, at the level of two voices.
    EXPECT_LT(peak(out, 26000, 48000), 0.61f);
    EXPECT_GT(peak(out, 26000, 48000), 0.45f);
}

TEST(Poly, AReleasedVoiceIsFreedAfterItsTailAndPlaysTheNextNoteLikeAFreshOne)
{
    const PatchSpec spec = sinePoly(1);
    // The first note ends; the second takes the same (only) voice a second later.
    const auto both = leftOf(renderWith(spec, {{1000, "/note/keys", {60, 0.9f, 0.1f}}, {48000, "/note/keys", {64, 0.7f}}},
                                        96000, 256));
    const auto second = leftOf(renderWith(spec, {{48000, "/note/keys", {64, 0.7f}}}, 96000, 256));
    EXPECT_EQ(peak(both, 1000 + 4800 + 1440 + 10, 48000), 0.0f) << "the tail ends in silence";
    EXPECT_TRUE(std::equal(both.begin() + 48000, both.end(), second.begin() + 48000));
}

TEST(Poly, TheSustainPedalHoldsReleasedNotesUntilItGoesUp)
{
    const PatchSpec spec = sinePoly(4);
    const auto out = leftOf(renderWith(spec,
                                       {{1000, "/midi/in", {0xB0, 64, 127}},
                                        {2000, "/midi/in", {0x90, 60, 100}},
                                        {6000, "/midi/in", {0x80, 60, 0}},
                                        {30000, "/midi/in", {0xB0, 64, 0}}},
                                       48000, 256));
    EXPECT_GT(peak(out, 20000, 30000), 0.2f) << "held by the pedal after the note-off";
    EXPECT_EQ(peak(out, 30000 + 1440 + 10, 48000), 0.0f) << "released when the pedal went up";
}

TEST(Poly, ATemplateParameterSetOnThePolyChangesEveryVoice)
{
    const PatchSpec spec = sinePoly(4);
    const auto out = leftOf(renderWith(spec,
                                       {{1000, "/note/keys", {60, 1.0f}},
                                        {1000, "/note/keys", {67, 1.0f}},
                                        {20000, "/mod/keys/osc.amp", {0.0f}}},
                                       48000, 256));
    EXPECT_GT(peak(out, 10000, 20000), 0.3f);
    EXPECT_EQ(peak(out, 20000 + 480 + 1, 48000), 0.0f) << "amp 0 in both sounding voices (10 ms smoothing)";
}

TEST(Poly, ASequencerPlaysChordsIntoAPolyThroughItsInputs)
{
    auto spec = PatchSpec::fromJson(R"({"nodes":[
        {"id":"seq","type":"sequencer","params":{"bpm":120,"steps":4,"division":1,"gate_len":0.5,
                                                 "pattern":"xxxx","notes":"C3+Eb3+G3 . F3+A3 A2"}},
        {"id":"keys","type":"poly","params":{"voices":8}}],
        "connections":[{"from":"seq","to":"keys"},{"from":"keys","to":"output"}]})");
    ASSERT_TRUE(spec) << spec.error();
    const auto out = leftOf(renderWith(*spec, {}, 96000, 256));
    // Beat 1 a triad, beat 2 a rest (silent after the release), beat 3 a dyad, beat 4 one note.
    EXPECT_GT(peak(out, 100, 12000), 0.05f);
    EXPECT_LT(peak(out, 24000 + 20000, 48000), 1e-4f) << "the rest step stays silent";
    EXPECT_GT(peak(out, 48000, 60000), 0.05f);
    // The same chords played as notes sound the same.
    std::vector<TimedCommand> notes;
    for (const char *n : {"C3", "Eb3", "G3"})
        notes.push_back({0, "/note/keys", {S(n), 0.7f, 0.25f}});
    for (const char *n : {"F3", "A3"})
        notes.push_back({48000, "/note/keys", {S(n), 0.7f, 0.25f}});
    notes.push_back({72000, "/note/keys", {S("A2"), 0.7f, 0.25f}});
    auto plain = PatchSpec::fromJson(
        R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":8}}],"connections":[{"from":"keys","to":"output"}]})");
    const auto played = leftOf(renderWith(*plain, notes, 96000, 256));
    // Pitches from the sequencer pass through Hz and back to a note number: equal to a float
    // rounding of the frequency, so compare as sound, not bits.
    double diff = 0.0, energy = 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        diff += double(out[i] - played[i]) * (out[i] - played[i]);
        energy += double(played[i]) * played[i];
    }
    EXPECT_LT(diff / energy, 1e-6) << "sequenced chords differ from the same notes played by command";
}

TEST(Poly, ASnapshotWithHeldNotesContinuesBitIdenticallyInAFreshEngine)
{
    const PatchSpec spec = sinePoly(4);
    model::Interpreter controller;
    auto loaded = controller.load(spec);
    ASSERT_TRUE(loaded);
    engine::Engine a(kRate, 256);
    a.install(std::move(*engine::Graph::build(*loaded->commit, kRate, 256)));
    for (auto [frame, pitch] : {std::pair{100ull, 60}, {200ull, 64}, {300ull, 67}}) {
        auto out = controller.handle("/note/keys", {pitch, 0.8f});
        ASSERT_TRUE(out);
        auto e = out->events[0];
        e.frame = frame;
        ASSERT_TRUE(a.schedule(e));
    }
    std::vector<float> l(256), r(256);
    float *buffers[2] = {l.data(), r.data()};
    for (int i = 0; i < 20; ++i)
        a.render(buffers, 2, 256);
    std::vector<std::byte> snapshot(a.snapshotSize());
    ASSERT_GT(a.saveSnapshot(snapshot), 0u);
    engine::Engine b(kRate, 256);
    ASSERT_TRUE(b.loadSnapshot(snapshot));
    std::vector<float> l2(256), r2(256);
    float *buffers2[2] = {l2.data(), r2.data()};
    auto off = controller.handle("/note_off/keys", {64});
    ASSERT_TRUE(off);
    auto e = off->events[0];
    e.frame = a.frame() + 1000;
    ASSERT_TRUE(a.schedule(e));
    ASSERT_TRUE(b.schedule(e));
    for (int i = 0; i < 40; ++i) {
        a.render(buffers, 2, 256);
        b.render(buffers2, 2, 256);
        ASSERT_TRUE(bitIdentical(l, l2)) << "block " << i;
        ASSERT_GT(peak(l, 0, 256), 0.0f);
    }
}

// An input node in a voice template reads the patch's inputs at the same samples as the
// patch: a held note gates the input through (sustain 1: bit for bit), with no note it is
// silent.
TEST(Poly, AnInputNodeInAVoiceTemplateHearsThePatchsInput)
{
    auto spec = PatchSpec::fromJson(R"({"nodes":[{"id":"keys","type":"poly","params":{"voices":2},"voice":{
        "nodes":[{"id":"in","type":"input"},{"id":"osc","type":"osc","params":{"amp":0}},
                 {"id":"env","type":"adsr","params":{"attack":0,"decay":0,"sustain":1,"release":0}}],
        "connections":[{"from":"voice.pitch","to":"osc.freq"},{"from":"voice.gate","to":"env.gate"},
                       {"from":"in.left","to":"env"},{"from":"env","to":"output"}]}}],
        "connections":[{"from":"keys","to":"output"}]})");
    ASSERT_TRUE(spec) << spec.error();
    model::Interpreter controller;
    auto loaded = controller.load(*spec);
    ASSERT_TRUE(loaded) << loaded.error();
    engine::Engine engine(kRate, 256);
    engine.install(std::move(*engine::Graph::build(*loaded->commit, kRate, 256)));
    std::vector<float> in(256), left(256), right(256);
    float *out[2] = {left.data(), right.data()};
    const float *inputs[1] = {in.data()};
    auto block = [&](std::uint64_t b) {
        for (std::size_t i = 0; i < in.size(); ++i)
            in[i] = float(int((b * 256 + i) % 97) - 48) / 64.0f;
        engine.render(out, 2, 256, inputs, 1);
    };
    block(0);
    EXPECT_EQ(peak(left, 0, 256), 0.0f) << "no note, no sound";
    auto note = controller.handle("/note/keys", {S("C4"), 1.0f});
    ASSERT_TRUE(note) << note.error();
    for (auto e : note->events) {
        e.frame = 256;
        ASSERT_TRUE(engine.schedule(e));
    }
    float worst = 0.0f, heard = 0.0f;
    for (std::uint64_t b = 1; b < 8; ++b) {
        block(b);
        for (std::size_t i = 0; i < 256 && b >= 3; ++i) { // after the attack
            worst = std::max(worst, std::fabs(left[i] - in[i]));
            heard = std::max(heard, std::fabs(left[i]));
        }
    }
    EXPECT_GT(heard, 0.5f) << "the voice did not hear the input";
    EXPECT_LT(worst, 1e-6f) << "the held voice passes its input through";
}
