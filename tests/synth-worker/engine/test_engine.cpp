// Engine-level behaviour: block-size invariance, determinism, snapshots, frame-exact
// events and commits, for a patch holding every module in the catalogue.
#include "tests/synth-worker/engine/engine_fixtures.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <optional>

using namespace chronus;
using namespace chronus::engine;
using namespace chronus::model;
using chronus::test::everyModulePatch;
using chronus::test::randomCommands;
using chronus::test::renderWith;

namespace {

constexpr std::uint64_t kFrames = 48000;

CompiledPatch compiled(const PatchSpec &spec)
{
    auto c = compile(spec, 1);
    EXPECT_TRUE(c) << (c ? "" : c.error());
    return *c;
}

bool bitIdentical(const std::vector<float> &a, const std::vector<float> &b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::size_t firstDifference(const std::vector<float> &a, const std::vector<float> &b)
{
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return i;
    return std::min(a.size(), b.size());
}

} // namespace

TEST(Engine, OutputDoesNotDependOnBlockSizeWithEventsTextParametersGatesAndACrossfadedSwap)
{
    // Every module, plus a sequenced voice; random parameter changes, pattern/notes/lane
    // text, gates, a node reset, and a crossfaded commit at a frame that is on no block
    // boundary (30001 mod 7, 64, 253, 256 = 6, 49, 147, 49).
    constexpr std::uint64_t kSwapFrame = 30001;
    const PatchSpec spec = chronus::test::sequencedPatch();
    const auto special = chronus::test::textGateAndSwapCommands(kSwapFrame);
    const auto commands = chronus::test::merged(randomCommands(compiled(spec), kFrames, 400), special);
    const auto reference = renderWith(spec, commands, kFrames, 256);
    double energy = 0;
    for (float x : reference) {
        ASSERT_TRUE(std::isfinite(x));
        energy += double(x) * x;
    }
    EXPECT_GT(energy, 1.0) << "the patch should make sound";
    for (std::uint32_t block : {1u, 7u, 64u, 253u}) {
        const auto other = renderWith(spec, commands, kFrames, block);
        EXPECT_TRUE(bitIdentical(reference, other))
            << "block " << block << " differs first at sample " << firstDifference(reference, other);
    }

    // The special commands must do something, or the test above proves little: without the
    // swap the output is the same up to and including the swap frame (the crossfade starts
    // at weight 0) and differs from the next frame on; without the text and gate commands
    // it differs before the swap.
    std::vector<chronus::test::TimedCommand> noSwap, noText;
    for (const auto &c : commands) {
        const bool swap = c.frame == kSwapFrame && c.address.rfind("/patch/", 0) == 0;
        const bool text = !swap && std::find_if(special.begin(), special.end(), [&](const auto &x) {
                                       return x.frame == c.frame && x.address == c.address;
                                   }) != special.end();
        if (!swap)
            noSwap.push_back(c);
        if (!text)
            noText.push_back(c);
    }
    const std::vector<float> left(reference.begin(), reference.begin() + kFrames);
    const auto withoutSwap = renderWith(spec, noSwap, kFrames, 256);
    EXPECT_EQ(firstDifference(left, std::vector<float>(withoutSwap.begin(), withoutSwap.begin() + kFrames)),
              kSwapFrame + 1);
    EXPECT_LT(firstDifference(reference, renderWith(spec, noText, kFrames, 256)), kSwapFrame);
}

TEST(Engine, EveryModuleStaysFiniteUnderRandomParameterChanges)
{
    for (const auto &m : moduleCatalogue()) {
        if (m.type == "output" || m.type == "voice")
            continue;
        const PatchSpec spec = everyModulePatch(m.type);
        const auto commands = randomCommands(compiled(spec), kFrames, 300, 17);
        const auto out = renderWith(spec, commands, kFrames, 256);
        // Audio stays within +-100 at the 0.05 mix gain (2000 raw); control sources such as
        // the LFO may legitimately output large values (depth in the target's unit).
        const float limit = m.type == "lfo" ? 1e9f : 100.0f;
        std::size_t bad = 0;
        while (bad < out.size() && std::isfinite(out[bad]) && std::fabs(out[bad]) < limit)
            ++bad;
        EXPECT_EQ(bad, out.size()) << m.type << " gave " << out[bad] << " at sample " << bad % kFrames;
    }
}

TEST(Engine, SamePatchAndEventsGiveBitIdenticalOutputAcrossRuns)
{
    const PatchSpec spec = everyModulePatch();
    const auto commands = randomCommands(compiled(spec), kFrames, 200, 11);
    EXPECT_TRUE(bitIdentical(renderWith(spec, commands, kFrames, 256), renderWith(spec, commands, kFrames, 256)));
}

TEST(Engine, SnapshotRestoredInAFreshEngineContinuesBitIdentically)
{
    const PatchSpec spec = everyModulePatch();
    const double rate = 48000;
    Interpreter controller;
    auto loaded = controller.load(spec);
    ASSERT_TRUE(loaded);
    Engine a(rate, 256);
    a.install(std::move(*Graph::build(*loaded->commit, rate, 256)));
    const auto commands = randomCommands(*loaded->commit, 2 * kFrames, 300, 3);

    // Resolves every command due before `until` once and schedules it on each engine.
    std::size_t next = 0;
    auto feed = [&](std::uint64_t until, std::initializer_list<Engine *> engines) {
        for (; next < commands.size() && commands[next].frame < until; ++next) {
            auto outcome = controller.handle(commands[next].address, commands[next].args);
            ASSERT_TRUE(outcome);
            for (auto e : outcome->events) {
                e.frame = commands[next].frame;
                for (Engine *engine : engines)
                    engine->schedule(e);
            }
        }
    };
    std::vector<float> l(256), r(256);
    float *out[2] = {l.data(), r.data()};
    // N frames, then a snapshot at a block boundary.
    for (std::uint64_t pos = 0; pos < kFrames; pos += 256) {
        feed(pos + 256, {&a});
        a.render(out, 2, 256);
    }
    std::vector<std::byte> snapshot(a.snapshotSize());
    ASSERT_EQ(a.saveSnapshot(snapshot), snapshot.size());

    Engine b(rate, 256);
    auto restored = b.loadSnapshot(snapshot);
    ASSERT_TRUE(restored) << restored.error();
    EXPECT_EQ(b.frame(), a.frame());

    // M more frames on both, with the same events.
    std::vector<float> la(256), ra(256), lb(256), rb(256);
    float *oa[2] = {la.data(), ra.data()};
    float *ob[2] = {lb.data(), rb.data()};
    for (std::uint64_t pos = kFrames; pos < 2 * kFrames; pos += 256) {
        feed(pos + 256, {&a, &b});
        a.render(oa, 2, 256);
        b.render(ob, 2, 256);
        ASSERT_EQ(std::memcmp(la.data(), lb.data(), 256 * sizeof(float)), 0) << "left differs in block at " << pos;
        ASSERT_EQ(std::memcmp(ra.data(), rb.data(), 256 * sizeof(float)), 0) << "right differs in block at " << pos;
    }
}

TEST(Engine, SnapshotOfTheWrongSampleRateIsRefused)
{
    Interpreter controller;
    auto loaded = controller.load(everyModulePatch());
    Engine a(48000, 256);
    a.install(std::move(*Graph::build(*loaded->commit, 48000, 256)));
    std::vector<std::byte> snapshot(a.snapshotSize());
    ASSERT_GT(a.saveSnapshot(snapshot), 0u);
    Engine b(44100, 256);
    auto r = b.loadSnapshot(snapshot);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("sample rate"), std::string::npos);
    snapshot.resize(10);
    EXPECT_FALSE(Engine(48000, 256).loadSnapshot(snapshot));
}

