// Unit tests for the sound sources: osc, noise, lfo, adsr, sequencer, kick, snare, hat.
// Every module is driven through its real process() by ModuleHarness and compared with
// analytic expectations (tolerances stated next to each assertion).
#include "tests/synth-worker/engine/module_harness.hpp"

#include "synth-worker/engine/dsp/gen_wavetable.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <numbers>
#include <tuple>

namespace chronus::test {
namespace {

constexpr double kRate = 48000.0;
constexpr double kPi = std::numbers::pi;

double cents(double measured, double expected) { return 1200.0 * std::log2(measured / expected); }
double db(double ratio) { return 20.0 * std::log10(ratio); }

std::vector<float> render(ModuleHarness &h, std::size_t frames, std::uint32_t block = 0, std::size_t output = 0)
{
    return h.render(frames, block)[output];
}

std::vector<float> tail(const std::vector<float> &x, std::size_t from) { return {x.begin() + from, x.end()}; }

// Frequency from positive-going zero crossings, or 0 when a cycle shows more than one
// (which would be a broken waveform, not a pitch).
double pitchOf(const std::vector<float> &x, double expectedHz)
{
    const double f = zeroCrossingFrequency(x, kRate, 64);
    int crossings = 0;
    for (std::size_t i = 65; i < x.size(); ++i)
        crossings += x[i - 1] < 0.0f && x[i] >= 0.0f;
    const double expectedCrossings = expectedHz * (x.size() - 65) / kRate;
    return std::fabs(crossings - expectedCrossings) <= 2.0 ? f : 0.0;
}

// ----------------------------------------------------------------------------------------
// A reusable set-up per module: parameters, text parameters, input signals and timed
// parameter changes. Used by the block-size, snapshot and determinism tests.

constexpr std::size_t kScriptFrames = 24000;

struct Scenario {
    std::string label;
    std::string type;
    std::vector<std::pair<std::string, double>> params;
    std::vector<std::pair<std::string, std::string>> text;
    std::vector<std::pair<std::string, std::vector<float>>> inputs; // kScriptFrames long
    std::vector<std::tuple<std::size_t, std::string, double>> events; // frame, param, value (smoothed)
};

std::unique_ptr<ModuleHarness> build(const Scenario &s, std::uint64_t seed = 1, std::size_t inputOffset = 0)
{
    auto h = std::make_unique<ModuleHarness>(s.type, kRate, 256, seed);
    for (const auto &[name, value] : s.params)
        h->set(name, value);
    for (const auto &[name, text] : s.text)
        h->setTextParam(name, text);
    for (const auto &[name, signal] : s.inputs)
        h->feed(name, std::vector<float>(signal.begin() + inputOffset, signal.end()));
    return h;
}

// Renders frames [from, to) of the set-up in blocks of `block`, applying its events at
// their frames. Returns one vector per output.
std::vector<std::vector<float>> run(ModuleHarness &h, const Scenario &s, std::size_t from, std::size_t to,
                                    std::uint32_t block)
{
    std::vector<std::vector<float>> result(h.spec().outputs.size());
    auto append = [&](std::size_t frames) {
        if (frames == 0)
            return;
        auto part = h.render(frames, block);
        for (std::size_t o = 0; o < part.size(); ++o)
            result[o].insert(result[o].end(), part[o].begin(), part[o].end());
    };
    std::size_t pos = from;
    for (const auto &[frame, name, value] : s.events) {
        if (frame < from || frame >= to)
            continue;
        append(frame - pos);
        pos = frame;
        h.set(name, value, /*snap=*/false);
    }
    append(to - pos);
    return result;
}

std::vector<float> gatePulses(std::size_t frames, std::size_t first, std::size_t period, std::size_t width)
{
    std::vector<float> g(frames, 0.0f);
    for (std::size_t start = first; start < frames; start += period)
        for (std::size_t i = start; i < std::min(frames, start + width); ++i)
            g[i] = 1.0f;
    return g;
}

std::vector<float> ramp(std::size_t frames, float from, float to)
{
    std::vector<float> x(frames);
    for (std::size_t i = 0; i < frames; ++i)
        x[i] = from * std::pow(to / from, float(i) / float(frames));
    return x;
}

std::vector<Scenario> allScenarios()
{
    const auto n = kScriptFrames;
    std::vector<Scenario> s;
    const char *waves[] = {"sine", "saw", "square", "triangle", "pulse"};
    for (int wave = 0; wave < 5; ++wave)
        s.push_back({std::string("osc ") + waves[wave],
                     "osc",
                     {{"waveform", wave}, {"glide", 15}, {"width", 0.3}},
                     {},
                     {{"freq", ramp(n, 60.0f, 6000.0f)}},
                     {{5001, "amp", 0.9}, {9000, "width", 0.7}}});
    s.push_back({"osc param glide", "osc", {{"waveform", 1}, {"freq", 110}, {"glide", 40}}, {}, {},
                 {{3001, "freq", 1760}, {12345, "freq", 82.4}}});
    s.push_back({"noise", "noise", {{"color", 0}, {"amp", 0.8}}, {}, {},
                 {{7001, "color", 1}, {15003, "color", 2}, {20000, "amp", 0.2}}});
    for (int wave = 0; wave < 5; ++wave)
        s.push_back({"lfo " + std::to_string(wave), "lfo", {{"waveform", wave}, {"rate", 37}, {"depth", 3}},
                     {}, {}, {{11111, "rate", 91}, {17000, "offset", 1}}});
    // A slow sine: parabolas over spans of 128, then 32, then 8 samples.
    s.push_back({"lfo slow sine", "lfo", {{"waveform", 0}, {"rate", 0.4}, {"depth", 3}}, {}, {},
                 {{5003, "rate", 5.0}, {11111, "rate", 15.0}, {17000, "depth", 0.5}}});
    s.push_back({"adsr", "adsr", {{"attack", 3.3}, {"decay", 20}, {"sustain", 0.4}, {"release", 45.7}}, {},
                 {{"gate", gatePulses(n, 123, 3917, 2100)}, {"in", ramp(n, 0.1f, 1.0f)}},
                 {{17001, "gate", 1}, {19500, "gate", 0}, {21000, "attack", 0}}});
    s.push_back({"sequencer", "sequencer", {{"bpm", 133}, {"swing", 0.25}, {"gate_len", 0.3}, {"division", 8}},
                 {{"pattern", "X.x.xx.X"}, {"notes", "A2 C3 E3 110.5"}, {"lane1", "1 2 3"}},
                 {},
                 {{10007, "bpm", 171}, {15000, "running", 0}, {17777, "running", 1}}});
    for (const char *drum : {"kick", "snare", "hat"})
        s.push_back({drum, drum, {}, {},
                     {{"gate", gatePulses(n, 301, 6007, 40)}, {"velocity", ramp(n, 1.0f, 0.3f)}},
                     {{9000, "decay", 100}, {20001, "gate", 1}}});
    return s;
}

// ----------------------------------------------------------------------------------------
// Every module

TEST(SourceModules, OutputDoesNotDependOnBlockSize)
{
    for (const auto &setup : allScenarios()) {
        std::vector<std::vector<float>> reference;
        for (std::uint32_t block : {1u, 7u, 64u, 253u, 256u}) {
            auto h = build(setup);
            auto out = run(*h, setup, 0, kScriptFrames, block);
            if (reference.empty()) {
                reference = out;
                continue;
            }
            for (std::size_t o = 0; o < out.size(); ++o)
                for (std::size_t i = 0; i < kScriptFrames; ++i)
                    ASSERT_EQ(out[o][i], reference[o][i])
                        << setup.label << ": output " << o << " frame " << i << " differs with block " << block;
        }
        double energy = 0;
        for (const auto &o : reference)
            energy += rms(o);
        EXPECT_GT(energy, 0.0) << setup.label << " rendered nothing, so the comparison proves nothing";
    }
}

TEST(SourceModules, SnapshotRestoresExactlyTheSameFuture)
{
    constexpr std::size_t kSplit = 7777;
    for (const auto &setup : allScenarios()) {
        auto a = build(setup);
        run(*a, setup, 0, kSplit, 64);

        std::vector<std::byte> buffer(1 << 16);
        engine::StateWriter writer(buffer);
        for (auto &p : a->module().params())
            p.visit(writer);
        a->module().visitState(writer);
        ASSERT_FALSE(writer.overflow()) << setup.label;

        // A fresh module with defaults only (no text params): everything must come from the snapshot.
        Scenario bare = setup;
        bare.params.clear();
        bare.text.clear();
        auto b = build(bare, 1, kSplit);
        engine::StateReader reader(std::span<const std::byte>(buffer.data(), writer.used()));
        for (auto &p : b->module().params())
            p.visit(reader);
        b->module().visitState(reader);
        ASSERT_FALSE(reader.underflow()) << setup.label;
        ASSERT_EQ(reader.used(), writer.used()) << setup.label;

        // B's frame 0 is A's frame kSplit: shift the events.
        Scenario shifted = setup;
        for (auto &[frame, name, value] : shifted.events)
            frame = frame >= kSplit ? frame - kSplit : kScriptFrames; // past ones are already in the state
        const auto outA = run(*a, setup, kSplit, kScriptFrames, 100);
        const auto outB = run(*b, shifted, 0, kScriptFrames - kSplit, 37);
        for (std::size_t o = 0; o < outA.size(); ++o)
            for (std::size_t i = 0; i < outA[o].size(); ++i)
                ASSERT_EQ(outA[o][i], outB[o][i]) << setup.label << ": output " << o << " frame " << i;
    }
}

// ----------------------------------------------------------------------------------------
// osc

TEST(Oscillator, PitchIsWithinOneCentAt55And440And3520HzForEveryWaveform)
{
    double worst = 0;
    for (const char *wave : {"sine", "saw", "square", "triangle", "pulse"}) {
        for (double hz : {55.0, 440.0, 3520.0}) {
            ModuleHarness h("osc");
            h.setText("waveform", wave);
            h.set("freq", hz);
            h.set("width", 0.3);
            const double f = pitchOf(render(h, 48000), hz);
            const double error = std::fabs(cents(f, hz));
            worst = std::max(worst, error);
            EXPECT_LT(error, 1.0) << wave << " at " << hz << " Hz measured " << f << " Hz";
        }
    }
    std::printf("[ measure  ] osc worst pitch error %.5f cents\n", worst);
}

// All bins of a 4800-sample window at 48 kHz (10 Hz per bin). A tone on a multiple of 10 Hz
// is exactly periodic in it, and so is every alias of it, so nothing leaks: the result is
// the worst bin that is not a harmonic of `hz`, relative to the fundamental, in dB.
double worstAliasDb(const std::vector<float> &x, double hz = 5000.0)
{
    const std::size_t n = 4800;
    const auto fundamentalBin = static_cast<std::size_t>(std::lround(hz / 10.0));
    std::vector<double> c(n), s(n);
    for (std::size_t k = 0; k < n; ++k) {
        c[k] = std::cos(2.0 * kPi * k / n);
        s[k] = std::sin(2.0 * kPi * k / n);
    }
    auto magnitude = [&](std::size_t bin) {
        double re = 0, im = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = (bin * i) % n;
            re += x[i] * c[k];
            im -= x[i] * s[k];
        }
        return std::hypot(re, im);
    };
    const double fundamental = magnitude(fundamentalBin);
    double worst = 0;
    for (std::size_t bin = 1; bin < n / 2; ++bin)
        if (bin % fundamentalBin != 0)
            worst = std::max(worst, magnitude(bin));
    return db(worst / fundamental);
}

TEST(Oscillator, A5kHzWaveAt48kHzHasEveryAliasBelowMinus50dB)
{
    for (const char *wave : {"saw", "square", "triangle", "pulse"}) {
        ModuleHarness h("osc");
        h.setText("waveform", wave);
        h.set("freq", 5000.0);
        h.set("width", 0.3);
        const auto x = tail(render(h, 4800 + 960), 960);
        const double alias = worstAliasDb(x);
        std::printf("[ measure  ] 5 kHz %s: worst alias %.1f dB re fundamental\n", wave, alias);
        EXPECT_LT(alias, -50.0) << wave;
    }
}

TEST(Oscillator, EveryWaveformStaysAliasFreeFromBassToTreble)
{
    double worst = -400.0;
    for (const char *wave : {"saw", "square", "triangle", "pulse"}) {
        for (double hz : {110.0, 1230.0, 3330.0, 7770.0, 11110.0, 17000.0}) {
            ModuleHarness h("osc");
            h.setText("waveform", wave);
            h.set("freq", hz);
            h.set("width", 0.3);
            const double alias = worstAliasDb(tail(render(h, 4800 + 960), 960), hz);
            worst = std::max(worst, alias);
            EXPECT_LT(alias, -50.0) << wave << " at " << hz << " Hz";
        }
    }
    std::printf("[ measure  ] worst alias over 110 Hz .. 17 kHz, all shapes: %.1f dB\n", worst);
}

TEST(Oscillator, TheAliasMeasurementCatchesANaiveSaw)
{
    // Guards the test above: the same measurement on a trivial saw must fail the limit.
    std::vector<float> naive(4800);
    for (std::size_t i = 0; i < naive.size(); ++i) {
        const double phase = std::fmod(i * 5000.0 / kRate, 1.0);
        naive[i] = static_cast<float>(2.0 * phase - 1.0);
    }
    EXPECT_GT(worstAliasDb(naive), -40.0);
}

TEST(Oscillator, SawHarmonicsFallAsOneOverN)
{
    ModuleHarness h("osc");
    h.setText("waveform", "saw");
    h.set("freq", 500.0);
    h.set("amp", 1.0);
    const auto x = tail(render(h, 4800 + 480), 480);
    const double first = toneMagnitude(x, 500.0, kRate);
    EXPECT_NEAR(first, 2.0 / kPi, 0.01); // Fourier coefficient of a -1..1 saw
    for (int n : {2, 3, 5, 10, 20})
        EXPECT_NEAR(db(toneMagnitude(x, 500.0 * n, kRate) / first), db(1.0 / n), 0.2) << "harmonic " << n;
}

TEST(Oscillator, FreqInputReplacesTheParameterAndAmpInputMultiplies)
{
    ModuleHarness h("osc");
    h.set("freq", 1000.0);
    h.set("amp", 0.5);
    h.feed("freq", std::vector<float>(48000, 220.0f));
    h.feed("amp", std::vector<float>(48000, 0.5f));
    const auto x = render(h, 48000);
    EXPECT_LT(std::fabs(cents(pitchOf(x, 220.0), 220.0)), 1.0);
    EXPECT_NEAR(rms(x), 0.25 / std::sqrt(2.0), 1e-3); // sine of peak 0.5 * 0.5
}

TEST(Oscillator, GlideSlidesInPitchAndArrivesWithinTheGlideTime)
{
    ModuleHarness h("osc");
    h.set("freq", 220.0);
    h.set("glide", 100.0);
    render(h, 4800);
    h.set("freq", 880.0);
    const auto x = render(h, 19200);
    // Local frequency from one crossing interval around a time.
    auto localHz = [&](std::size_t at) {
        std::vector<double> t;
        for (std::size_t i = at; i < x.size() && t.size() < 2; ++i)
            if (x[i - 1] < 0.0f && x[i] >= 0.0f)
                t.push_back((i - 1) + x[i - 1] / (x[i - 1] - x[i]));
        return kRate / (t[1] - t[0]);
    };
    const double early = localHz(1200); // 25 ms into a 100 ms glide
    EXPECT_GT(early, 300.0);
    EXPECT_LT(early, 750.0);
    // ~99 % of the two octaves after the glide time: within 30 cents.
    EXPECT_LT(std::fabs(cents(localHz(4800), 880.0)), 30.0);
    EXPECT_LT(std::fabs(cents(localHz(9600), 880.0)), 1.0);
}

// ----------------------------------------------------------------------------------------
// sines: `sine`, `osc` with waveform sine and `lfo` with waveform sine all read the
// interpolated sine table (dsp/gen_wavetable.hpp) at a 64-bit fixed-point phase.

TEST(GenWavetables, SineTableIsWithinItsStatedErrorEverywhere)
{
    const float *table = engine::dsp::GenWavetables::instance().sine();
    double worst = 0;
    // 2^22 phases spread over the cycle, each a different table point and fraction.
    for (std::uint64_t k = 0; k < (1u << 22); ++k) {
        const engine::dsp::Phase phase = k * 0x9E3779B97F4A7C15ull;
        const double exact = std::sin(2.0 * kPi * engine::dsp::phaseCycles(phase));
        worst = std::max(worst, std::fabs(engine::dsp::GenWavetables::read(table, phase) - exact));
    }
    std::printf("[ measure  ] sine table: largest error %.3g (%.1f dB re full scale)\n", worst, db(worst));
    // Linear interpolation over 4096 points falls short by up to (pi / 4096)^2 / 2 = 2.94e-7;
    // the points are raised by half of that, so +-1.47e-7, plus float rounding.
    EXPECT_LT(worst, 2.5e-7);
}

// The rendered sine, its level and everything in it that is not the sine. `make` builds a
// harness playing a 1 kHz sine of peak `peak`; one second is exactly 1000 cycles.
struct SineQuality {
    double cents, rmsError, thdDb, residualDb;
};
template <typename Make>
SineQuality measureSine(Make make, double peak)
{
    const double hz = 1000.0;
    auto h = make();
    const auto x = render(*h, 48000, 253);
    // Least-squares fit of a sin + b cos at exactly 1 kHz: what is left is distortion and noise.
    double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double w = 2.0 * kPi * hz * double(i) / kRate;
        const double sn = std::sin(w), cs = std::cos(w);
        ss += sn * sn, sc += sn * cs, cc += cs * cs, xs += x[i] * sn, xc += x[i] * cs;
    }
    const double det = ss * cc - sc * sc;
    const double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
    double residual = 0, harmonics = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double w = 2.0 * kPi * hz * double(i) / kRate;
        const double e = x[i] - (a * std::sin(w) + b * std::cos(w));
        residual += e * e;
    }
    for (int n = 2; n <= 20; ++n) {
        const double m = toneMagnitude(x, hz * n, kRate);
        harmonics += m * m;
    }
    const double amplitude = std::hypot(a, b);
    return {cents(pitchOf(x, hz), hz), rms(x) / (peak / std::sqrt(2.0)) - 1.0,
            db(std::sqrt(harmonics) / amplitude), db(std::sqrt(residual / double(x.size())) / (amplitude / std::sqrt(2.0)))};
}

