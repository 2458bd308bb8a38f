// FrameRing and RingFeeder against simple models: random push/pop sequences across many
// wraparounds, and the overflow/skip accounting a consumer needs to rebuild JACK time.
#include "recorder/ring_feeder.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

using namespace chronus::rec;

namespace {

// Frame f, channel c (< 256) carries a value no other (frame, channel) within 65536 frames
// has; exact in a float (below 2^24).
float value(std::uint64_t f, std::size_t c) { return float((f % 65536) * 256 + c); }

} // namespace

// Every channel count the interleaving code treats differently: mono, the stereo loop,
// groups of four channels with and without a remainder, and many channels.
class FrameRingChannels : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FrameRingChannels, RandomPushPopMatchesAQueueModelAcrossManyWraparounds)
{
    const std::size_t kChannels = GetParam();
    constexpr std::size_t kCapacity = 1000; // not a power of two
    FrameRing ring(kChannels, kCapacity);
    std::deque<std::uint64_t> model; // frame numbers in the ring
    std::mt19937 rng(1234);
    std::uint64_t nextFrame = 0, popped = 0;
    std::vector<std::vector<float>> in(kChannels, std::vector<float>(kCapacity));
    std::vector<const float *> ptrs(kChannels);
    for (int step = 0; step < 6000; ++step) {
        ASSERT_EQ(ring.readableFrames(), model.size());
        ASSERT_EQ(ring.writableFrames(), kCapacity - model.size());
        if (rng() % 2) {
            const std::size_t n = rng() % (ring.writableFrames() + 1);
            for (std::size_t c = 0; c < kChannels; ++c) {
                for (std::size_t i = 0; i < n; ++i)
                    in[c][i] = value(nextFrame + i, c);
                ptrs[c] = in[c].data();
            }
            ring.write(ptrs.data(), n);
            for (std::size_t i = 0; i < n; ++i)
                model.push_back(nextFrame++);
        } else {
            std::size_t n = 0;
            const float *p = ring.peek(rng() % 700, n);
            ASSERT_LE(n, model.size());
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t c = 0; c < kChannels; ++c)
                    ASSERT_EQ(p[i * kChannels + c], value(model[i], c)) << "step " << step << " frame " << i;
            ring.consume(n);
            model.erase(model.begin(), model.begin() + std::ptrdiff_t(n));
            popped += n;
        }
    }
    EXPECT_EQ(ring.writtenFrames(), nextFrame);
    EXPECT_EQ(ring.readFrames(), popped);
    EXPECT_GT(popped, 50 * kCapacity); // wrapped around many times
}

INSTANTIATE_TEST_SUITE_P(ChannelCounts, FrameRingChannels, ::testing::Values(1, 2, 3, 4, 5, 7, 8, 32, 37, 256));

TEST(FrameRing, PeekStopsAtTheEndOfTheBufferAndContinuesAtItsStart)
{
    FrameRing ring(2, 10);
    std::vector<float> a(8), b(8);
    const float *ptrs[2] = {a.data(), b.data()};
    for (int i = 0; i < 8; ++i)
        a[i] = float(i), b[i] = float(100 + i);
    ring.write(ptrs, 8);
    ring.consume(6);
    ring.write(ptrs, 8); // frames 8..9 then 0..5 of the buffer
    std::size_t n = 0;
    const float *p = ring.peek(100, n);
    EXPECT_EQ(n, 4u); // 6, 7 and the first two of the second write
    EXPECT_EQ(p[0], 6.0f);
    EXPECT_EQ(p[1], 106.0f);
    EXPECT_EQ(p[4], 0.0f);
    EXPECT_EQ(p[7], 101.0f);
    ring.consume(n);
    p = ring.peek(100, n);
    EXPECT_EQ(n, 6u);
    EXPECT_EQ(p[0], 2.0f);
    EXPECT_EQ(ring.writableFrames(), 4u);
}

