// The shared clock (model::Transport) against the engine's own sequencer: the frames it
// names for beats and bars are the frames a sequencer reset at the origin starts those steps
// on, so a change quantised to a bar lands on the downbeat sample-exactly.
#include "engine_fixtures.hpp"

#include "model/transport.hpp"

#include <gtest/gtest.h>

using namespace chronus;
using chronus::test::renderWith;
using model::PatchSpec;

namespace {

// Frames where the sequencer's gate (through an instant envelope on a DC-free square) starts.
std::vector<std::uint64_t> onsets(double bpm, const char *pattern, std::uint64_t frames)
{
    auto spec = PatchSpec::fromJson(std::string(R"({"tempo":)") + std::to_string(bpm) + R"(,"nodes":[
        {"id":"seq","type":"sequencer","params":{"steps":16,"gate_len":0.5,"pattern":")" + pattern + R"("}},
        {"id":"env","type":"adsr","params":{"attack":0,"decay":0,"sustain":1,"release":0}},
        {"id":"dc","type":"lfo","params":{"waveform":"square","rate":0.001,"depth":1}}],
        "connections":[{"from":"seq.gate","to":"env.gate"},{"from":"dc","to":"env"},{"from":"env","to":"output"}]})");
    EXPECT_TRUE(spec) << spec.error();
    const auto lr = renderWith(*spec, {}, frames, 256);
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = 1; i < frames; ++i)
        if (lr[i] != 0.0f && lr[i - 1] == 0.0f)
            out.push_back(i);
    return out;
}

} // namespace

TEST(Clock, BarsFallOnTheFramesASequencerAtTheSharedTempoStartsThem)
{
    for (double bpm : {126.0, 120.0, 97.0}) {
        // One hit per bar of 4/4 at 4 steps per beat: its onsets are the downbeats.
        const auto hits = onsets(bpm, "x...............", 48000 * 9);
        ASSERT_GE(hits.size(), 3u) << bpm;
        model::Transport clock(48000.0);
        clock.setTempo(0, bpm);
        clock.locate(0, 1.0, true);
        EXPECT_EQ(clock.nextBar(1), hits[0]) << bpm << " BPM, bar 2"; // bar 1 starts on frame 0
        for (std::size_t b = 1; b < hits.size(); ++b) {
            EXPECT_EQ(clock.nextBar(hits[b - 1] + 1), hits[b]) << bpm << " BPM, bar " << b + 2;
            EXPECT_EQ(clock.nextBar(hits[b]), hits[b]) << "a bar's own first frame is its next bar";
            EXPECT_NEAR(clock.barAt(hits[b]), double(b + 2), 1e-4); // a bar starts on a whole frame
        }
        // And beats: a hit every beat.
        const auto beats = onsets(bpm, "x...x...x...x...", 48000 * 3);
        for (std::size_t k = 1; k < beats.size(); ++k)
            EXPECT_EQ(clock.nextBeat(beats[k - 1] + 1), beats[k]) << bpm << " BPM, beat " << k;
    }
}

TEST(Clock, ATempoChangeKeepsThePositionAndAMeterCountsBarsFromTheCurrentBar)
{
    model::Transport clock(48000.0);
    clock.locate(1000, 1.0, true); // 120 BPM: a beat is 24000 frames
    EXPECT_EQ(clock.nextBeat(1001), 25000u);
    EXPECT_EQ(clock.nextBar(1001), 97000u);
    clock.setTempo(13000, 60.0); // half a beat in: the next beat is half a (longer) beat away
    EXPECT_NEAR(clock.beatsAt(13000), 0.5, 1e-9);
    EXPECT_EQ(clock.nextBeat(13001), 37000u);
    clock.setMeter(13000, 3, 4); // at 60 BPM the bar holding frame 13000 began at -11000
    EXPECT_EQ(clock.nextBar(13001), 133000u);
    clock.setMeter(13000, 6, 8); // eighths: a beat is half as long
    EXPECT_NEAR(clock.framesPerBeat(), 24000.0, 1e-9);
}