TEST(Engine, ParameterEventTakesEffectAtItsExactFrame)
{
    // A sine whose gain is stepped (no smoothing on output gain would hide it, so watch
    // the output node's gain smoothing start exactly at the frame).
    PatchSpec spec;
    spec.nodes.push_back({"s", "sine", {{"freq", 1000.0}, {"gain", 0.5}}});
    spec.connections.push_back({"s", "output", 1.0});
    const std::vector<chronus::test::TimedCommand> commands = {{1000, "/mod/output/gain", {0.0f}}};
    const auto withEvent = renderWith(spec, commands, 4000, 256);
    const auto without = renderWith(spec, {}, 4000, 256);
    EXPECT_EQ(firstDifference(withEvent, without), 1000u);
}

TEST(Engine, CommitSwapsAtItsFrameAndKeepsStateOfNodesItKeeps)
{
    // The second commit adds a node whose very first sample is 0.25 (an LFO's square starts
    // high), so the output's departure from the first patch alone marks the swap frame.
    // 1000 is no multiple of the 64-frame blocks. With a crossfade the new patch enters at
    // weight 0 at the swap frame, (i - 1000) / fade after it.
    const double rate = 48000;
    constexpr std::uint64_t kSwap = 1000;
    for (const std::uint32_t fade : {0u, 480u}) {
        SCOPED_TRACE("crossfade " + std::to_string(fade));
        Interpreter controller;
        Engine engine(rate, 64);
        ASSERT_TRUE(controller.handle("/patch/create", {std::string("s"), std::string("sine")}));
        ASSERT_TRUE(controller.handle("/patch/connect", {std::string("s"), std::string("output")}));
        auto c1 = controller.handle("/patch/commit", {0});
        ASSERT_TRUE(c1) << c1.error();
        engine.install(std::move(*Graph::build(*c1->commit, rate, 64)));
        ASSERT_TRUE(controller.handle("/patch/create", {std::string("t"), std::string("lfo"), std::string("waveform"),
                                                        std::string("square"), std::string("depth"), 0.25f}));
        ASSERT_TRUE(controller.handle("/patch/connect", {std::string("t"), std::string("output")}));
        auto c2 = controller.handle("/patch/commit", {0});
        ASSERT_TRUE(c2) << c2.error();
        EXPECT_EQ(c2->commit->generation, 2u);
        ASSERT_TRUE(engine.submitGraph(std::move(*Graph::build(*c2->commit, rate, 64)), kSwap, fade));

        std::vector<float> l(2000), r(2000);
        float *out[2] = {l.data(), r.data()};
        engine.render(out, 2, 2000);
        EXPECT_EQ(engine.stats().swaps, 1u);
        EXPECT_EQ(engine.graph()->generation(), 2u);
        // Reference: the first patch alone.
        Engine ref(rate, 64);
        ref.install(std::move(*Graph::build(*c1->commit, rate, 64)));
        std::vector<float> rl(2000), rr(2000);
        float *rout[2] = {rl.data(), rr.data()};
        ref.render(rout, 2, 2000);
        EXPECT_EQ(firstDifference(l, rl), kSwap + (fade > 0 ? 1 : 0));
        // From the swap on, the difference is the added node alone, faded in: the kept sine
        // went on exactly where it was (a phase jump would show here at once).
        for (std::size_t i = kSwap; i < l.size(); ++i) {
            const double weight = fade > 0 ? std::min(1.0, double(i - kSwap) / fade) : 1.0;
            ASSERT_NEAR(l[i] - rl[i], 0.25 * weight, 1e-6) << "frame " << i;
        }
        while (engine.takeRetired()) {
        }
    }
}