TEST(Sines, EverySineIsInTuneAtItsLevelAndCleanerThanMinus120dB)
{
    auto sineModule = [] {
        auto h = std::make_unique<ModuleHarness>("sine");
        h->set("freq", 1000.0);
        h->set("gain", 1.0);
        return h;
    };
    auto oscSine = [] {
        auto h = std::make_unique<ModuleHarness>("osc");
        h->setText("waveform", "sine");
        h->set("freq", 1000.0);
        h->set("amp", 1.0);
        return h;
    };
    for (const auto &[label, quality] : {std::pair{"sine", measureSine(sineModule, 1.0)},
                                         std::pair{"osc sine", measureSine(oscSine, 1.0)}}) {
        std::printf("[ measure  ] %s 1 kHz: pitch %+.5f cents, level %+.2e, harmonics %.1f dB, "
                    "all but the sine %.1f dB\n",
                    label, quality.cents, quality.rmsError, quality.thdDb, quality.residualDb);
        // Measured: 0.00000 cents, level within 2.2e-8, harmonics and residual -138 dB.
        EXPECT_LT(std::fabs(quality.cents), 0.001) << label;
        EXPECT_LT(std::fabs(quality.rmsError), 1e-6) << label;
        EXPECT_LT(quality.thdDb, -120.0) << label;
        EXPECT_LT(quality.residualDb, -120.0) << label;
    }
}