// Random cycles, skips and consumer speeds; the consumer rebuilds the timeline from the
// ring and its events exactly as the disk thread does. Every JACK frame must come out
// either as itself or, where the ring was full or JACK skipped, as counted silence.
TEST(RingFeeder, OverflowAndSkipsAreAccountedFrameExactlyAgainstAModel)
{
    constexpr std::size_t kChannels = 2, kPeriod = 64, kCapacity = 1000;
    FrameRing ring(kChannels, kCapacity);
    CaptureCounters counters;
    RingFeeder feeder(ring, counters);
    std::mt19937 rng(99);
    std::vector<std::vector<float>> in(kChannels, std::vector<float>(kPeriod));
    std::vector<const float *> ptrs{in[0].data(), in[1].data()};

    std::vector<int> expect; // per JACK frame: 1 = delivered, 0 = lost (silence)
    std::uint64_t now = 0, modelOverrunFrames = 0, modelSkipped = 0, modelEpisodes = 0;
    bool modelInOverrun = false;

    // Consumer state (the disk thread's rules).
    std::vector<int> got;
    bool haveEvent = false, valid = false;
    TimelineEvent ev;
    std::uint64_t jackFrame = 0;
    auto consume = [&](std::size_t budget) {
        for (;;) {
            if (!haveEvent)
                haveEvent = ring.events().tryPop(ev);
            if (haveEvent && ev.ringFrame == ring.readFrames()) {
                haveEvent = false;
                if (ev.kind == TimelineEvent::Kind::Start) {
                    valid = true;
                    jackFrame = ev.jackFrame;
                } else if (ev.kind == TimelineEvent::Kind::Gap) {
                    EXPECT_EQ(ev.jackFrame, jackFrame) << "gap not where the consumer is";
                    got.resize(jackFrame + ev.frames, 0);
                    jackFrame += ev.frames;
                }
                continue;
            }
            std::size_t avail = ring.readableFrames();
            if (haveEvent)
                avail = std::min<std::size_t>(avail, ev.ringFrame - ring.readFrames());
            avail = std::min(avail, budget);
            if (avail == 0)
                return;
            std::size_t n = 0;
            const float *p = ring.peek(avail, n);
            for (std::size_t i = 0; i < n; ++i, ++jackFrame) {
                const bool ok = valid && p[i * 2] == value(jackFrame, 0) && p[i * 2 + 1] == value(jackFrame, 1);
                EXPECT_TRUE(ok) << "frame " << jackFrame;
                got.resize(jackFrame + 1, 0);
                got[jackFrame] = 2; // delivered
            }
            ring.consume(n);
            budget -= n;
        }
    };

    // The model writes cycles in the feeder's order: a cycle after a jump in frame time is
    // held back until the next callback (which tells where it belongs) and written then,
    // before that callback's own frames.
    constexpr std::uint64_t kNone = ~std::uint64_t{0};
    std::uint64_t held = kNone; // the cycle the feeder holds back, if any
    for (int cycle = 0; cycle < 5000; ++cycle) {
        bool jumped = false;
        if (cycle > 0 && rng() % 50 == 0) { // JACK skips 1..3 cycles
            const std::uint64_t skip = (1 + rng() % 3) * kPeriod;
            expect.resize(now + skip, 0);
            modelSkipped += skip;
            now += skip;
            jumped = true;
        }
        for (std::size_t c = 0; c < kChannels; ++c)
            for (std::size_t i = 0; i < kPeriod; ++i)
                in[c][i] = value(now + i, c);
        // What the feeder will write in this callback, predicted before it runs: the held
        // cycle first, then this one unless it is held itself.
        const std::size_t room = ring.writableFrames();
        std::size_t used = 0;
        auto predict = [&](std::uint64_t at) {
            const bool fits = room - used >= kPeriod;
            expect.resize(at + kPeriod, 0);
            if (fits) {
                used += kPeriod;
                for (std::uint64_t f = at; f < at + kPeriod; ++f)
                    expect[f] = 2;
            } else {
                modelOverrunFrames += kPeriod;
                modelEpisodes += !modelInOverrun;
            }
            modelInOverrun = !fits;
        };
        if (held != kNone) {
            predict(held);
            held = kNone;
        }
        if (jumped)
            held = now;
        else
            predict(now);
        feeder.cycle(now, ptrs.data(), kPeriod, true);
        now += kPeriod;
        // A consumer that is sometimes fast, sometimes stalled.
        consume(rng() % 4 == 0 ? 0 : rng() % 160);
    }
    if (held != kNone) {
        const std::size_t room = ring.writableFrames();
        expect.resize(held + kPeriod, 0);
        if (room >= kPeriod) {
            for (std::uint64_t f = held; f < held + kPeriod; ++f)
                expect[f] = 2;
        } else {
            modelOverrunFrames += kPeriod;
            modelEpisodes += !modelInOverrun;
        }
    }
    feeder.cycle(now, nullptr, kPeriod, false); // stop: the held cycle and the pending gap go first
    consume(SIZE_MAX);
    EXPECT_EQ(counters.overrunFrames.load(), modelOverrunFrames);
    EXPECT_EQ(counters.overruns.load(), modelEpisodes);
    EXPECT_EQ(counters.skippedFrames.load(), modelSkipped);
    EXPECT_GT(modelOverrunFrames, 10 * kPeriod); // the test did overflow
    ASSERT_EQ(got.size(), expect.size());
    std::size_t wrong = 0;
    for (std::size_t f = 0; f < got.size(); ++f)
        wrong += got[f] != expect[f];
    EXPECT_EQ(wrong, 0u);
    EXPECT_LE(counters.ringPeakFrames.load(), kCapacity);
}

