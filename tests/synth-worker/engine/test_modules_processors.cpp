// Unit tests of the processor modules (filters, amplifiers, effects, limiter), rendered
// through the real process() with the module harness and compared with analytic
// expectations. Tolerances are stated where they are used.
#include "tests/synth-worker/engine/module_harness.hpp"

#include "synth-worker/engine/control_clock.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

namespace chronus::test {
namespace {

constexpr double kRate = 48000.0;
constexpr std::uint32_t kBlockSizes[] = {1, 7, 64, 253, 256};

std::vector<float> sine(double freq, std::size_t frames, double amplitude = 1.0, double rate = kRate)
{
    std::vector<float> x(frames);
    for (std::size_t i = 0; i < frames; ++i)
        x[i] = static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * freq * double(i) / rate));
    return x;
}

// Deterministic white noise in [-amplitude, amplitude) (a seeded LCG, not a clock).
std::vector<float> noise(std::size_t frames, double amplitude = 1.0, std::uint64_t seed = 12345)
{
    std::vector<float> x(frames);
    for (auto &v : x) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v = static_cast<float>(amplitude * (double(seed >> 11) / double(1ull << 53) * 2.0 - 1.0));
    }
    return x;
}

std::vector<float> impulse(std::size_t frames, std::size_t at = 0, float value = 1.0f)
{
    std::vector<float> x(frames, 0.0f);
    x[at] = value;
    return x;
}

bool allFinite(const std::vector<float> &x)
{
    return std::all_of(x.begin(), x.end(), [](float v) { return std::isfinite(v); });
}

double peak(const std::vector<float> &x, std::size_t from = 0, std::size_t to = 0)
{
    if (to == 0 || to > x.size())
        to = x.size();
    double p = 0;
    for (std::size_t i = from; i < to; ++i)
        p = std::max(p, std::fabs(double(x[i])));
    return p;
}

double energy(const std::vector<float> &x, std::size_t from, std::size_t to)
{
    double e = 0;
    for (std::size_t i = from; i < to && i < x.size(); ++i)
        e += double(x[i]) * x[i];
    return e;
}

double db(double ratio) { return 20.0 * std::log10(ratio); }

// ---------------------------------------------------------------------------------------
// Frequency response by rendering steady sine tones.

struct FilterSetup {
    std::string type;
    std::string mode; // "" for modules without a mode (ladder)
    double cutoff;
    double q = 0.707;
    std::string qName = "q";
};

// Gain of the filter at `freq`: a sine is rendered, the first 0.1 s (settling) dropped and
// the tone magnitude of the rest compared with the input's over the same span.
double filterGain(const FilterSetup &f, double freq, double amplitude = 1.0)
{
    constexpr std::size_t settle = 4800, measure = 24000;
    ModuleHarness h(f.type, kRate);
    if (!f.mode.empty())
        h.setText("mode", f.mode);
    h.set("cutoff", f.cutoff);
    h.set(f.qName, f.q);
    auto x = sine(freq, settle + measure, amplitude);
    h.feed("in", x);
    auto y = h.render(settle + measure)[0];
    std::vector<float> xs(x.begin() + settle, x.end()), ys(y.begin() + settle, y.end());
    return toneMagnitude(ys, freq, kRate) / toneMagnitude(xs, freq, kRate);
}

// Frequency in [lo, hi] where the gain crosses `target`, by bisection on a log scale;
// `falling` says whether the gain decreases with frequency there.
double crossing(const FilterSetup &f, double target, double lo, double hi, bool falling)
{
    for (int it = 0; it < 24; ++it) {
        const double mid = std::sqrt(lo * hi);
        const bool above = filterGain(f, mid) > target;
        if (above == falling)
            lo = mid;
        else
            hi = mid;
    }
    return std::sqrt(lo * hi);
}

const double kMinus3Db = 1.0 / std::sqrt(2.0);

class MinusThreeDbPoint : public ::testing::TestWithParam<std::tuple<std::string, std::string, double>> {};

TEST_P(MinusThreeDbPoint, LowAndHighPassAreThreeDbDownAtTheCutoffWithinTwoPercent)
{
    const auto &[type, mode, cutoff] = GetParam();
    const FilterSetup f{type, mode, cutoff};
    const bool falling = mode == "lp";
    const double f3 = crossing(f, kMinus3Db, cutoff / 2, cutoff * 2, falling);
    const double errorPercent = 100.0 * (f3 / cutoff - 1.0);
    RecordProperty("error_percent", std::to_string(errorPercent));
    std::printf("[ measured ] %s %s cutoff %.0f Hz: -3 dB at %.2f Hz (%+.4f %%)\n", type.c_str(), mode.c_str(),
                cutoff, f3, errorPercent);
    EXPECT_NEAR(f3, cutoff, 0.02 * cutoff);
}

INSTANTIATE_TEST_SUITE_P(Filters, MinusThreeDbPoint,
                         ::testing::Combine(::testing::Values("biquad_filter", "svf"), ::testing::Values("lp", "hp"),
                                            ::testing::Values(200.0, 1000.0, 5000.0)),
                         [](const auto &info) {
                             return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
                                    std::to_string(static_cast<int>(std::get<2>(info.param)));
                         });