TEST(Sines, TheSineModuleIsInTuneFromBassToTreble)
{
    double worst = 0;
    for (double hz : {55.0, 440.0, 3520.0, 15000.0}) {
        ModuleHarness h("sine");
        h.set("freq", hz);
        const double error = std::fabs(cents(pitchOf(render(h, 48000), hz), hz));
        worst = std::max(worst, error);
        EXPECT_LT(error, 0.01) << hz << " Hz";
    }
    std::printf("[ measure  ] sine worst pitch error %.6f cents\n", worst);
}

// ----------------------------------------------------------------------------------------
// noise

void fft(std::vector<std::complex<double>> &a)
{
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j)
            std::swap(a[i], a[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const auto w = std::polar(1.0, -2.0 * kPi / len);
        for (std::size_t i = 0; i < n; i += len) {
            std::complex<double> wk = 1.0;
            for (std::size_t k = 0; k < len / 2; ++k) {
                const auto u = a[i + k], v = a[i + k + len / 2] * wk;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
                wk *= w;
            }
        }
    }
}

// Mean power spectral density per octave band (Welch, Hann, 4096 points, 50 % overlap), dB.
std::vector<double> octaveBandsDb(const std::vector<float> &x, const std::vector<double> &edgesHz)
{
    const std::size_t n = 4096;
    std::vector<double> psd(n / 2, 0.0);
    std::vector<std::complex<double>> buf(n);
    for (std::size_t start = 0; start + n <= x.size(); start += n / 2) {
        for (std::size_t i = 0; i < n; ++i)
            buf[i] = x[start + i] * (0.5 - 0.5 * std::cos(2.0 * kPi * i / n));
        fft(buf);
        for (std::size_t k = 0; k < n / 2; ++k)
            psd[k] += std::norm(buf[k]);
    }
    std::vector<double> bands;
    for (std::size_t b = 0; b + 1 < edgesHz.size(); ++b) {
        double sum = 0;
        int count = 0;
        for (std::size_t k = 0; k < n / 2; ++k) {
            const double f = k * kRate / n;
            if (f >= edgesHz[b] && f < edgesHz[b + 1])
                sum += psd[k], ++count;
        }
        bands.push_back(10.0 * std::log10(sum / count));
    }
    return bands;
}

