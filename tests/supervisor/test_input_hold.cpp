// The supervisor's input capture at torn cycles (supervisor/input_hold.hpp): every engine
// frame is published once, in order, with its own audio or with silence, never with the
// audio of another cycle.
#include "supervisor/input_hold.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using chronus::supervisor::InputHold;

namespace {

constexpr std::size_t kFrames = 4;
constexpr std::size_t kChannels = 2;

// The audio upstream wrote for engine frame f: distinct in every cycle and channel.
float sample(std::uint64_t f, std::size_t c, std::size_t i) { return float(f * 10 + c * 1000 + i); }

struct Published {
    std::uint64_t frame;
    std::vector<float> audio; // channel-major; empty: silence
};

struct Harness {
    InputHold hold;
    std::vector<Published> out;
    Harness() { hold.reset(kChannels, kFrames); }

    // One callback labelled `frame` that copied the audio of frame `content`.
    void cycle(std::uint64_t frame, std::uint64_t content, bool torn, bool jumped = false)
    {
        for (std::size_t c = 0; c < kChannels; ++c)
            for (std::size_t i = 0; i < kFrames; ++i)
                hold.copyTarget(c)[i] = sample(content, c, i);
        hold.offer(frame, torn, jumped, [&](std::uint64_t at, const float *const *in) {
            Published p{at, {}};
            if (in)
                for (std::size_t c = 0; c < kChannels; ++c)
                    p.audio.insert(p.audio.end(), in[c], in[c] + kFrames);
            out.push_back(p);
        });
    }
};

bool holds(const Published &p, std::uint64_t content)
{
    if (p.audio.size() != kChannels * kFrames)
        return false;
    for (std::size_t c = 0; c < kChannels; ++c)
        for (std::size_t i = 0; i < kFrames; ++i)
            if (p.audio[c * kFrames + i] != sample(content, c, i))
                return false;
    return true;
}

} // namespace

TEST(InputHold, QuietCyclesArePublishedAtOnce)
{
    Harness h;
    for (std::uint64_t f = 0; f < 5 * kFrames; f += kFrames) {
        h.cycle(f, f, false);
        ASSERT_EQ(h.out.size(), f / kFrames + 1);
        EXPECT_EQ(h.out.back().frame, f);
        EXPECT_TRUE(holds(h.out.back(), f));
    }
    EXPECT_EQ(h.hold.doubtfulFrames(), 0u);
    EXPECT_EQ(h.hold.tornCycles(), 0u);
}

TEST(InputHold, TornCopyOfTheNextCycleBecomesSilenceNotAShift)
{
    Harness h;
    h.cycle(0, 0, false);
    h.cycle(4, 8, true); // its copy already held frame 8's audio
    EXPECT_EQ(h.out.size(), 1u) << "a torn cycle waits for the next one";
    h.cycle(8, 8, false);
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[1].frame, 4u);
    EXPECT_TRUE(h.out[1].audio.empty()) << "frame 4's own audio is gone: silence, not frame 8's";
    EXPECT_EQ(h.out[2].frame, 8u);
    EXPECT_TRUE(holds(h.out[2], 8));
    EXPECT_EQ(h.hold.doubtfulFrames(), kFrames);
    EXPECT_EQ(h.hold.tornCycles(), 1u);
}

TEST(InputHold, TornCopyOfItsOwnCycleIsPublishedAsItIs)
{
    Harness h;
    h.cycle(0, 0, true); // torn, but the upstream had not written yet
    h.cycle(4, 4, false);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[0].frame, 0u);
    EXPECT_TRUE(holds(h.out[0], 0));
    EXPECT_TRUE(holds(h.out[1], 4));
    EXPECT_EQ(h.hold.doubtfulFrames(), 0u);
}

TEST(InputHold, TornCyclesInARowEachCompareWithTheirNext)
{
    Harness h;
    h.cycle(0, 4, true);  // next cycle's audio
    h.cycle(4, 4, true);  // its own audio, torn again
    h.cycle(8, 12, true); // next cycle's audio
    h.cycle(12, 12, false);
    ASSERT_EQ(h.out.size(), 4u);
    for (std::size_t k = 0; k < 4; ++k)
        EXPECT_EQ(h.out[k].frame, k * kFrames);
    EXPECT_TRUE(h.out[0].audio.empty());
    EXPECT_TRUE(holds(h.out[1], 4));
    EXPECT_TRUE(h.out[2].audio.empty());
    EXPECT_TRUE(holds(h.out[3], 12));
    EXPECT_EQ(h.hold.doubtfulFrames(), 2 * kFrames);
    EXPECT_EQ(h.hold.tornCycles(), 3u);
}

TEST(InputHold, ACallbackThatReadTheNextCyclesTimeEarlyPutsTheCycleBeforesAudioThere)
{
    // The callback of frame 4 ran late and read frame 8's time (labelled 8, a jump), but the
    // upstream had not written frame 8 yet: its copy is frame 4's audio. The real frame-8
    // callback repeats the label.
    Harness h;
    h.cycle(0, 0, false);
    h.cycle(8, 4, false, true);
    EXPECT_EQ(h.out.size(), 1u) << "a jump waits for the next callback";
    h.cycle(8, 8, false);
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[1].frame, 4u);
    EXPECT_TRUE(holds(h.out[1], 4)) << "frame 4's audio at frame 4, not at 8";
    EXPECT_EQ(h.out[2].frame, 8u);
    EXPECT_TRUE(holds(h.out[2], 8));
    EXPECT_EQ(h.hold.repeatedCycles(), 1u);
    EXPECT_EQ(h.hold.movedCycles(), 1u);
}

TEST(InputHold, AnEarlyReadThatCopiedItsLabelsAudioLeavesTheCycleBeforeToItsReaders)
{
    Harness h;
    h.cycle(0, 0, false);
    h.cycle(8, 8, false, true); // read ahead, and the upstream had written frame 8 already
    h.cycle(8, 8, false);
    ASSERT_EQ(h.out.size(), 2u) << "frame 4 is not published: its readers give it up (silence)";
    EXPECT_EQ(h.out[1].frame, 8u);
    EXPECT_TRUE(holds(h.out[1], 8));
    EXPECT_EQ(h.hold.movedCycles(), 0u);
}

TEST(InputHold, ARealSkipPublishesTheJumpedCycleAtItsLabel)
{
    Harness h;
    h.cycle(0, 0, false);
    h.cycle(12, 12, false, true); // JACK skipped frames 4 and 8
    h.cycle(16, 16, false);
    ASSERT_EQ(h.out.size(), 3u);
    EXPECT_EQ(h.out[1].frame, 12u);
    EXPECT_TRUE(holds(h.out[1], 12));
    EXPECT_EQ(h.out[2].frame, 16u);
    EXPECT_EQ(h.hold.repeatedCycles(), 0u);
}

TEST(InputHold, TornCycleBeforeASkippedCycleKeepsItsCopy)
{
    // JACK skipped the cycle after the torn one: no next cycle to compare with, so the copy
    // stands (it cannot be shown to be another cycle's audio).
    Harness h;
    h.cycle(0, 0, true);
    h.cycle(8, 8, false);
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[0].frame, 0u);
    EXPECT_TRUE(holds(h.out[0], 0));
    EXPECT_EQ(h.out[1].frame, 8u);
    EXPECT_EQ(h.hold.doubtfulFrames(), 0u);
}