class FilterShapes : public ::testing::TestWithParam<std::string> {};

TEST_P(FilterShapes, BandPassPeaksAtTheCutoffWithUnityGain)
{
    const FilterSetup f{GetParam(), "bp", 1000.0, 5.0};
    const double atCutoff = filterGain(f, 1000.0);
    // 0 dB at the peak within 0.1 dB; 2 % either side must already be lower (Q 5: ~ -0.17 dB).
    EXPECT_NEAR(db(atCutoff), 0.0, 0.1);
    EXPECT_LT(filterGain(f, 980.0), atCutoff);
    EXPECT_LT(filterGain(f, 1020.0), atCutoff);
    // Half an octave away a Q-5 band-pass is down by ~ 10 log10(1 + 25·(√2 − 1/√2)²) = 11.3 dB.
    EXPECT_NEAR(db(filterGain(f, 1000.0 * std::sqrt(2.0))), -11.3, 0.5);
}

TEST_P(FilterShapes, NotchRemovesTheCutoffFrequencyByMoreThanFortyDb)
{
    const FilterSetup f{GetParam(), "notch", 1000.0, 0.707};
    const double depth = db(filterGain(f, 1000.0));
    std::printf("[ measured ] %s notch depth at 1 kHz: %.1f dB\n", GetParam().c_str(), depth);
    EXPECT_LT(depth, -40.0);
    // Far from the notch the signal passes (within 0.5 dB).
    EXPECT_NEAR(db(filterGain(f, 100.0)), 0.0, 0.5);
    EXPECT_NEAR(db(filterGain(f, 10000.0)), 0.0, 0.5);
}

TEST_P(FilterShapes, ModeIsAcceptedByNameAndByNumber)
{
    ModuleHarness byName(GetParam()), byNumber(GetParam());
    byName.setText("filter_mode", "hp");
    byNumber.set("mode", 1);
    const auto x = noise(2000);
    byName.feed("in", x);
    byNumber.feed("in", x);
    EXPECT_EQ(byName.render(2000), byNumber.render(2000));
}

TEST_P(FilterShapes, StaysFiniteAndBoundedWhenCutoffAndQJumpAroundOnLoudNoise)
{
    ModuleHarness h(GetParam());
    const auto x = noise(48000, 1.0, 7);
    h.feed("in", x);
    double worst = 0;
    for (int step = 0; step < 48; ++step) {
        h.set("mode", step % 4);
        h.set("cutoff", step % 3 == 0 ? 20000.0 : 20.0 + 400.0 * step, false);
        h.set("q", step % 5 == 0 ? 40.0 : 0.1, false);
        const auto y = h.render(1000, 64)[0];
        ASSERT_TRUE(allFinite(y));
        worst = std::max(worst, peak(y));
    }
    // Q 40 on white noise can ring up, but not without bound.
    EXPECT_LT(worst, 100.0);
}

TEST_P(FilterShapes, StaysBoundedUnderAudioRateCutoffModulationAtHighQ)
{
    // Cutoff 1 kHz swept ±2 kHz at 200 Hz, Q 40, a 2 kHz tone: a direct-form biquad grows
    // exponentially here (to ~1e144 in 2 s); a modulation-safe structure stays near the
    // static resonant gain (0.8 x Q = 32).
    ModuleHarness h(GetParam());
    h.set("mode", 0);
    h.set("q", 40.0);
    const std::size_t n = 96000, block = 256;
    h.feed("in", sine(2000.0, n, 0.8));
    std::vector<float> mod(block);
    h.module().param(h.spec().findParam("cutoff")).setModulation(mod.data());
    double worst = 0;
    for (std::size_t pos = 0; pos < n; pos += block) {
        for (std::size_t i = 0; i < block; ++i)
            mod[i] = static_cast<float>(1999.0 * std::sin(2.0 * std::numbers::pi * 200.0 * double(pos + i) / kRate));
        const auto y = h.render(block)[0];
        ASSERT_TRUE(allFinite(y)) << "at " << pos;
        worst = std::max(worst, peak(y));
    }
    std::printf("[ measured ] %s peak under audio-rate cutoff modulation at Q 40: %.2f\n", GetParam().c_str(), worst);
    EXPECT_LT(worst, 32.0);
}

INSTANTIATE_TEST_SUITE_P(Filters, FilterShapes, ::testing::Values("biquad_filter", "svf"));

// ---------------------------------------------------------------------------------------
// Control rate: filters read cutoff, Q and mode every kControlPeriod samples of the node's
// own sample count and hold their coefficients in between.

class ControlRate : public ::testing::TestWithParam<std::string> {};