TEST(Noise, WhiteIsFlatPinkFallsThreeAndBrownSixDecibelsPerOctave)
{
    const std::vector<double> edges = {187.5, 375, 750, 1500, 3000, 6000, 12000};
    const std::vector<std::pair<const char *, double>> colours = {{"white", 0.0}, {"pink", -3.01}, {"brown", -6.02}};
    for (const auto &[colour, slope] : colours) {
        ModuleHarness h("noise");
        h.setText("color", colour);
        const auto bands = octaveBandsDb(render(h, 1 << 19), edges);
        std::printf("[ measure  ] %s slopes (dB/oct):", colour);
        for (std::size_t b = 1; b < bands.size(); ++b) {
            const double measured = bands[b] - bands[b - 1];
            std::printf(" %.2f", measured);
            EXPECT_NEAR(measured, slope, 1.5) << colour << " between octave " << b - 1 << " and " << b;
        }
        std::printf("\n");
    }
}

TEST(Noise, EveryColourHasAnRmsNearPointThreeAtAmpOne)
{
    for (const char *colour : {"white", "pink", "brown"}) {
        ModuleHarness h("noise");
        h.setText("color", colour);
        h.set("amp", 1.0);
        const auto x = render(h, 1 << 19);
        EXPECT_NEAR(rms(x, 48000), 0.3, 0.06) << colour; // ±20 %
        double mean = 0;
        for (std::size_t i = 48000; i < x.size(); ++i)
            mean += x[i];
        EXPECT_LT(std::fabs(mean / (x.size() - 48000)), 0.05) << colour << " drifts (DC)";
    }
}