// Feeds RingFeeder cycles whose data is that of JACK cycle `data` while the callback read
// frame time `reading`, and reads back what the ring holds.
struct MisreadHarness {
    static constexpr std::size_t kChannels = 2, kPeriod = 64;
    FrameRing ring{kChannels, 4096};
    CaptureCounters counters;
    RingFeeder feeder{ring, counters, kPeriod};
    std::uint64_t firstFrame = UINT64_MAX; // the Start event's JACK frame, after timeline()
    std::vector<TimelineEvent> gaps;       // the Gap events, after timeline()
    std::vector<std::vector<float>> in = std::vector<std::vector<float>>(kChannels, std::vector<float>(kPeriod));

    // `torn`: the frame time moved on while the buffers were read.
    void cycle(std::uint64_t reading, std::uint64_t data, bool torn = false)
    {
        for (std::size_t c = 0; c < kChannels; ++c)
            for (std::size_t i = 0; i < kPeriod; ++i)
                in[c][i] = value(data + i, c);
        const float *ptrs[kChannels] = {in[0].data(), in[1].data()};
        feeder.cycle(reading, ptrs, kPeriod, true, torn);
    }
    // A cycle before the take (not fed).
    void idle(std::uint64_t reading) { feeder.cycle(reading, nullptr, kPeriod, false); }
    // A cycle placed by a timeline clock that carried `label` (nullopt: none).
    void clocked(std::optional<std::uint64_t> label, std::uint64_t data, bool torn = false)
    {
        for (std::size_t c = 0; c < kChannels; ++c)
            for (std::size_t i = 0; i < kPeriod; ++i)
                in[c][i] = value(data + i, c);
        const float *ptrs[kChannels] = {in[0].data(), in[1].data()};
        feeder.clockedCycle(label, ptrs, kPeriod, true, torn);
    }
    // The frames of channel 0 in the ring, with -1 where a gap event stands.
    std::vector<float> timeline()
    {
        std::vector<float> out;
        TimelineEvent e;
        std::vector<TimelineEvent> events;
        while (ring.events().tryPop(e))
            events.push_back(e);
        if (!events.empty() && events.front().kind == TimelineEvent::Kind::Start)
            firstFrame = events.front().jackFrame;
        for (const TimelineEvent &g : events)
            if (g.kind == TimelineEvent::Kind::Gap)
                gaps.push_back(g);
        std::size_t n = 0;
        const float *p = ring.peek(ring.readableFrames(), n);
        std::size_t next = 0;
        for (std::size_t f = 0; f <= n; ++f) {
            for (; next < events.size() && events[next].ringFrame == f; ++next)
                if (events[next].kind == TimelineEvent::Kind::Gap)
                    out.insert(out.end(), events[next].frames, -1.0f);
            if (f < n)
                out.push_back(p[f * kChannels]);
        }
        return out;
    }
    std::vector<float> expect(std::initializer_list<std::int64_t> blocks)
    {
        std::vector<float> out;
        for (std::int64_t b : blocks)
            for (std::size_t i = 0; i < kPeriod; ++i)
                out.push_back(b < 0 ? -1.0f : value(std::uint64_t(b) * kPeriod + i, 0));
        return out;
    }
};

