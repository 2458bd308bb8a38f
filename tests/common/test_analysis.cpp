// What an agent hears: analyze() on signals whose answers are known. EBU's own test signal
// for loudness (stereo 1 kHz at -23 dBFS is -23 LUFS), a 440 Hz tone's pitch, silence,
// clicks at 120 BPM, the octave band of a tone, stereo width and DC; levels() for meters.
#include "common/analysis.hpp"
#include "common/tap_ring.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace chronus;

namespace {

constexpr double kRate = 48000.0;

struct Stereo {
    std::vector<float> left, right;
    explicit Stereo(double seconds) : left(std::size_t(seconds * kRate)), right(left.size()) {}
    analysis::Description describe() const { return analysis::analyze(left.data(), right.data(), left.size(), kRate); }
};

Stereo tone(double hz, double amplitude, double seconds, double rightGain = 1.0)
{
    Stereo s(seconds);
    for (std::size_t i = 0; i < s.left.size(); ++i) {
        s.left[i] = float(amplitude * std::sin(2.0 * M_PI * hz * double(i) / kRate));
        s.right[i] = float(rightGain * s.left[i]);
    }
    return s;
}

} // namespace

TEST(Analysis, TheEbuStereoSineAtMinus23DbfsMeasuresMinus23Lufs)
{
    const auto d = tone(1000.0, std::pow(10.0, -23.0 / 20.0), 20.0).describe();
    EXPECT_NEAR(d.integratedLufs, -23.0, 0.1);
    EXPECT_NEAR(d.shortTermLufs, -23.0, 0.1);
    EXPECT_NEAR(d.truePeakDbtp, -23.0, 0.2);
    EXPECT_NEAR(d.samplePeakDbfs, -23.0, 0.05);
    EXPECT_NEAR(d.rmsDbfs, -26.01, 0.05);
    EXPECT_FALSE(d.silent);
    // Its energy is in the 1 kHz octave band.
    EXPECT_GT(d.octaveBandsDb[5], -0.5);
    EXPECT_LT(d.octaveBandsDb[3], -40.0);
    EXPECT_NEAR(d.centroidHz, 1000.0, 50.0);
}

TEST(Analysis, A440HzToneIsA4WithinOneHertz)
{
    const auto d = tone(440.0, 0.3, 3.0).describe();
    EXPECT_NEAR(d.fundamentalHz, 440.0, 1.0);
    EXPECT_EQ(d.note.substr(0, 2), "A4");
    EXPECT_GT(d.pitchClarity, 0.9);
    // And a low one, and a slightly flat one.
    EXPECT_NEAR(tone(55.0, 0.3, 3.0).describe().fundamentalHz, 55.0, 0.5);
    const auto flat = tone(435.0, 0.3, 3.0).describe();
    EXPECT_NEAR(flat.fundamentalHz, 435.0, 1.0);
    EXPECT_EQ(flat.note, "A4 -20");
    // A bright saw is still its fundamental, not an octave of it.
    Stereo saw(2.0);
    for (std::size_t i = 0; i < saw.left.size(); ++i)
        saw.left[i] = saw.right[i] = float(0.3 * (2.0 * std::fmod(110.0 * double(i) / kRate, 1.0) - 1.0));
    EXPECT_NEAR(saw.describe().fundamentalHz, 110.0, 0.5);
}

TEST(Analysis, SilenceIsReportedAsSilenceWithNoLoudnessOrPitch)
{
    Stereo s(2.0);
    const auto d = s.describe();
    EXPECT_TRUE(d.silent);
    EXPECT_LT(d.integratedLufs, -1e8);
    EXPECT_EQ(d.fundamentalHz, 0.0);
    const std::string json = analysis::toJson(d);
    EXPECT_NE(json.find("\"silent\":true"), std::string::npos) << json;
    EXPECT_NE(json.find("\"integrated_lufs\":null"), std::string::npos) << json;
    // A -100 dBFS hiss is silence too.
    Stereo hiss(1.0);
    for (std::size_t i = 0; i < hiss.left.size(); ++i)
        hiss.left[i] = hiss.right[i] = (i % 2 ? 1e-5f : -1e-5f);
    EXPECT_TRUE(hiss.describe().silent);
}

TEST(Analysis, ClicksAt120BpmGiveTwoOnsetsASecondAndTheirTempo)
{
    Stereo s(8.0);
    for (std::size_t beat = 0; beat * 24000 < s.left.size(); ++beat)
        for (std::size_t i = 0; i < 480 && beat * 24000 + i < s.left.size(); ++i) {
            const float x = float(0.5 * std::exp(-double(i) / 80.0) * std::sin(2.0 * M_PI * 2000.0 * double(i) / kRate));
            s.left[beat * 24000 + i] = s.right[beat * 24000 + i] = x;
        }
    const auto d = s.describe();
    EXPECT_NEAR(d.onsetsPerSecond, 2.0, 0.2);
    EXPECT_NEAR(d.tempoBpm, 120.0, 2.0);
}

TEST(Analysis, StereoWidthCorrelationAndDcAreMeasured)
{
    const auto mono = tone(300.0, 0.3, 2.0).describe();
    EXPECT_NEAR(mono.correlation, 1.0, 1e-6);
    EXPECT_NEAR(mono.width, 0.0, 1e-6);
    const auto inverted = tone(300.0, 0.3, 2.0, -1.0).describe();
    EXPECT_NEAR(inverted.correlation, -1.0, 1e-6);
    Stereo dc = tone(300.0, 0.3, 2.0);
    for (auto &x : dc.left)
        x += 0.1f;
    EXPECT_NEAR(dc.describe().dcOffset[0], 0.1, 1e-3);
    EXPECT_NEAR(dc.describe().dcOffset[1], 0.0, 1e-3);
}

TEST(Analysis, LevelsGivePeakRmsAndClipsPerChannel)
{
    Stereo s = tone(1000.0, 0.5, 1.0, 0.0);
    s.left[100] = 1.2f;
    s.left[200] = -1.0f;
    const auto l = analysis::levels(s.left.data(), s.right.data(), s.left.size());
    EXPECT_NEAR(l.peakDbfs[0], 20.0 * std::log10(1.2), 1e-4);
    EXPECT_NEAR(l.rmsDbfs[0], 20.0 * std::log10(0.5 / std::sqrt(2.0)), 0.05);
    EXPECT_EQ(l.clips[0], 2u);
    EXPECT_LT(l.peakDbfs[1], -1e8);
    EXPECT_EQ(l.clips[1], 0u);
}

TEST(TapRing, RecentFramesReadBackAndOverwrittenOnesAreRefused)
{
    TapRing ring(1000); // 1024 frames
    std::vector<float> l(300), r(300);
    for (int block = 0; block < 10; ++block) {
        for (std::size_t i = 0; i < l.size(); ++i)
            l[i] = float(block * 300 + int(i)), r[i] = -l[i];
        ring.write(l.data(), r.data(), l.size());
    }
    EXPECT_EQ(ring.written(), 3000u);
    std::vector<float> a, b;
    ASSERT_TRUE(ring.read(2000, 1000, a, b));
    EXPECT_EQ(a.front(), 2000.0f);
    EXPECT_EQ(b.back(), -2999.0f);
    EXPECT_FALSE(ring.read(1000, 100, a, b)) << "overwritten long ago";
    EXPECT_FALSE(ring.read(2900, 200, a, b)) << "not written yet";
}