TEST(SourceModules, SameSeedGivesTheSameRandomnessAndAnotherSeedDiffers)
{
    auto renderWith = [](const char *type, std::uint64_t seed, std::vector<std::pair<std::string, double>> params) {
        ModuleHarness h(type, kRate, 256, seed);
        for (auto &[n, v] : params)
            h.set(n, v);
        if (h.spec().findInput("gate") >= 0)
            h.feed("gate", gatePulses(24000, 10, 4000, 100));
        return render(h, 24000);
    };
    const std::vector<std::pair<const char *, std::vector<std::pair<std::string, double>>>> cases = {
        {"noise", {{"color", 0}}}, {"noise", {{"color", 1}}}, {"noise", {{"color", 2}}},
        {"lfo", {{"waveform", 4}, {"rate", 50}}}, {"kick", {{"click", 1}}}, {"snare", {}}, {"hat", {}}};
    for (const auto &[type, params] : cases) {
        EXPECT_EQ(renderWith(type, 7, params), renderWith(type, 7, params)) << type;
        EXPECT_NE(renderWith(type, 7, params), renderWith(type, 8, params)) << type;
    }
}

// ----------------------------------------------------------------------------------------
// lfo

TEST(Lfo, OutputIsOffsetPlusDepthTimesTheWave)
{
    // 100 Hz at 48 kHz: 480 samples per cycle, phase n / 480.
    auto expected = [](int wave, double phase) {
        switch (wave) {
        case 0: return std::sin(2.0 * kPi * phase);
        case 1: return phase < 0.25 ? 4 * phase : phase < 0.75 ? 2 - 4 * phase : 4 * phase - 4;
        case 2: return phase < 0.5 ? 1.0 : -1.0;
        default: return 2.0 * phase - 1.0;
        }
    };
    for (int wave = 0; wave < 4; ++wave) {
        ModuleHarness h("lfo");
        h.set("waveform", wave);
        h.set("rate", 100.0);
        h.set("depth", 2.0);
        h.set("offset", 0.5);
        const auto x = render(h, 4800);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double phase = std::fmod(i / 480.0, 1.0);
            if (i % 240 == 0) // on a discontinuity: either side is right
                continue;
            ASSERT_NEAR(x[i], 0.5 + 2.0 * expected(wave, phase), 1e-4) << "wave " << wave << " sample " << i;
        }
    }
}

TEST(Lfo, ItsSineIsAsCleanAsTheOscillators)
{
    // 100 Hz (its top rate): 480 samples a cycle; one second is 100 cycles.
    ModuleHarness h("lfo");
    h.setText("waveform", "sine");
    h.set("rate", 100.0);
    h.set("depth", 1.0);
    const auto x = render(h, 48000, 253);
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        worst = std::max(worst, std::fabs(x[i] - std::sin(2.0 * kPi * 100.0 * double(i) / kRate)));
    std::printf("[ measure  ] lfo sine: largest error %.3g\n", worst);
    EXPECT_LT(worst, 2.5e-7); // the table's bound (measured 1.6e-7)
}