TEST_P(ControlRate, AModulatedCutoffTakesEffectAtTheNextControlPointOfTheNodesOwnSampleCount)
{
    // Both filters run 10 samples, then a block in which the modulated one's cutoff jumps
    // at block sample 100 (node sample 110). Up to the control point at or after 110 the two
    // are bit-identical; from that point on they differ.
    const std::uint32_t period = engine::kControlPeriod;
    const std::size_t lead = 10, jump = 100, block = 256;
    const std::size_t point = (lead + jump + period - 1) / period * period - lead;
    ModuleHarness still(GetParam()), moved(GetParam());
    const auto x = noise(lead + block, 0.5, 99);
    for (auto *h : {&still, &moved}) {
        h->set("cutoff", 1000.0);
        h->feed("in", x);
        h->render(lead);
    }
    std::vector<float> mod(block, 0.0f);
    std::fill(mod.begin() + jump, mod.end(), 2000.0f);
    moved.module().param(moved.spec().findParam("cutoff")).setModulation(mod.data());
    const auto a = still.render(block)[0], b = moved.render(block)[0];
    std::size_t first = 0;
    while (first < block && a[first] == b[first])
        ++first;
    EXPECT_EQ(first, point) << "expected the first difference at the control point";
}

INSTANTIATE_TEST_SUITE_P(Filters, ControlRate, ::testing::Values("biquad_filter", "svf", "ladder"));

// ---------------------------------------------------------------------------------------
// Ladder.

// The linear (small-signal) ladder is the bilinear transform of the analog ladder
// H(s) = P/(1 + k·P), P = 1/(1 + s)⁴, with s = j·tan(πf/fs)/tan(πfc/fs) (pre-warped), k = 4.2·resonance.
double ladderAnalyticGain(double f, double fc, double resonance)
{
    const double omega = std::tan(std::numbers::pi * f / kRate) / std::tan(std::numbers::pi * fc / kRate);
    const std::complex<double> pole = 1.0 / std::pow(std::complex<double>(1.0, omega), 4);
    const double k = 4.2 * resonance;
    return std::abs(pole / (1.0 + k * pole));
}

TEST(Ladder, OneOctaveAboveCutoffIsAboutTwentyFourDbDownAtLowResonance)
{
    // Small signal so the tanh is linear. Cutoff is the frequency of each of the four poles.
    // At resonance 0.1 the analytic gain one octave up is -24.9 dB re the pass band
    // (at resonance 0 it would be -28.0 dB).
    const FilterSetup f{"ladder", "", 1000.0, 0.1, "resonance"};
    const double pass = filterGain(f, 50.0, 0.01);
    const double octave = db(filterGain(f, 2000.0, 0.01) / pass);
    const double expected = db(ladderAnalyticGain(2000.0, 1000.0, 0.1) / ladderAnalyticGain(50.0, 1000.0, 0.1));
    std::printf("[ measured ] ladder gain one octave above cutoff: %.2f dB (analytic %.2f dB)\n", octave, expected);
    EXPECT_NEAR(octave, -24.0, 4.0);
    EXPECT_NEAR(octave, expected, 0.2);
}

TEST(Ladder, ResonancePeaksNearTheCutoffAsTheAnalyticLadderDoes)
{
    const FilterSetup f{"ladder", "", 1000.0, 0.7, "resonance"};
    const double pass = filterGain(f, 50.0, 0.01);
    const double atCutoff = db(filterGain(f, 1000.0, 0.01) / pass);
    const double expected = db(ladderAnalyticGain(1000.0, 1000.0, 0.7) / ladderAnalyticGain(50.0, 1000.0, 0.7));
    std::printf("[ measured ] ladder resonance 0.7 gain at cutoff: %+.2f dB (analytic %+.2f dB)\n", atCutoff, expected);
    EXPECT_NEAR(atCutoff, expected, 0.2);
    EXPECT_GT(atCutoff, 6.0);
}

TEST(Ladder, StopBandFallsAtTwentyFourDbPerOctave)
{
    const FilterSetup f{"ladder", "", 250.0, 0.0, "resonance"};
    const double slope = db(filterGain(f, 4000.0, 0.01) / filterGain(f, 2000.0, 0.01));
    std::printf("[ measured ] ladder slope 2->4 kHz at cutoff 250 Hz: %.2f dB/oct\n", slope);
    EXPECT_NEAR(slope, -24.0, 2.0);
}

TEST(Ladder, SelfOscillatesAtTheCutoffAtFullResonance)
{
    ModuleHarness h("ladder");
    h.set("cutoff", 1000.0);
    h.set("resonance", 1.0);
    h.feed("in", impulse(96000, 0, 0.1f));
    const auto y = h.render(96000)[0];
    std::vector<float> tail(y.begin() + 48000, y.end());
    const double freq = zeroCrossingFrequency(tail, kRate);
    std::printf("[ measured ] ladder self-oscillation: %.1f Hz, rms %.3f\n", freq, rms(tail));
    EXPECT_GT(rms(tail), 0.05);
    EXPECT_NEAR(freq, 1000.0, 50.0);
}