// Measured on jackd2 under CPU load: a callback that starts after the server began the next
// cycle reads that cycle's frame time (a jump of two periods) while its data is its own
// cycle's, and the next callback reads the same time again with the next cycle's data. Both
// cycles go where they belong: no gap, nothing dropped, nothing shifted.
TEST(RingFeeder, ACallbackThatReadTheNextCyclesTimePutsItsFramesInTheirOwnCycle)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P);
    h.cycle(3 * P, 2 * P); // late: read 3P's time, holds 2P's data
    h.cycle(3 * P, 3 * P); // 3P's callback reads the same time again
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, 1, 2, 3, 4}));
    EXPECT_TRUE(h.gaps.empty());
    EXPECT_EQ(h.counters.skippedFrames.load(), 0u);
    EXPECT_EQ(h.counters.repeatedFrames.load(), 0u);
    EXPECT_EQ(h.counters.misreadCycles.load(), 2u);
}

// The same lateness after JACK really skipped a cycle: the gap is the skipped cycle, and the
// late callback's frames follow it.
TEST(RingFeeder, ALateCallbackAfterASkippedCycleLeavesAGapOfExactlyTheSkippedCycle)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P);
    h.cycle(4 * P, 3 * P); // 2P skipped by JACK; the 3P callback ran late and read 4P
    h.cycle(4 * P, 4 * P);
    h.cycle(5 * P, 5 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, 1, -1, 3, 4, 5}));
    EXPECT_EQ(h.counters.skippedFrames.load(), P);
}

// Measured on jackd2 under CPU load: JACK hands a client the upstream client's own port
// buffer, and the upstream client may run its next cycle while a late callback here is still
// reading. A cycle read while the frame time moved on, whose data turns out to equal the next
// cycle's, was the next cycle's data: its own cycle is lost (silence, counted), never a copy.
TEST(RingFeeder, ATornCycleHoldingTheNextCyclesDataIsDeclaredLostNotWrittenTwice)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P);
    h.cycle(2 * P, 3 * P, true); // read while the upstream was already writing 3P
    h.cycle(3 * P, 3 * P);
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, 1, -1, 3, 4}));
    EXPECT_EQ(h.counters.doubtfulFrames.load(), P);
    EXPECT_EQ(h.counters.skippedFrames.load(), 0u);
}

// A torn cycle whose data is not the next cycle's is its own, and is written in its place.
TEST(RingFeeder, ATornCycleHoldingItsOwnDataIsWrittenInItsPlace)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P, true);
    h.cycle(2 * P, 2 * P, true); // torn again: the next cycle decides
    h.cycle(3 * P, 3 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, 1, 2, 3}));
    EXPECT_EQ(h.counters.doubtfulFrames.load(), 0u);
    EXPECT_TRUE(h.gaps.empty());
}

// A torn cycle followed by skipped cycles cannot be compared with its successor: lost.
TEST(RingFeeder, ATornCycleBeforeSkippedCyclesIsDeclaredLost)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P, true);
    h.cycle(4 * P, 4 * P);
    h.cycle(5 * P, 5 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, -1, -1, -1, 4, 5}));
    EXPECT_EQ(h.counters.doubtfulFrames.load(), P);
    EXPECT_EQ(h.counters.skippedFrames.load(), 2 * P);
}

// A late callback that read the next cycle's time may also have read the next cycle's data
// (the upstream ran first): equal to what the next callback reads, it is not placed twice.
TEST(RingFeeder, ALateCallbackThatReadTheNextCyclesDataLeavesItsOwnCycleLost)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P);
    h.cycle(3 * P, 3 * P); // late for 2P: read 3P's time and 3P's data
    h.cycle(3 * P, 3 * P);
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, 1, -1, 3, 4}));
    EXPECT_EQ(h.counters.doubtfulFrames.load(), P);
}