TEST(Engine, ModulationConnectionAddsSourceTimesDepthToTheParameter)
{
    // An LFO (sine, 3 Hz, depth 0.5) into a 1 kHz sine's gain at connection depth 0.6: the
    // gain must be 0.5 + 0.6 * 0.5 * sin(2 pi 3 t), swinging 0.2..0.8, per sample.
    PatchSpec spec;
    spec.nodes.push_back({"s", "sine", {{"freq", 1000.0}, {"gain", 0.5}}});
    spec.nodes.push_back({"wob", "lfo", {{"rate", 3.0}, {"depth", 0.5}}});
    spec.connections.push_back({"s", "output", 1.0});
    spec.connections.push_back({"wob", "s.gain", 0.6});
    const double rate = 48000;
    const auto out = renderWith(spec, {}, kFrames, 253);
    constexpr double pi = std::numbers::pi;
    auto gain = [&](double frame) { return 0.5 + 0.6 * 0.5 * std::sin(2 * pi * 3 * frame / rate); };
    // Sample by sample, against the analytic signal (float phase accumulation aside).
    for (std::uint64_t i = 0; i < kFrames; ++i)
        ASSERT_NEAR(out[i], gain(double(i)) * std::sin(2 * pi * 1000 * double(i) / rate), 2e-5) << "frame " << i;
    // Peak per 1 kHz cycle (48 frames from phase 0, so |sin| = 1 on frames 12 and 36) against
    // the gain at the cycle's middle: within 0.002, as the gain moves at most
    // 0.3 * 2 pi * 3 / s = 5.7 / s, so 0.0015 in the 12.5 frames between peak and middle.
    double highest = 0, lowest = 1;
    for (std::uint64_t start = 0; start + 48 <= kFrames; start += 48) {
        float peak = 0;
        for (std::uint64_t i = start; i < start + 48; ++i)
            peak = std::max(peak, std::fabs(out[i]));
        ASSERT_NEAR(peak, gain(double(start) + 23.5), 0.002) << "cycle at frame " << start;
        highest = std::max<double>(highest, peak);
        lowest = std::min<double>(lowest, peak);
    }
    EXPECT_NEAR(highest, 0.8, 0.002);
    EXPECT_NEAR(lowest, 0.2, 0.002);
}