TEST(Ladder, NeverProducesNanOrRunsAwayAtMaximumResonanceAndDrive)
{
    ModuleHarness h("ladder");
    h.set("resonance", 1.0);
    h.set("drive", 36.0);
    h.set("env_amount", 8.0);
    h.set("accent", 1.0);
    const std::size_t n = 96000;
    auto x = noise(n, 1.0, 3);
    for (std::size_t i = 0; i < n; i += 1000)
        x[i] = (i / 1000) % 2 ? 1e6f : -1e6f; // huge spikes
    x[5000] = std::numeric_limits<float>::quiet_NaN();
    x[6000] = std::numeric_limits<float>::infinity();
    h.feed("in", x);
    h.feed("env", noise(n, 1.0, 4));
    h.feed("accent", noise(n, 1.0, 5));
    for (double cutoff : {20.0, 1000.0, 20000.0}) {
        h.set("cutoff", cutoff);
        const auto y = h.render(n / 3, 253)[0];
        ASSERT_TRUE(allFinite(y));
        EXPECT_LT(peak(y), 20.0);
    }
}

TEST(Ladder, EnvelopeInputOpensTheCutoffByEnvAmountOctaves)
{
    // With env = 1 and env_amount = 2 a 250 Hz cutoff behaves like a 1 kHz one.
    const std::size_t n = 28800;
    const auto x = noise(n, 0.01, 9);
    ModuleHarness modulated("ladder"), reference("ladder");
    modulated.set("cutoff", 250.0);
    modulated.set("env_amount", 2.0);
    modulated.feed("in", x);
    modulated.feed("env", std::vector<float>(n, 1.0f));
    reference.set("cutoff", 1000.0);
    reference.feed("in", x);
    const auto a = modulated.render(n)[0], b = reference.render(n)[0];
    for (std::size_t i = 0; i < n; ++i)
        ASSERT_NEAR(a[i], b[i], 1e-6) << "at " << i;
}

TEST(Ladder, AccentRaisesTheLevel)
{
    const std::size_t n = 9600;
    ModuleHarness plain("ladder"), accented("ladder");
    for (auto *h : {&plain, &accented}) {
        h->set("cutoff", 2000.0);
        h->set("accent", 1.0);
        h->feed("in", sine(100.0, n, 0.01));
    }
    accented.feed("accent", std::vector<float>(n, 1.0f));
    const double ratio = rms(accented.render(n)[0], 4800) / rms(plain.render(n)[0], 4800);
    EXPECT_NEAR(ratio, 2.0, 1e-3); // level x (1 + accent) with env unconnected
}

// ---------------------------------------------------------------------------------------
// VCA, mixer, pan.

TEST(Vca, MultipliesByGainAndByCvWhenConnected)
{
    const std::size_t n = 1000;
    const auto x = noise(n, 1.0, 1), cv = noise(n, 1.0, 2);
    ModuleHarness plain("vca"), withCv("vca");
    plain.set("gain", 0.3);
    withCv.set("gain", 0.3);
    plain.feed("in", x);
    withCv.feed("in", x);
    withCv.feed("cv", cv);
    const auto a = plain.render(n)[0], b = withCv.render(n)[0];
    const float g = 0.3f;
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(a[i], x[i] * g);
        ASSERT_EQ(b[i], x[i] * g * cv[i]);
    }
}

TEST(Mixer, SumsEachInputTimesItsLevelTimesMaster)
{
    const std::size_t n = 512;
    ModuleHarness h("mixer");
    const double levels[8] = {1.0, 0.5, 0.25, 2.0, 0.125, 0.0, 4.0, 0.75};
    std::vector<std::vector<float>> ins;
    for (int c = 0; c < 8; ++c) {
        // Multiples of 1/1024 with power-of-two levels: every sum is exact in float.
        std::vector<float> x(n);
        for (std::size_t i = 0; i < n; ++i)
            x[i] = static_cast<float>((int((i * (c + 3)) % 41) - 20) / 1024.0);
        h.feed("in" + std::to_string(c + 1), x);
        h.set("level" + std::to_string(c + 1), levels[c]);
        ins.push_back(std::move(x));
    }
    h.set("master", 0.5);
    const auto y = h.render(n)[0];
    for (std::size_t i = 0; i < n; ++i) {
        double expected = 0;
        for (int c = 0; c < 8; ++c)
            expected += levels[c] * ins[c][i];
        ASSERT_EQ(y[i], static_cast<float>(0.5 * expected)) << "at " << i;
    }
}

TEST(Mixer, UnnamedConnectionsGoToTheFirstInputAndUnconnectedInputsAreSilent)
{
    const auto *spec = model::findModule("mixer");
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(spec->mainInputs, 1u);
    EXPECT_EQ(spec->inputs.size(), 8u);
    EXPECT_EQ(spec->findInput("in3"), 2);
    ModuleHarness h("mixer");
    const auto x = noise(256);
    h.feed("in3", x);
    h.set("level3", 0.5);
    const auto y = h.render(256)[0];
    for (std::size_t i = 0; i < 256; ++i)
        ASSERT_EQ(y[i], 0.5f * x[i]);
}