// The same at a take's first cycle: the take starts at the next cycle.
TEST(RingFeeder, ATakeWhoseFirstCallbackReadTheNextCyclesDataStartsAtTheNextCycle)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.idle(0);
    h.idle(P);
    h.cycle(3 * P, 3 * P);
    h.cycle(3 * P, 3 * P);
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({3, 4}));
    EXPECT_EQ(h.firstFrame, 3 * P);
}

// A jump the next reading confirms (it goes on one period later) is cycles JACK skipped.
TEST(RingFeeder, AJumpConfirmedByTheNextReadingIsAGapBeforeTheJumpedCycle)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(3 * P, 3 * P);
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, -1, -1, 3, 4}));
    EXPECT_EQ(h.counters.skippedFrames.load(), 2 * P);
    EXPECT_EQ(h.counters.misreadCycles.load(), 0u);
    // The same readings come from a 1P callback that ran late, read 3P and was not run for
    // 3P: the gap says the period after it may belong one period earlier.
    ASSERT_EQ(h.gaps.size(), 1u);
    EXPECT_EQ(h.gaps[0].uncertainFrames, P);
}

// A stale reading (the previous cycle's time again, then a jump of two) is the cycle in
// between: every client labels it so (common/jack_time.hpp), and the file has no gap.
TEST(RingFeeder, AStaleReadingIsTheCycleInBetween)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(P, P);
    h.cycle(P, 2 * P); // read the previous cycle's time
    h.cycle(3 * P, 3 * P);
    EXPECT_EQ(h.timeline(), h.expect({0, 1, 2, 3}));
    EXPECT_EQ(h.counters.skippedFrames.load(), 0u);
    EXPECT_EQ(h.counters.misreadCycles.load(), 1u);
}

// The clock runs before the take: a take whose first cycle's callback read the next cycle's
// time starts at its own cycle, not one period late (which would shift every frame).
TEST(RingFeeder, ATakeWhoseFirstCallbackReadTheNextCyclesTimeStartsAtItsOwnCycle)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.idle(0);
    h.idle(P);
    h.cycle(3 * P, 2 * P); // the take's first cycle, late: read 3P's time
    h.cycle(3 * P, 3 * P);
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({2, 3, 4}));
    EXPECT_EQ(h.firstFrame, 2 * P);
    EXPECT_EQ(h.counters.skippedFrames.load(), 0u);
}

// A take whose first cycle came after cycles JACK really skipped starts at that cycle.
TEST(RingFeeder, ATakeStartingRightAfterSkippedCyclesStartsAtTheCycleThatRan)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.idle(0);
    h.cycle(3 * P, 3 * P);
    h.cycle(4 * P, 4 * P);
    EXPECT_EQ(h.timeline(), h.expect({3, 4}));
    EXPECT_EQ(h.firstFrame, 3 * P);
    EXPECT_EQ(h.counters.skippedFrames.load(), 0u);
}

// A cycle held back when the take stops is written as read.
TEST(RingFeeder, AHeldCycleIsWrittenWhenTheTakeStops)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.cycle(0, 0);
    h.cycle(2 * P, 2 * P);
    h.feeder.cycle(3 * P, nullptr, P, false);
    EXPECT_EQ(h.timeline(), h.expect({0, -1, 2}));
}