TEST(Engine, EventsForAPatchThatIsNotLiveAreDroppedNotMisapplied)
{
    Interpreter controller;
    auto loaded = controller.load(everyModulePatch());
    Engine engine(48000, 256);
    engine.install(std::move(*Graph::build(*loaded->commit, 48000, 256)));
    Event e;
    e.generation = loaded->commit->generation + 5;
    e.node = 0;
    e.value = 0;
    ASSERT_TRUE(engine.schedule(e));
    std::vector<float> l(256), r(256);
    float *out[2] = {l.data(), r.data()};
    engine.render(out, 2, 256);
    EXPECT_EQ(engine.stats().eventsDropped, 1u);
    EXPECT_EQ(engine.stats().eventsApplied, 0u);
}

TEST(Engine, CrossfadedCommitMovesLinearlyFromOldToNewPatch)
{
    const double rate = 48000;
    Interpreter controller;
    PatchSpec one;
    one.nodes.push_back({"a", "sine", {{"freq", 0.01}, {"gain", 0.0}}});
    one.connections.push_back({"a", "output", 1.0});
    auto c1 = controller.load(one);
    Engine engine(rate, 256);
    engine.install(std::move(*Graph::build(*c1->commit, rate, 256)));
    // New patch: a constant-ish signal (a 0.01 Hz sine near phase 0 is ~0), so use output gain
    // on a DC-like slow sine started at a quarter period: simplest is compare against the ends.
    auto load = controller.handle("/patch/load", {std::string(R"({"nodes":[{"id":"b","type":"sine","params":{"freq":1000,"gain":1}}],"connections":[{"from":"b","to":"output"}]})"), 10.0f});
    ASSERT_TRUE(load) << load.error();
    const auto fade = crossfadeFrames(load->crossfadeMs, rate);
    EXPECT_EQ(fade, 480u);
    ASSERT_TRUE(engine.submitGraph(std::move(*Graph::build(*load->commit, rate, 256)), 100, fade));
    std::vector<float> l(2000), r(2000);
    float *out[2] = {l.data(), r.data()};
    engine.render(out, 2, 2000);
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(l[i], 0.0f);
    // During the fade the new sine is scaled by (frame - 100) / 480.
    Engine ref(rate, 256);
    ref.install(std::move(*Graph::build(*load->commit, rate, 256)));
    std::vector<float> rl(2000), rr(2000);
    float *rout[2] = {rl.data(), rr.data()};
    ref.render(rout, 2, 1900);
    for (int i = 100; i < 580; ++i)
        ASSERT_NEAR(l[i], rl[i - 100] * float(i - 100) / 480.0f, 1e-6f) << "frame " << i;
    for (int i = 580; i < 2000; ++i)
        ASSERT_EQ(l[i], rl[i - 100]) << "frame " << i;
    while (engine.takeRetired()) {
    }
}

TEST(Engine, SwapsBeyondWhatCanWaitAreCountedAsDropped)
{
    Interpreter controller;
    auto loaded = controller.load(everyModulePatch("sine"));
    ASSERT_TRUE(loaded);
    Engine engine(48000, 64);
    std::size_t accepted = 0;
    for (int i = 0; i < 20; ++i)
        accepted += engine.submitGraph(std::move(*Graph::build(*loaded->commit, 48000, 64)), 100, 0);
    ASSERT_EQ(accepted, 20u);
    std::vector<float> l(256), r(256);
    float *out[2] = {l.data(), r.data()};
    engine.render(out, 2, 256);
    EXPECT_EQ(engine.stats().swaps, Engine::kMaxPendingSwaps);
    EXPECT_EQ(engine.stats().swapsDropped, 20u - Engine::kMaxPendingSwaps);
    while (engine.takeRetired()) {
    }
}