TEST(Pan, IsConstantPowerAtEveryPositionAndMinusThreeDbAtCentre)
{
    const auto x = noise(64, 1.0, 11);
    for (double p = -1.0; p <= 1.0001; p += 0.125) {
        ModuleHarness h("pan");
        h.set("pan", p);
        h.feed("in", x);
        const auto out = h.render(64);
        for (std::size_t i = 0; i < 64; ++i) {
            const double l = out[0][i], r = out[1][i], in = x[i];
            ASSERT_NEAR(l * l + r * r, in * in, 1e-6) << "pan " << p;
        }
    }
    ModuleHarness centre("pan");
    centre.feed("in", std::vector<float>(16, 1.0f));
    const auto out = centre.render(16);
    EXPECT_NEAR(db(out[0][0]), -3.0103, 1e-4);
    EXPECT_NEAR(db(out[1][0]), -3.0103, 1e-4);
    ModuleHarness left("pan");
    left.set("pan", -1.0);
    left.feed("in", std::vector<float>(16, 1.0f));
    const auto hard = left.render(16);
    EXPECT_FLOAT_EQ(hard[0][0], 1.0f);
    EXPECT_NEAR(hard[1][0], 0.0f, 1e-7);
}

// ---------------------------------------------------------------------------------------
// Distortion.

TEST(Distortion, StaysFiniteAndBoundedOnSubBassAndDcAtMaximumDrive)
{
    for (const char *mode : {"soft", "hard", "foldback", "bitcrush"}) {
        for (const auto &x : {sine(20.0, 96000, 1.0), std::vector<float>(96000, 1.0f),
                              std::vector<float>(96000, -1.0f), std::vector<float>(96000, 1e30f), noise(96000, 1e6)}) {
            ModuleHarness h("distortion");
            h.setText("mode", mode);
            h.set("drive", 60.0);
            h.set("level", 1.0);
            h.set("mix", 1.0);
            h.feed("in", x);
            const auto y = h.render(x.size())[0];
            ASSERT_TRUE(allFinite(y)) << mode;
            // Shapes are bounded by 1; the one-pole tone filter may overshoot a little near Nyquist.
            EXPECT_LT(peak(y), 1.5) << mode;
        }
    }
}

TEST(Distortion, SoftModeIsTanhOfTheDrivenInputWhenToneIsOpen)
{
    ModuleHarness h("distortion");
    h.setText("mode", "soft");
    h.set("drive", 6.0);
    h.set("tone", 20000.0);
    h.set("mix", 1.0);
    h.set("level", 1.0);
    // Slow sine: the tone filter (-3 dB at 20 kHz) is transparent at 50 Hz within 1e-3.
    const auto x = sine(50.0, 4800, 0.8);
    h.feed("in", x);
    const auto y = h.render(4800)[0];
    const double drive = std::pow(10.0, 6.0 / 20.0);
    for (std::size_t i = 100; i < 4800; ++i)
        ASSERT_NEAR(y[i], std::tanh(drive * x[i]), 2e-3) << "at " << i;
}

TEST(Distortion, FoldbackMirrorsAtUnity)
{
    ModuleHarness h("distortion");
    h.setText("mode", "foldback");
    h.set("drive", 0.0);
    h.set("tone", 20000.0);
    h.set("level", 1.0);
    const std::vector<float> x(2000, 1.5f); // DC 1.5 folds to 0.5
    h.feed("in", x);
    EXPECT_NEAR(h.render(2000)[0].back(), 0.5f, 1e-4);
}

TEST(Distortion, BitcrushQuantisesToTheGivenNumberOfBits)
{
    ModuleHarness h("distortion");
    h.setText("mode", "bitcrush");
    h.set("drive", 0.0);
    h.set("bits", 3.0); // 4 steps per unit: values k/4
    h.set("tone", 20000.0);
    h.set("level", 1.0);
    h.feed("in", std::vector<float>(4000, 0.3f));
    EXPECT_NEAR(h.render(4000)[0].back(), 0.25f, 1e-4);
}

// ---------------------------------------------------------------------------------------
// Delay.

TEST(Delay, AnImpulseReturnsAfterExactlyTheDelayTimeAndRepeatsDecay)
{
    ModuleHarness h("delay");
    h.set("time", 10.0); // 480 samples at 48 kHz
    h.set("feedback", 0.5);
    h.set("mix", 1.0);
    h.set("tone", 20000.0);
    const std::size_t n = 4800;
    h.feed("L", impulse(n));
    h.feed("R", impulse(n, 0, 0.5f));
    const auto out = h.render(n);
    for (std::size_t i = 0; i < 480; ++i)
        ASSERT_EQ(out[0][i], 0.0f) << "at " << i;
    EXPECT_EQ(out[0][480], 1.0f);
    EXPECT_EQ(out[1][480], 0.5f);
    // Each repeat (window of one period after it) holds about feedback² of the energy
    // before it (the tone filter takes a little more).
    double previous = energy(out[0], 480, 960);
    for (int k = 2; k <= 6; ++k) {
        const double e = energy(out[0], 480 * k, 480 * (k + 1));
        EXPECT_LT(e, 0.25 * previous * 1.001) << "repeat " << k;
        EXPECT_GT(e, 0.25 * previous * 0.5) << "repeat " << k;
        previous = e;
    }
}