// With a timeline clock (--clock) the label is the truth: the cycles JACK's clock cannot
// place (a late callback, a skipped one) go where their labels say; a label seen again is the
// writer's last block again (JACK did not run it) and is dropped; a jump is a gap of exactly
// the frames between; a cycle copied while the writer began the next is declared lost.
TEST(RingFeeder, ATimelineClockPlacesEveryCycleByItsLabel)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.clocked(10 * P, 10 * P);
    h.clocked(11 * P, 11 * P);
    h.clocked(11 * P, 11 * P);       // the writer was not run: its block again
    h.clocked(12 * P, 12 * P);
    h.clocked(std::nullopt, 0);      // no clock: cannot be placed
    h.clocked(14 * P, 14 * P);       // 13 never arrived
    h.clocked(15 * P, 16 * P, true); // torn: declared lost
    h.clocked(16 * P, 16 * P);
    EXPECT_EQ(h.timeline(), h.expect({10, 11, 12, -1, 14, -1, 16}));
    EXPECT_EQ(h.firstFrame, 10 * P);
    ASSERT_EQ(h.gaps.size(), 2u);
    EXPECT_EQ(h.gaps[0].jackFrame, 13 * P);
    EXPECT_EQ(h.gaps[0].uncertainFrames, 0u) << "a clocked gap is exact";
    EXPECT_EQ(h.counters.repeatedFrames.load(), P);
    EXPECT_EQ(h.counters.unclockedFrames.load(), P);
    EXPECT_EQ(h.counters.doubtfulFrames.load(), P);
    EXPECT_EQ(h.counters.skippedFrames.load(), P);
}

TEST(RingFeeder, ATimelineClockThatBeginsAgainBeginsANewTimeline)
{
    MisreadHarness h;
    constexpr std::uint64_t P = MisreadHarness::kPeriod;
    h.clocked(100000 * P, 5 * P);
    h.clocked(100001 * P, 6 * P);
    h.clocked(0, 7 * P); // a new supervisor: its timeline starts at 0
    h.clocked(P, 8 * P);
    TimelineEvent e;
    std::vector<TimelineEvent> starts;
    while (h.ring.events().tryPop(e))
        if (e.kind == TimelineEvent::Kind::Start)
            starts.push_back(e);
    ASSERT_EQ(starts.size(), 2u);
    EXPECT_EQ(starts[1].jackFrame, 0u);
    EXPECT_EQ(starts[1].ringFrame, 2 * P);
    EXPECT_EQ(h.ring.readableFrames(), 4 * P);
    EXPECT_EQ(h.counters.repeatedFrames.load(), 0u);
}

TEST(RingFeeder, ALargeStepBackInFrameTimeBeginsANewTimeline)
{
    constexpr std::size_t kPeriod = 64;
    FrameRing ring(1, 4096);
    CaptureCounters counters;
    RingFeeder feeder(ring, counters);
    std::vector<float> in(kPeriod, 0.5f);
    const float *ptr = in.data();
    feeder.cycle(100000, &ptr, kPeriod, true);
    feeder.cycle(100000 + kPeriod, &ptr, kPeriod, true);
    feeder.cycle(0, &ptr, kPeriod, true); // the server restarted its clock
    TimelineEvent e;
    ASSERT_TRUE(ring.events().tryPop(e));
    EXPECT_EQ(e.kind, TimelineEvent::Kind::Start);
    ASSERT_TRUE(ring.events().tryPop(e));
    EXPECT_EQ(e.kind, TimelineEvent::Kind::Start);
    EXPECT_EQ(e.jackFrame, 0u);
    EXPECT_EQ(counters.repeatedFrames.load(), 0u);
}