TEST(Lfo, ASlowSineIsWithinItsStatedError)
{
    // Below 22 Hz the sine is drawn as parabolas through the table, over spans of 128 down
    // to 8 samples (lfo.cpp): within 3e-7 of depth · sin, the table's own class (its 2.5e-7
    // at the three points, the parabola's 1e-7 and float rounding do not add up at once;
    // measured 2.3e-7). The rates straddle the spans' limits.
    for (double rate : {0.01, 0.25, 0.6, 1.0, 1.13, 1.2, 2.0, 2.5, 4.0, 9.0, 10.0, 20.0, 21.0, 23.0}) {
        ModuleHarness h("lfo");
        h.setText("waveform", "sine");
        h.set("rate", rate);
        h.set("depth", 1.0);
        const auto x = render(h, 96000, 253);
        const double hz = double(static_cast<float>(rate));
        double worst = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            worst = std::max(worst, std::fabs(x[i] - std::sin(2.0 * kPi * std::fmod(hz * double(i) / kRate, 1.0))));
        std::printf("[ measure  ] lfo sine at %.2f Hz: largest error %.3g\n", rate, worst);
        EXPECT_LT(worst, 3e-7) << rate << " Hz";
    }
}

TEST(Lfo, SampleAndHoldHoldsOneRandomValuePerCycle)
{
    ModuleHarness h("lfo");
    h.setText("waveform", "sample_and_hold");
    h.set("rate", 100.0);
    h.set("depth", 2.0);
    h.set("offset", 1.0);
    const auto x = render(h, 48000);
    std::vector<float> values;
    for (std::size_t c = 0; c < 100; ++c) {
        // Boundaries may land a sample either way of c * 480 (accumulated phase).
        const float v = x[c * 480 + 2];
        for (std::size_t i = c * 480 + 2; i < (c + 1) * 480 - 1; ++i)
            ASSERT_EQ(x[i], v) << "cycle " << c;
        EXPECT_GE(v, -1.0f);
        EXPECT_LE(v, 3.0f);
        values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    EXPECT_GT(std::unique(values.begin(), values.end()) - values.begin(), 95);
}

// ----------------------------------------------------------------------------------------
// adsr

double shape(double t) { return (1.0 - std::exp(-5.0 * t)) / (1.0 - std::exp(-5.0)); }

TEST(Adsr, SegmentsStartAtTheGateEdgeAndEndExactlyOnTheirSample)
{
    // 48 kHz: attack 10 ms = 480, decay 20 ms = 960, release 30 ms = 1440 samples.
    constexpr std::size_t on = 100, off = 5000;
    ModuleHarness h("adsr");
    h.set("attack", 10);
    h.set("decay", 20);
    h.set("sustain", 0.25);
    h.set("release", 30);
    std::vector<float> gate(8000, 0.0f);
    std::fill(gate.begin() + on, gate.begin() + off, 1.0f);
    h.feed("gate", gate);
    const auto x = render(h, 8000, 7);

    for (std::size_t i = 0; i < on; ++i)
        ASSERT_EQ(x[i], 0.0f);
    // Attack: k / 480 from the edge sample, exactly 1.0 at k = 480.
    for (std::size_t k = 0; k < 480; ++k)
        ASSERT_NEAR(x[on + k], k / 480.0, 1e-6) << "attack sample " << k;
    EXPECT_LT(x[on + 479], 1.0f);
    EXPECT_EQ(x[on + 480], 1.0f);
    // Decay: 1 + (s - 1) shape(k / 960), exactly the sustain level at k = 960.
    const std::size_t d = on + 480;
    for (std::size_t k = 0; k < 960; ++k)
        ASSERT_NEAR(x[d + k], 1.0 - 0.75 * shape(k / 960.0), 1e-6) << "decay sample " << k;
    EXPECT_GT(x[d + 959], 0.25f);
    EXPECT_EQ(x[d + 960], 0.25f);
    for (std::size_t i = d + 960; i < off; ++i)
        ASSERT_EQ(x[i], 0.25f);
    // Release: 0.25 (1 - shape(k / 1440)) from the gate-off sample, exactly 0 at k = 1440.
    for (std::size_t k = 0; k < 1440; ++k)
        ASSERT_NEAR(x[off + k], 0.25 * (1.0 - shape(k / 1440.0)), 1e-6) << "release sample " << k;
    EXPECT_GT(x[off + 1439], 0.0f);
    for (std::size_t i = off + 1440; i < x.size(); ++i)
        ASSERT_EQ(x[i], 0.0f);
}

TEST(Adsr, AFractionalSegmentLengthEndsOnTheNextWholeSample)
{
    ModuleHarness h("adsr", 44100.0);
    h.set("attack", 1); // 44.1 samples: 1.0 first at k = 45
    h.set("gate", 1);
    const auto x = render(h, 100, 1);
    EXPECT_LT(x[44], 1.0f);
    EXPECT_NEAR(x[44], 44 / 44.1, 1e-6);
    EXPECT_EQ(x[45], 1.0f);
}

TEST(Adsr, GateParameterEdgeActsOnItsSampleAndZeroAttackJumps)
{
    ModuleHarness h("adsr");
    h.set("attack", 0);
    h.set("decay", 10);
    render(h, 1000);
    h.set("gate", 1);
    const auto x = render(h, 10);
    EXPECT_EQ(x[0], 1.0f);
    EXPECT_LT(x[1], 1.0f);
}

TEST(Adsr, RetriggerRisesFromTheCurrentLevelWithoutAJump)
{
    ModuleHarness h("adsr");
    h.set("attack", 10); // slope 1/480 per sample
    h.set("decay", 10);
    h.set("sustain", 0.8);
    h.set("release", 100);
    std::vector<float> gate(6000, 0.0f);
    std::fill(gate.begin(), gate.begin() + 2000, 1.0f);
    std::fill(gate.begin() + 3000, gate.end(), 1.0f); // gate on again during the release
    h.feed("gate", gate);
    const auto x = render(h, 6000, 64);
    const float level = x[2999];
    EXPECT_GT(level, 0.05f);
    EXPECT_LT(level, 0.8f);
    EXPECT_EQ(x[3000], level); // the attack starts where the release was
    for (std::size_t k = 1; k < 20; ++k)
        ASSERT_NEAR(x[3000 + k], level + k / 480.0, 1e-5);
    for (std::size_t i = 1; i < x.size(); ++i)
        ASSERT_LT(std::fabs(x[i] - x[i - 1]), 1.0f / 400.0f) << "jump at " << i;
}

TEST(Adsr, ConnectedInputIsMultipliedByTheEnvelopeAndVelocity)
{
    ModuleHarness h("adsr");
    h.set("attack", 0);
    h.set("decay", 0);
    h.set("sustain", 0.5);
    h.set("velocity_amount", 1);
    h.feed("in", std::vector<float>(1000, -0.8f));
    h.feed("gate", std::vector<float>(1000, 1.0f));
    h.feed("velocity", std::vector<float>(1000, 0.5f));
    const auto x = render(h, 1000);
    EXPECT_FLOAT_EQ(x[999], -0.8f * 0.5f * 0.5f);
}

// ----------------------------------------------------------------------------------------
// sequencer

std::vector<std::size_t> risingEdges(const std::vector<float> &g)
{
    std::vector<std::size_t> r;
    for (std::size_t i = 0; i < g.size(); ++i)
        if (g[i] > 0.5f && (i == 0 || g[i - 1] <= 0.5f))
            r.push_back(i);
    return r;
}

std::vector<std::size_t> fallingEdges(const std::vector<float> &g)
{
    std::vector<std::size_t> r;
    for (std::size_t i = 1; i < g.size(); ++i)
        if (g[i] <= 0.5f && g[i - 1] > 0.5f)
            r.push_back(i);
    return r;
}

// ceil(a / b) for positive integers.
std::size_t ceilDiv(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

TEST(Sequencer, StepKStartsExactlyAtCeilKTimesTheStepLengthAndNeverDrifts)
{
    // bpm 133, 4 steps per beat: L = 60 * 48000 / 532 = 5413.53... samples.
    ModuleHarness h("sequencer");
    h.set("bpm", 133);
    h.setTextParam("pattern", "x");
    const std::size_t steps = 200;
    const auto g = render(h, steps * 5414, 253);
    const auto rises = risingEdges(g);
    const auto falls = fallingEdges(g);
    ASSERT_GE(rises.size(), steps - 1);
    for (std::size_t k = 0; k + 1 < steps; ++k) {
        ASSERT_EQ(rises[k], ceilDiv(k * 2880000ull, 532)) << "step " << k;
        // gate_len 0.5: the gate falls at ceil((k + 0.5) L).
        ASSERT_EQ(falls[k], ceilDiv(k * 2880000ull + 1440000ull, 532)) << "step " << k;
    }
}

TEST(Sequencer, SwingDelaysEveryOddStepByItsFractionOfAStep)
{
    // 120 bpm: L = 6000. Swing 0.5: odd steps start 3000 late; gates are half of each step's
    // own length: 4500 for even steps (9000 long) and 1500 for odd ones (3000 long).
    ModuleHarness h("sequencer");
    h.set("swing", 0.5);
    h.setTextParam("pattern", "x");
    const auto g = render(h, 16 * 6000, 64);
    const auto rises = risingEdges(g), falls = fallingEdges(g);
    ASSERT_EQ(rises.size(), 16u);
    for (std::size_t k = 0; k < 16; ++k) {
        const std::size_t start = k * 6000 + (k % 2 ? 3000 : 0);
        EXPECT_EQ(rises[k], start) << "step " << k;
        EXPECT_EQ(falls[k], start + (k % 2 ? 1500 : 4500)) << "step " << k;
    }
}

TEST(Sequencer, DefaultPlaysFourOnTheFloorOnA2)
{
    ModuleHarness h("sequencer");
    const auto out = h.render(16 * 6000);
    const auto rises = risingEdges(out[0]);
    ASSERT_EQ(rises.size(), 4u);
    for (std::size_t k = 0; k < 4; ++k)
        EXPECT_EQ(rises[k], k * 24000);
    EXPECT_FLOAT_EQ(out[1][100], 110.0f);
    EXPECT_FLOAT_EQ(out[2][100], 0.7f);
}

TEST(Sequencer, PitchVelocityAndLanesFollowTheStepsAndHoldOverRests)
{
    ModuleHarness h("sequencer");
    h.set("steps", 4);
    h.setTextParam("pattern", "X.x x");
    h.setTextParam("notes", "A4 C4 62");
    h.setTextParam("lane1", "10 20");
    const auto out = h.render(8 * 6000, 7);
    auto at = [&](std::size_t output, std::size_t step) { return out[output][step * 6000 + 10]; };
    // Step positions 0..3 take notes A4 C4 D4 A4 (cycling); C4 falls on the rest, so A4 holds.
    const float d4 = 293.664768f;
    const float expectedPitch[8] = {440.0f, 440.0f, d4, 440.0f, 440.0f, 440.0f, d4, 440.0f};
    const float expectedVelocity[8] = {1.0f, 1.0f, 0.7f, 0.7f, 1.0f, 1.0f, 0.7f, 0.7f};
    const float expectedGate[8] = {1, 0, 1, 1, 1, 0, 1, 1};
    for (std::size_t s = 0; s < 8; ++s) {
        EXPECT_NEAR(at(1, s), expectedPitch[s], 1e-3) << "pitch at step " << s;
        EXPECT_EQ(at(2, s), expectedVelocity[s]) << "velocity at step " << s;
        EXPECT_EQ(at(0, s), expectedGate[s]) << "gate at step " << s;
        EXPECT_EQ(at(3, s), (s % 4) % 2 == 0 ? 10.0f : 20.0f) << "lane1 at step " << s;
        EXPECT_EQ(at(4, s), 0.0f) << "unset lane2";
    }
}

TEST(Sequencer, ResetRestartsAtStepZeroAndKeepsThePattern)
{
    ModuleHarness h("sequencer");
    h.setTextParam("pattern", "x.xx..x.");
    h.setTextParam("notes", "C3 D3");
    const auto first = h.render(50000);
    h.module().reset();
    const auto again = h.render(50000);
    EXPECT_EQ(first, again);
}

TEST(Sequencer, StoppingHoldsThePositionWithTheGateLow)
{
    ModuleHarness h("sequencer");
    h.setTextParam("pattern", "x");
    render(h, 4000); // into step 0, gate falls at 3000
    h.set("running", 0);
    const auto stopped = render(h, 10000);
    EXPECT_EQ(*std::max_element(stopped.begin(), stopped.end()), 0.0f);
    h.set("running", 1);
    const auto resumed = render(h, 4000);
    // 2000 more samples finish step 0; step 1 starts there.
    EXPECT_EQ(risingEdges(resumed), std::vector<std::size_t>{2000});
}

// ----------------------------------------------------------------------------------------
// drums

TEST(Drums, EachVoiceIsSilentWithoutATriggerAndDecaysAfterOne)
{
    for (const char *type : {"kick", "snare", "hat"}) {
        ModuleHarness quiet(type);
        const auto silence = render(quiet, 48000, 64);
        EXPECT_EQ(*std::max_element(silence.begin(), silence.end()), 0.0f) << type;
        EXPECT_EQ(*std::min_element(silence.begin(), silence.end()), 0.0f) << type;

        ModuleHarness h(type);
        h.set("decay", 100);
        h.feed("gate", gatePulses(96000, 1000, 96000, 10));
        const auto x = render(h, 96000, 253);
        for (std::size_t i = 0; i < 1000; ++i)
            ASSERT_EQ(x[i], 0.0f) << type << " before the trigger";
        double onset = 0; // sound starts at once
        for (std::size_t i = 1000; i < 1010; ++i)
            onset = std::max(onset, double(std::fabs(x[i])));
        EXPECT_GT(onset, 0.0) << type;
        // 10 ms windows after the hit: loud first, falling overall, ~ -60 dB after the decay.
        double previous = rms(x, 1000, 1480);
        EXPECT_GT(previous, 0.02) << type;
        for (std::size_t w = 1; w < 10; ++w) {
            const double now = rms(x, 1000 + w * 480, 1000 + (w + 1) * 480);
            EXPECT_LT(now, previous * 1.2) << type << " window " << w;
            previous = now;
        }
        EXPECT_LT(rms(x, 1000 + 4800, 1000 + 5280), 0.005 * rms(x, 1000, 1480)) << type << " after the decay";
        for (std::size_t i = 30000; i < x.size(); ++i)
            ASSERT_EQ(x[i], 0.0f) << type << " does not return to silence";
    }
}

TEST(Drums, GateParameterFiresOnItsRisingEdgeOnlyAndVelocityScales)
{
    for (const char *type : {"kick", "snare", "hat"}) {
        ModuleHarness a(type);
        render(a, 100);
        a.set("gate", 1);
        const auto hit = render(a, 4800);
        EXPECT_GT(rms(hit), 0.01) << type;
        const auto held = render(a, 48000); // gate stays on: no new hit
        EXPECT_EQ(held.back(), 0.0f) << type;

        ModuleHarness full(type), half(type);
        full.feed("gate", gatePulses(4800, 0, 4800, 100));
        half.feed("gate", gatePulses(4800, 0, 4800, 100));
        half.feed("velocity", std::vector<float>(4800, 0.5f));
        const auto x = render(full, 4800), y = render(half, 4800);
        for (std::size_t i = 0; i < x.size(); ++i)
            ASSERT_EQ(y[i], 0.5f * x[i]) << type << " sample " << i;
    }
}

TEST(Drums, KickSweepsDownToItsTuning)
{
    ModuleHarness h("kick");
    h.set("tune", 60);
    h.set("sweep", 3);
    h.set("click", 0);
    h.set("decay", 2000);
    h.feed("gate", gatePulses(48000, 0, 48000, 10));
    const auto x = render(h, 48000);
    // Early (first cycle) much higher than the end pitch; after 10 sweep time constants, 60 Hz.
    std::vector<float> late(x.begin() + 12000, x.begin() + 36000);
    EXPECT_LT(std::fabs(cents(zeroCrossingFrequency(late, kRate), 60.0)), 5.0);
    std::size_t firstDown = 1;
    while (!(x[firstDown - 1] > 0.0f && x[firstDown] <= 0.0f))
        ++firstDown;
    EXPECT_LT(firstDown, 0.5 * kRate / 60.0 * 0.5); // half a cycle in less than half the time at 60 Hz
}

} // namespace
} // namespace chronus::test