TEST(Delay, PingPongAlternatesTheRepeatsBetweenSides)
{
    ModuleHarness h("delay");
    h.set("time", 10.0);
    h.set("feedback", 0.5);
    h.set("mix", 1.0);
    h.set("ping_pong", 1.0);
    const std::size_t n = 2400;
    h.feed("L", impulse(n));
    h.feed("R", impulse(n));
    const auto out = h.render(n);
    EXPECT_GT(energy(out[0], 470, 950), 0.9);  // first repeat on the left
    EXPECT_EQ(energy(out[1], 0, 950), 0.0);
    EXPECT_GT(energy(out[1], 950, 1430), 0.02); // second on the right (darkened by the tone filter)
    EXPECT_LT(energy(out[0], 990, 1430), 1e-6);
}

TEST(Delay, ChangingTheTimeGlidesWithoutClicks)
{
    // A 100 Hz sine through a wet delay; moving the time from 400 to 100 ms (and back) must not
    // make any sample-to-sample step larger than the sine's own maximum step times the
    // largest read speed the slew limit allows (1.5). 10 % margin for the interpolator.
    ModuleHarness h("delay");
    h.set("time", 400.0);
    h.set("mix", 1.0);
    h.set("feedback", 0.0);
    const std::size_t n = 96000;
    const auto x = sine(100.0, n);
    h.feed("L", x);
    h.feed("R", x);
    h.render(24000);
    h.set("time", 100.0, false);
    auto y = h.render(36000)[0];
    h.set("time", 400.0, false);
    const auto back = h.render(36000)[0];
    y.insert(y.end(), back.begin(), back.end());
    const double maxStep = 2.0 * std::numbers::pi * 100.0 / kRate;
    double worst = 0;
    for (std::size_t i = 1; i < y.size(); ++i)
        worst = std::max(worst, std::fabs(double(y[i]) - y[i - 1]));
    std::printf("[ measured ] delay glide: largest step %.5f (sine's own %.5f)\n", worst, maxStep);
    EXPECT_LT(worst, maxStep * 1.5 * 1.1);
    EXPECT_GT(worst, maxStep * 1.2); // it did glide (pitch went up while the time shrank)
    ASSERT_TRUE(allFinite(y));
}

// ---------------------------------------------------------------------------------------
// Reverb.

double reverbDecayDb(double roomSize)
{
    ModuleHarness h("reverb");
    h.set("room_size", roomSize);
    h.set("damping", 0.5);
    h.set("mix", 1.0);
    const std::size_t n = static_cast<std::size_t>(3.2 * kRate);
    h.feed("L", impulse(n));
    h.feed("R", impulse(n));
    const auto out = h.render(n);
    EXPECT_TRUE(allFinite(out[0]) && allFinite(out[1]));
    const auto window = [&](double t) {
        const auto from = static_cast<std::size_t>(t * kRate);
        return energy(out[0], from, from + 4800) + energy(out[1], from, from + 4800);
    };
    const double early = window(0.1), late = window(3.0);
    return late > 0 ? 10.0 * std::log10(early / late) : 1000.0;
}

TEST(Reverb, TailOfASmallRoomDecaysByMoreThanFortyDbInThreeSeconds)
{
    const double decay = reverbDecayDb(0.2);
    std::printf("[ measured ] reverb room 0.2: energy 3 s vs 0.1 s: -%.1f dB\n", decay);
    EXPECT_GT(decay, 40.0);
}

TEST(Reverb, LargerRoomsDecayMoreSlowly)
{
    const double small = reverbDecayDb(0.2), large = reverbDecayDb(1.0);
    std::printf("[ measured ] reverb room 1.0: energy 3 s vs 0.1 s: -%.1f dB\n", large);
    EXPECT_LT(large, small);
    EXPECT_LT(large, 40.0);
}

TEST(Reverb, WidthZeroGivesIdenticalChannels)
{
    ModuleHarness h("reverb");
    h.set("width", 0.0);
    h.set("mix", 1.0);
    h.feed("L", noise(4800, 1.0, 1));
    h.feed("R", noise(4800, 1.0, 2));
    const auto out = h.render(4800);
    EXPECT_EQ(out[0], out[1]);
    EXPECT_GT(rms(out[0]), 1e-3);
}

// ---------------------------------------------------------------------------------------
// Limiter.

