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

float rms(const std::vector<float> &x, std::size_t from, std::size_t to)
{
    double sum = 0.0;
    for (std::size_t i = from; i < to; ++i)
        sum += double(x[i]) * x[i];
    return static_cast<float>(std::sqrt(sum / double(to - from)));
}

// Amplitude of the sine at `hz` in x[from, to): a Hann-windowed Goertzel filter. Tones 40 Hz
// apart or more do not leak into each other over windows of 0.2 s and longer.
float toneLevel(const std::vector<float> &x, std::size_t from, std::size_t to, double hz)
{
    const std::size_t n = to - from;
    const double w = 2.0 * M_PI * hz / kRate;
    double s1 = 0.0, s2 = 0.0, windowSum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double hann = 0.5 - 0.5 * std::cos(2.0 * M_PI * double(i) / double(n));
        windowSum += hann;
        const double s0 = hann * x[from + i] + 2.0 * std::cos(w) * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    const double re = s1 - s2 * std::cos(w), im = s2 * std::sin(w);
    return static_cast<float>(2.0 * std::hypot(re, im) / windowSum);
}

// Frequency of a single tone in x[from, to): upward zero crossings, interpolated between
// samples, counted over the whole cycles between the first and the last.
double frequencyOf(const std::vector<float> &x, std::size_t from, std::size_t to)
{
    double first = -1.0, last = -1.0;
    int cycles = -1;
    for (std::size_t i = from + 1; i < to; ++i) {
        if (x[i - 1] < 0.0f && x[i] >= 0.0f) {
            const double at = double(i - 1) + double(-x[i - 1]) / double(x[i] - x[i - 1]);
            if (first < 0.0)
                first = at;
            last = at;
            ++cycles;
        }
    }
    return cycles > 0 ? cycles * kRate / (last - first) : 0.0;
}

// A poly of sines whose template is given its envelope's parameters and, besides pitch and
// gate, `extra` connections and nodes (JSON fragments, each starting with a comma).
PatchSpec sineTemplate(const std::string &polyParams, const std::string &env, const std::string &extraNodes = "",
                       const std::string &extraConnections = R"(,{"from":"osc","to":"env"})")
{
    const std::string text = R"({"nodes":[{"id":"keys","type":"poly","params":{)" + polyParams + R"(},"voice":{
        "nodes":[{"id":"osc","type":"osc","params":{"waveform":"sine","amp":0.3}},
                 {"id":"env","type":"adsr","params":{)" + env + R"(}})" + extraNodes + R"(],
        "connections":[{"from":"voice.pitch","to":"osc.freq"},{"from":"voice.gate","to":"env.gate"},
                       {"from":"env","to":"output"})" + extraConnections + R"(]}}],
        "connections":[{"from":"keys","to":"output"}]})";
    auto spec = PatchSpec::fromJson(text);
    EXPECT_TRUE(spec) << (spec ? "" : spec.error());
    return *spec;
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

// Three voices busy at three levels, a fourth note: `quietest` takes the softest voice,
// `oldest` the first played. The loudest is neither, so a stealing rule turned round (the
// loudest, or the newest) takes a voice this test expects to keep sounding.
TEST(Poly, AFullPolyStealsTheQuietestOrTheOldestVoiceAsItsStealParameterSays)
{
    struct Tone {
        const char *name;
        double hz;
        float velocity;
    };
    const Tone oldest{"A3", 220.0, 0.6f}, loudest{"C4", 261.63, 1.0f}, quietest{"E4", 329.63, 0.25f};
    const Tone added{"G4", 392.0, 0.5f};
    const std::vector<TimedCommand> notes = {
        {1000, "/note/keys", {S(oldest.name), oldest.velocity}},
        {2000, "/note/keys", {S(loudest.name), loudest.velocity}},
        {3000, "/note/keys", {S(quietest.name), quietest.velocity}},
        {20000, "/note/keys", {S(added.name), added.velocity}},
    };
    const std::string env = R"("attack":5,"decay":0,"sustain":1,"release":30,"velocity_amount":1)";
    const std::string velocity = R"(,{"from":"osc","to":"env"},{"from":"voice.velocity","to":"env.velocity"})";
    for (const char *mode : {"quietest", "oldest"}) {
        const PatchSpec spec = sineTemplate(std::string(R"("voices":3,"steal":")") + mode + "\"", env, "", velocity);
        const auto out = leftOf(renderWith(spec, notes, 44000, 256));
        const Tone &stolen = std::string(mode) == "quietest" ? quietest : oldest;
        // Before the fourth note: all three sound (windows of 0.25 s, the attacks over).
        for (const Tone &t : {oldest, loudest, quietest})
            ASSERT_GT(toneLevel(out, 6000, 18000, t.hz), 0.3f * t.velocity * 0.9f) << mode << ": " << t.name;
        // After the steal's 5 ms fade and the new note's attack: the stolen pitch is gone,
        // the other two sound as before, and the new note sounds.
        for (const Tone &t : {oldest, loudest, quietest}) {
            const float before = toneLevel(out, 6000, 18000, t.hz), after = toneLevel(out, 21000, 44000, t.hz);
            if (std::string(t.name) == stolen.name)
                EXPECT_LT(after, 0.01f * before) << mode << ": " << t.name << " should have been stolen";
            else
                EXPECT_NEAR(after, before, 0.02f * before) << mode << ": " << t.name << " should still sound";
        }
        EXPECT_GT(toneLevel(out, 21000, 44000, added.hz), 0.3f * added.velocity * 0.9f) << mode << ": the new note";
    }
}