// The capture path as Capture::process runs it: JACK's 32-bit frame time extended by
// FrameTime, then RingFeeder. A wrap of the 32-bit counter continues the timeline; a server
// whose clock starts again from zero begins a new one (before the extension was shared, any
// step back became a jump of 2^32 and this branch could not be reached from real capture).
TEST(RingFeeder, TheCapturePathContinuesAcrossTheWrapAndRestartsAfterAStepBack)
{
    constexpr std::size_t kPeriod = 64;
    FrameRing ring(1, 4096);
    CaptureCounters counters;
    RingFeeder feeder(ring, counters, kPeriod);
    chronus::FrameTime clock;
    std::vector<float> in(kPeriod, 0.5f);
    const float *ptr = in.data();
    std::uint32_t t32 = 0xFFFFFFFFu - 2 * kPeriod + 1; // two cycles before the wrap
    for (int i = 0; i < 4; ++i, t32 += kPeriod)
        feeder.cycle(clock.extend(t32), &ptr, kPeriod, true);
    EXPECT_EQ(counters.skippedFrames.load(), 0u) << "the wrap is not a skip";
    const std::uint32_t restarted = t32 - 100 * kPeriod; // the server's clock stepped back 100 cycles
    feeder.cycle(clock.extend(restarted), &ptr, kPeriod, true);
    TimelineEvent e;
    ASSERT_TRUE(ring.events().tryPop(e));
    EXPECT_EQ(e.kind, TimelineEvent::Kind::Start);
    EXPECT_EQ(e.jackFrame, 0xFFFFFFFFu - 2 * kPeriod + 1);
    ASSERT_TRUE(ring.events().tryPop(e));
    EXPECT_EQ(e.kind, TimelineEvent::Kind::Start) << "a step back begins a new timeline";
    EXPECT_EQ(e.ringFrame, 4 * kPeriod);
    EXPECT_EQ(e.jackFrame, 0xFFFFFFFFu - 2 * kPeriod + 1 + 4 * kPeriod - 100 * kPeriod);
    EXPECT_FALSE(ring.events().tryPop(e));
}

// An input that loses (and regains) every connection is declared at the ring position between
// the last cycle before the change and the first after it, also when the cycle of the change
// is held back after a jump in frame time; cycles without a change add no event.
TEST(RingFeeder, AnInputLosingItsSourceIsDeclaredExactlyBetweenTwoCycles)
{
    constexpr std::size_t kChannels = 2, kPeriod = 64;
    FrameRing ring(kChannels, 4096);
    CaptureCounters counters;
    RingFeeder feeder(ring, counters, kPeriod);
    std::vector<float> data(kPeriod, 0.5f);
    const float *buffers[kChannels] = {data.data(), data.data()};
    std::uint8_t connected[kChannels] = {1, 1};
    auto cycle = [&](std::uint64_t reading) { feeder.cycle(reading, buffers, kPeriod, true, false, connected); };
    cycle(0);
    cycle(kPeriod);
    connected[1] = 0;
    cycle(2 * kPeriod);
    cycle(3 * kPeriod);
    connected[1] = 1;
    connected[0] = 0;
    cycle(5 * kPeriod); // JACK skipped the cycle at 4P: held until the next reading
    cycle(6 * kPeriod);
    feeder.cycle(7 * kPeriod, nullptr, kPeriod, false, false, connected); // not fed: still declared
    connected[0] = 1;
    feeder.cycle(8 * kPeriod, nullptr, kPeriod, false, false, connected);

    struct Seen {
        TimelineEvent::Kind kind;
        std::uint64_t ringFrame;
        std::uint32_t channel;
        bool operator==(const Seen &) const = default;
    };
    std::vector<Seen> seen;
    TimelineEvent e;
    while (ring.events().tryPop(e))
        seen.push_back({e.kind, e.ringFrame, e.kind == TimelineEvent::Kind::SourceLost ||
                                                     e.kind == TimelineEvent::Kind::SourceBack
                                                 ? e.channel
                                                 : 0u});
    using K = TimelineEvent::Kind;
    // The held cycle at 5P is written after the gap JACK left before it, and both after the
    // change declared in its own callback: the skipped cycle counts as the new state's.
    const std::vector<Seen> expected = {{K::Start, 0, 0},
                                        {K::SourceLost, 2 * kPeriod, 1},
                                        {K::SourceLost, 4 * kPeriod, 0},
                                        {K::SourceBack, 4 * kPeriod, 1},
                                        {K::Gap, 4 * kPeriod, 0},
                                        {K::Stop, 6 * kPeriod, 0},
                                        {K::SourceBack, 6 * kPeriod, 0}};
    EXPECT_EQ(seen.size(), expected.size());
    for (std::size_t i = 0; i < std::min(seen.size(), expected.size()); ++i) {
        EXPECT_EQ(int(seen[i].kind), int(expected[i].kind)) << "event " << i;
        EXPECT_EQ(seen[i].ringFrame, expected[i].ringFrame) << "event " << i;
        EXPECT_EQ(seen[i].channel, expected[i].channel) << "event " << i;
    }
}