TEST(Limiter, NoOutputSampleExceedsTheCeilingOnHostileInput)
{
    const std::size_t n = 96000;
    std::vector<std::vector<float>> inputs;
    std::vector<float> square(n), spikes = sine(440.0, n, 0.5), steps(n);
    for (std::size_t i = 0; i < n; ++i) {
        square[i] = (i / 50) % 2 ? 1.0f : -1.0f;
        steps[i] = static_cast<float>(std::pow(10.0, ((i / 997) % 9) * 0.25)) * ((i / 13) % 2 ? 1.0f : -1.0f);
    }
    for (std::size_t i = 1000; i < n; i += 3331)
        spikes[i] = (i % 2 ? 10.0f : -10.0f); // +20 dB single-sample spikes
    inputs = {square, spikes, steps, noise(n, 10.0, 5), std::vector<float>(n, 1.0f)};
    for (double ceilingDb : {-1.0, -6.0, 0.0}) {
        const auto ceiling = static_cast<float>(std::pow(10.0, ceilingDb / 20.0));
        for (double lookahead : {0.0, 1.0, 5.0, 20.0}) {
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                ModuleHarness h("limiter");
                h.set("ceiling", ceilingDb);
                h.set("lookahead", lookahead);
                h.set("release", 30.0);
                h.feed("L", inputs[k]);
                h.feed("R", inputs[(k + 1) % inputs.size()]);
                const auto out = h.render(n, 253);
                const double worst = std::max(peak(out[0]), peak(out[1]));
                ASSERT_LE(worst, ceiling) << "ceiling " << ceilingDb << " lookahead " << lookahead << " input " << k;
                if (ceilingDb == -1.0 && lookahead == 5.0 && k == 1)
                    std::printf("[ measured ] limiter max output %.7f (ceiling %.7f)\n", worst, ceiling);
            }
        }
    }
}

TEST(Limiter, DelaysTheSignalByExactlyTheLookaheadAndPassesQuietAudioUnchanged)
{
    for (double ms : {0.0, 1.0, 5.0, 20.0}) {
        ModuleHarness h("limiter");
        h.set("lookahead", ms);
        const auto latency = static_cast<std::size_t>(std::lround(ms * 0.001 * kRate));
        const std::size_t n = 4000;
        const auto x = noise(n, 0.5, 21);
        h.feed("L", x);
        h.feed("R", x);
        const auto out = h.render(n);
        for (std::size_t i = 0; i < n; ++i)
            ASSERT_EQ(out[0][i], i < latency ? 0.0f : x[i - latency]) << "lookahead " << ms << " at " << i;
    }
}

TEST(Limiter, GainRampsOverTheLookaheadInsteadOfClipping)
{
    // A 100 Hz sine at +12 dB: after the look-ahead the output must be the input scaled by a
    // gain that moves at most 1/(D+1) per sample (the mean over the window), never a clip.
    ModuleHarness h("limiter");
    h.set("lookahead", 5.0);
    h.set("ceiling", -1.0);
    const std::size_t n = 9600, latency = 240;
    auto x = sine(100.0, n, 0.25);
    for (std::size_t i = 4800; i < n; ++i)
        x[i] *= 16.0f;
    h.feed("L", x);
    h.feed("R", x);
    const auto y = h.render(n)[0];
    // Gain measured where the input is far from zero; its change per sample elapsed must
    // stay within 1/(D+1) (plus float rounding of y/x).
    double previous = 1.0, worstRate = 0.0;
    std::size_t previousAt = latency;
    for (std::size_t i = latency; i < n; ++i) {
        const double in = x[i - latency];
        if (std::fabs(in) < 0.2)
            continue;
        const double g = y[i] / in;
        worstRate = std::max(worstRate, std::fabs(g - previous) / double(std::max<std::size_t>(i - previousAt, 1)));
        previous = g;
        previousAt = i;
    }
    std::printf("[ measured ] limiter worst gain change %.6f per sample (bound 1/241 = %.6f)\n", worstRate,
                1.0 / 241.0);
    EXPECT_LE(worstRate, 1.0 / 241.0 + 1e-5);
    EXPECT_GT(peak(y, 6000), 0.85); // it limits to the ceiling, not far below
}

// ---------------------------------------------------------------------------------------
// Every module: block-size invariance and snapshot round trip.

struct Scenario {
    std::string type;
    std::vector<std::pair<std::string, double>> params; // set and snapped
    std::vector<std::pair<std::string, double>> glides; // set without snapping: smoothing runs
};

// A busy, deterministic input for input `k`: a saw plus noise plus occasional loud spikes.
std::vector<float> busySignal(std::size_t frames, std::size_t k)
{
    auto x = noise(frames, 0.3, 100 + k);
    for (std::size_t i = 0; i < frames; ++i) {
        const double phase = std::fmod(double(i) * 110.0 * double(k + 1) / kRate, 1.0);
        x[i] += static_cast<float>(0.6 * (2.0 * phase - 1.0));
        if (i % 1777 == 0)
            x[i] = 4.0f;
    }
    return x;
}