// The pitch wheel at full deflection moves a held note by bend_range semitones: measured as
// the frequency of the rendered sine, before and after the bend.
TEST(Poly, PitchBendAtFullDeflectionMovesAHeldNoteByTheBendRange)
{
    struct Case {
        const char *polyParams;
        std::vector<TimedCommand> extra; // before the bend
        std::vector<int> wheel;          // the bend message's data bytes
        double semitones;
    };
    const std::vector<Case> cases = {
        {R"("voices":2)", {}, {0x7F, 0x7F}, 2.0},                 // the default range
        {R"("voices":2,"bend_range":12)", {}, {0x7F, 0x7F}, 12.0}, // set in the patch
        {R"("voices":2,"bend_range":12)", {}, {0x00, 0x00}, -12.0},
        {R"("voices":2)", {{5000, "/mod/keys/bend_range", {7}}}, {0x7F, 0x7F}, 7.0}, // set live
    };
    const std::string env = R"("attack":5,"decay":0,"sustain":1,"release":30)";
    for (const auto &c : cases) {
        std::vector<TimedCommand> commands = {{1000, "/note/keys", {S("A4"), 1.0f}}};
        commands.insert(commands.end(), c.extra.begin(), c.extra.end());
        commands.push_back({12000, "/midi/in", {0xE0, c.wheel[0], c.wheel[1]}});
        const auto out = leftOf(renderWith(sineTemplate(c.polyParams, env), commands, 48000, 256));
        EXPECT_NEAR(frequencyOf(out, 2000, 12000), 440.0, 0.2) << c.polyParams << ": before the bend";
        const double bent = 440.0 * std::exp2(c.semitones / 12.0);
        EXPECT_NEAR(frequencyOf(out, 12500, 48000), bent, 0.2) << c.polyParams << ": bent by " << c.semitones;
    }
}

// Channel pressure reaches every voice's `aftertouch` output, polyphonic aftertouch only the
// voices of its note: a template whose VCA is driven by the aftertouch is silent without
// pressure and as loud as the pressure says with it.
TEST(Poly, PressureReachesTheVoicesAftertouchAndSoChangesTheirLevel)
{
    const PatchSpec spec = sineTemplate(R"("voices":4)", R"("attack":0,"decay":0,"sustain":1,"release":30)",
                                        R"(,{"id":"vca","type":"vca"})",
                                        R"(,{"from":"osc","to":"vca"},{"from":"voice.aftertouch","to":"vca.cv"},
                                            {"from":"vca","to":"env"})");
    // Channel pressure: half (64 of 127), then full.
    const auto channel = leftOf(renderWith(spec,
                                           {{1000, "/note/keys", {S("A4"), 1.0f}},
                                            {12000, "/midi/in", {0xD0, 64}},
                                            {24000, "/midi/in", {0xD0, 127}}},
                                           36000, 256));
    const float sineRms = 0.3f / std::sqrt(2.0f);
    EXPECT_LT(peak(channel, 1000, 12000), 1e-6f) << "no pressure: the VCA is shut";
    EXPECT_NEAR(rms(channel, 13000, 24000), sineRms * 64.0f / 127.0f, 0.01f * sineRms);
    EXPECT_NEAR(rms(channel, 25000, 36000), sineRms, 0.01f * sineRms);
    // Polyphonic aftertouch on E5 (76) of a two-note chord: E5 sounds, A4 stays shut.
    const auto poly = leftOf(renderWith(spec,
                                        {{1000, "/note/keys", {S("A4"), 1.0f}},
                                         {1000, "/note/keys", {S("E5"), 1.0f}},
                                         {12000, "/midi/in", {0xA0, 76, 127}}},
                                        36000, 256));
    EXPECT_NEAR(toneLevel(poly, 13000, 36000, 659.26), 0.3f, 0.01f);
    EXPECT_LT(toneLevel(poly, 13000, 36000, 440.0), 1e-4f);
}