// Stems: each stem node's output on its own pair of channels after the outputs, a mono node
// on both sides, pairs the patch does not use silent; the mix the output node sums is
// exactly the sum of the stems; a stereo node's stem keeps its two sides.
TEST(Engine, StemsCarryEachStemNodesOutputAndSumToTheMixTheyMakeUp)
{
    auto spec = PatchSpec::fromJson(R"({"nodes":[
        {"id":"a","type":"osc","params":{"freq":220,"amp":0.3}},
        {"id":"b","type":"osc","params":{"freq":331,"amp":0.2,"waveform":"saw"}},
        {"id":"p","type":"pan","params":{"pan":0.4}}],
        "connections":[{"from":"a","to":"output"},{"from":"b","to":"p"},{"from":"p","to":"output"}],
        "stems":["a","p"]})");
    ASSERT_TRUE(spec) << spec.error();
    Interpreter controller;
    auto loaded = controller.load(*spec);
    ASSERT_TRUE(loaded) << loaded.error();
    Engine engine(48000, 256);
    engine.install(std::move(*Graph::build(*loaded->commit, 48000, 256)));
    constexpr std::uint32_t kChannels = 2 + 2 * 3, kBlock = 256;
    std::vector<std::vector<float>> buffers(kChannels, std::vector<float>(kBlock, 1.0f));
    float *out[kChannels];
    for (std::uint32_t c = 0; c < kChannels; ++c)
        out[c] = buffers[c].data();
    std::size_t wrong = 0;
    double energyA = 0, energyP = 0, unused = 0;
    for (int block = 0; block < 40; ++block) {
        engine.render(out, kChannels, kBlock, nullptr, 0, 3);
        for (std::uint32_t i = 0; i < kBlock; ++i) {
            wrong += buffers[2][i] != buffers[3][i]; // a is mono
            wrong += buffers[0][i] != buffers[2][i] + buffers[4][i];
            wrong += buffers[1][i] != buffers[3][i] + buffers[5][i];
            energyA += double(buffers[2][i]) * buffers[2][i];
            energyP += std::abs(double(buffers[4][i]) - buffers[5][i]); // panned: two sides differ
            unused += std::abs(buffers[6][i]) + std::abs(buffers[7][i]);
        }
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(energyA, 1.0);
    EXPECT_GT(energyP, 1.0);
    EXPECT_EQ(unused, 0.0);
}

TEST(Engine, AFreshActivationKeepsNoNodesStateAndAnOrdinaryOneDoes)
{
    // The supervisor re-commits the live patch after losing both workers as a fresh start
    // (model::kActivateFresh): its journal replays that as an empty patch and then the patch,
    // so a worker that still had the patch live (a second loss during the first restart) must
    // not carry its nodes' state (oscillator phases, envelopes) into it.
    PatchSpec spec;
    auto parsed = PatchSpec::fromJson(
        R"({"nodes":[{"id":"o","type":"osc","params":{"freq":331.0,"waveform":"saw"}}],)"
        R"("connections":[{"from":"o","to":"output"}]})");
    ASSERT_TRUE(parsed) << parsed.error();
    spec = *parsed;
    constexpr std::uint32_t kBlock = 256;
    constexpr std::uint64_t kSwap = 10 * kBlock + 17;
    auto run = [&](std::optional<std::uint16_t> activateParam) {
        Engine engine(48000.0, kBlock);
        auto first = Graph::build(compiled(spec), 48000.0, kBlock);
        EXPECT_TRUE(first);
        engine.install(std::move(*first));
        if (activateParam) {
            auto again = Graph::build(compiled(spec), 48000.0, kBlock);
            EXPECT_TRUE(again);
            EXPECT_TRUE(engine.prepare(std::move(*again)));
            Event e;
            e.type = EventType::Activate;
            e.frame = kSwap;
            e.generation = 1;
            e.param = *activateParam;
            EXPECT_TRUE(engine.schedule(e));
        }
        std::vector<float> left(20 * kBlock), right(20 * kBlock);
        for (std::uint64_t f = 0; f < left.size(); f += kBlock) {
            float *out[2] = {left.data() + f, right.data() + f};
            engine.render(out, 2, kBlock);
        }
        return left;
    };
    const auto plain = run(std::nullopt);
    const auto kept = run(0);
    const auto fresh = run(kActivateFresh);
    EXPECT_TRUE(bitIdentical(plain, kept)) << "an ordinary commit of the same patch keeps the phase";
    EXPECT_EQ(firstDifference(plain, fresh), kSwap) << "a fresh one starts the oscillator again at the swap";
    // From the swap on, the fresh activation plays what a new engine plays from frame 0.
    EXPECT_TRUE(std::equal(fresh.begin() + kSwap, fresh.begin() + kSwap + 1000, plain.begin()));
}