std::vector<Scenario> scenarios()
{
    return {
        {"biquad_filter", {{"mode", 2}, {"q", 3.0}}, {{"cutoff", 3000.0}, {"q", 0.5}}},
        {"biquad_filter", {{"mode", 0}}, {{"cutoff", 200.0}}},
        {"svf", {{"mode", 1}, {"q", 8.0}}, {{"cutoff", 300.0}}},
        {"svf", {{"mode", 3}}, {{"cutoff", 5000.0}, {"q", 2.0}}},
        {"ladder", {{"resonance", 0.9}, {"drive", 12.0}, {"env_amount", 3.0}, {"accent", 0.7}}, {{"cutoff", 400.0}}},
        {"vca", {{"gain", 0.5}}, {{"gain", 2.0}}},
        {"mixer", {{"level2", 0.3}, {"level5", 2.0}}, {{"master", 0.4}, {"level1", 0.1}}},
        {"pan", {{"pan", -0.5}}, {{"pan", 0.7}}},
        {"distortion", {{"mode", 0}}, {{"drive", 30.0}, {"tone", 2000.0}, {"mix", 0.6}}},
        {"distortion", {{"mode", 2}, {"drive", 20.0}}, {{"tone", 5000.0}}},
        {"distortion", {{"mode", 3}, {"downsample", 5}, {"bits", 4.0}}, {{"drive", 3.0}}},
        {"delay", {{"time", 7.3}, {"feedback", 0.8}, {"mix", 0.5}}, {{"time", 3.1}, {"tone", 1000.0}}},
        {"delay", {{"time", 5.0}, {"ping_pong", 1}}, {{"time", 500.0}, {"feedback", 0.9}}}, // slew-limited glide
        {"reverb", {{"room_size", 0.8}, {"mix", 0.5}}, {{"damping", 0.9}, {"width", 0.3}}},
        {"limiter", {{"ceiling", -6.0}, {"release", 20.0}}, {{"ceiling", -3.0}, {"release", 200.0}}},
        {"limiter", {{"lookahead", 2.0}}, {{"lookahead", 7.0}, {"ceiling", -12.0}}},
    };
}

std::string scenarioName(const ::testing::TestParamInfo<std::size_t> &info)
{
    return scenarios()[info.param].type + "_" + std::to_string(info.param);
}

// Builds a harness for the scenario with every input fed from `offset` on.
std::unique_ptr<ModuleHarness> build(const Scenario &s, std::size_t frames, std::size_t offset, bool setParams)
{
    auto h = std::make_unique<ModuleHarness>(s.type);
    if (setParams) {
        for (const auto &[name, value] : s.params)
            h->set(name, value);
        for (const auto &[name, value] : s.glides)
            h->set(name, value, false);
    }
    for (std::size_t k = 0; k < h->spec().inputs.size(); ++k) {
        auto x = busySignal(offset + frames, k);
        if (h->spec().inputs[k].name == "env" || h->spec().inputs[k].name == "accent")
            for (auto &v : x)
                v = std::clamp(0.5f + 0.5f * v, 0.0f, 1.0f);
        h->feed(h->spec().inputs[k].name, std::vector<float>(x.begin() + offset, x.end()));
    }
    return h;
}

class EveryModule : public ::testing::TestWithParam<std::size_t> {};

TEST_P(EveryModule, OutputIsBitIdenticalWhateverTheBlockSize)
{
    const Scenario s = scenarios()[GetParam()];
    const std::size_t frames = 6000;
    std::vector<std::vector<float>> reference;
    for (std::uint32_t block : kBlockSizes) {
        auto h = build(s, frames, 0, true);
        const auto out = h->render(frames, block);
        for (const auto &channel : out)
            ASSERT_TRUE(allFinite(channel));
        if (reference.empty())
            reference = out;
        else
            ASSERT_EQ(out, reference) << "block size " << block;
    }
    // The scenario must do something, or the comparison proves nothing.
    EXPECT_GT(rms(reference[0]), 1e-4);
}

TEST_P(EveryModule, SnapshotRestoresTheExactState)
{
    const Scenario s = scenarios()[GetParam()];
    const std::size_t first = 300, second = 5000; // the snapshot lands mid-glide
    auto original = build(s, first + second, 0, true);
    original->render(first, 64);

    engine::StateSizer sizer;
    for (auto &p : original->module().params())
        p.visit(sizer);
    original->module().visitState(sizer);
    std::vector<std::byte> buffer(sizer.size());
    engine::StateWriter writer(buffer);
    for (auto &p : original->module().params())
        p.visit(writer);
    original->module().visitState(writer);
    ASSERT_FALSE(writer.overflow());
    ASSERT_EQ(writer.used(), buffer.size());

    auto restored = build(s, second, first, false);
    engine::StateReader reader(buffer);
    for (auto &p : restored->module().params())
        p.visit(reader);
    restored->module().visitState(reader);
    ASSERT_FALSE(reader.underflow());
    ASSERT_EQ(reader.used(), buffer.size());

    const auto a = original->render(second, 253);
    const auto b = restored->render(second, 7);
    ASSERT_EQ(a, b);

    // And a fresh module that is not restored differs (the state matters).
    auto fresh = build(s, second, first, true);
    if (s.type != "vca" && s.type != "mixer" && s.type != "pan") {
        EXPECT_NE(fresh->render(second, 64), a);
    }
}

INSTANTIATE_TEST_SUITE_P(Processors, EveryModule, ::testing::Range<std::size_t>(0, scenarios().size()),
                         scenarioName);

} // namespace
} // namespace chronus::test