// Everything off, on the audio: /notes_off and CC 123 release every voice (their tails ring,
// then silence), /panic and CC 120 silence everything within the 5 ms fade, pedal or not.
TEST(Poly, NotesOffLetsTheTailsRingAndPanicSilencesAtOnce)
{
    // A long release (300 ms), so a tail and a cut are far apart.
    const PatchSpec spec = sineTemplate(R"("voices":4)", R"("attack":5,"decay":0,"sustain":1,"release":300)");
    const std::uint64_t off = 24000, frames = 72000;
    const std::uint64_t release = 14400, quiet = 1920, fade = 240;
    auto chordThen = [&](std::vector<TimedCommand> then) {
        std::vector<TimedCommand> c = {{1000, "/note/keys", {S("C4"), 1.0f}},
                                       {1000, "/note/keys", {S("E4"), 1.0f}},
                                       {1000, "/note/keys", {S("G4"), 1.0f}}};
        c.insert(c.end(), then.begin(), then.end());
        std::stable_sort(c.begin(), c.end(), [](auto &a, auto &b) { return a.frame < b.frame; });
        return leftOf(renderWith(spec, c, frames, 256));
    };
    for (const auto &[how, command] : {std::pair{"/notes_off", TimedCommand{off, "/notes_off/keys", {}}},
                                       {"/notes_off (all polys)", TimedCommand{off, "/notes_off", {}}},
                                       {"CC 123", TimedCommand{off, "/midi/in", {0xB0, 123, 0}}}}) {
        const auto out = chordThen({command});
        const float held = rms(out, off - 4800, off);
        ASSERT_GT(held, 0.2f) << how;
        // 100 ms into the 300 ms release: quieter, still sounding.
        const float tail = rms(out, off + 4800, off + 5800);
        EXPECT_GT(tail, 0.05f * held) << how << ": the tail was cut";
        EXPECT_LT(tail, 0.7f * held) << how << ": not released";
        EXPECT_EQ(peak(out, off + release + quiet + 1, frames), 0.0f) << how << ": silence after the tail";
    }
    // With the pedal down, even then: /panic lifts it; and a note played after the panic is
    // released by its own note-off (the pedal stays up).
    for (const auto &[how, command] : {std::pair{"/panic", TimedCommand{off, "/panic", {}}},
                                       {"CC 120", TimedCommand{off, "/midi/in", {0xB0, 120, 0}}}}) {
        const auto out = chordThen({{500, "/midi/in", {0xB0, 64, 127}}, command});
        ASSERT_GT(rms(out, off - 4800, off), 0.2f) << how;
        EXPECT_GT(peak(out, off, off + fade / 2), 0.1f) << how << ": a fade, not a cut";
        EXPECT_EQ(peak(out, off + fade, off + release), 0.0f) << how << ": silent 5 ms after";
        const double slope = 0.3 * 2.0 * M_PI * (261.63 + 329.63 + 392.0) / kRate;
        EXPECT_LT(maxStep(out, off - 10, off + fade + 10), 1.5 * slope) << how << ": a click";
    }
    const auto after = chordThen({{500, "/midi/in", {0xB0, 64, 127}},
                                  {off, "/panic", {}},
                                  {off + 2400, "/note/keys", {S("A4"), 1.0f}},
                                  {off + 12000, "/note_off/keys", {S("A4")}}});
    EXPECT_GT(peak(after, off + 4800, off + 12000), 0.25f) << "a note after the panic sounds";
    EXPECT_EQ(peak(after, off + 12000 + release + quiet + 1, frames), 0.0f) << "and is released: the pedal is up";
}

// /panic stops the sequencers too: one playing a step every beat into a poly falls silent
// within the 5 ms fade and stays silent, where it would have played on.
TEST(Poly, PanicStopsTheSequencersThatPlayIntoAPoly)
{
    auto spec = PatchSpec::fromJson(R"({"tempo":120,"nodes":[
        {"id":"seq","type":"sequencer","params":{"steps":4,"division":1,"gate_len":0.5,"pattern":"xxxx",
            "notes":"A3 C4 E4 G4"}}],
        "connections":[{"from":"seq","to":"keys"},{"from":"keys","to":"output"}]})");
    ASSERT_TRUE(spec) << spec.error();
    spec->nodes.push_back(sineTemplate(R"("voices":4)", R"("attack":5,"decay":0,"sustain":1,"release":300)").nodes[0]);
    const std::uint64_t panic = 30000; // during the second step's note
    const auto out = leftOf(renderWith(*spec, {{panic, "/panic", {}}}, 144000, 256));
    const auto plain = leftOf(renderWith(*spec, {}, 144000, 256));
    EXPECT_GT(peak(out, panic - 1000, panic), 0.2f);
    EXPECT_EQ(peak(out, panic + 240, 144000), 0.0f) << "silent from 5 ms after the panic on";
    EXPECT_GT(peak(plain, 48000, 144000), 0.2f) << "unpanicked, the sequencer plays on";
}

// /transport locate <bar>: a sequencer that follows the shared tempo jumps to the first step
// of that bar at the command's frame and plays on from there; heard through a poly, one
// note per bar (120 BPM, 4/4, a step per beat: a bar is 96000 frames).
TEST(Poly, ASequencerLocatedToABarPlaysThatBarsNotesFromTheLocateOn)
{
    auto spec = PatchSpec::fromJson(R"({"tempo":120,"nodes":[
        {"id":"seq","type":"sequencer","params":{"steps":16,"division":1,"gate_len":0.9,"pattern":"xxxxxxxxxxxxxxxx",
            "notes":"A3 A3 A3 A3 C4 C4 C4 C4 E4 E4 E4 E4 G4 G4 G4 G4"}}],
        "connections":[{"from":"seq","to":"keys"},{"from":"keys","to":"output"}]})");
    ASSERT_TRUE(spec) << spec.error();
    spec->nodes.push_back(sineTemplate(R"("voices":4)", R"("attack":5,"decay":0,"sustain":1,"release":30)").nodes[0]);
    const double A3 = 220.0, C4 = 261.63, E4 = 329.63, G4 = 392.0;
    const std::uint64_t locate = 30000; // in bar 1, half way through its second step
    const auto out = leftOf(renderWith(*spec, {{locate, "/transport", {S("locate"), 3}}}, 140000, 256));
    const auto plain = leftOf(renderWith(*spec, {}, 140000, 256));
    // The window after the locate (its step's attack over, well inside it).
    EXPECT_GT(toneLevel(plain, locate + 3000, locate + 14000, A3), 0.25f) << "bar 1 plays A3 unlocated";
    EXPECT_GT(toneLevel(out, locate + 3000, locate + 14000, E4), 0.25f) << "bar 3's note from the locate on";
    EXPECT_LT(toneLevel(out, locate + 3000, locate + 14000, A3), 0.003f) << "bar 1's note is gone";
    EXPECT_GT(peak(out, locate - 2000, locate), 0.2f) << "bar 1 played up to the locate";
    // The bar's first step started at the locate's frame: its steps fall a beat apart from
    // there, so bar 4 (G4) begins a bar later.
    EXPECT_GT(toneLevel(out, locate + 72000 + 3000, locate + 72000 + 14000, E4), 0.25f);
    EXPECT_GT(toneLevel(out, locate + 96000 + 3000, locate + 96000 + 14000, G4), 0.25f);
    EXPECT_LT(toneLevel(out, locate + 96000 + 3000, locate + 96000 + 14000, C4), 0.003f);
}
