// Unit tests of the RBJ biquad's coefficient design (synth-worker/engine/dsp/fx_biquad.hpp):
// the batch computes exactly what design() does, lane by lane.
#include "synth-worker/engine/dsp/fx_biquad.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace chronus::test {
namespace {

using dsp::fx::BiquadMode;
using dsp::fx::RbjCoefficients;
using dsp::fx::RbjDesignBatch;
using dsp::fx::RbjTuning;
namespace rbj = dsp::fx::rbj;

constexpr double kRate = 48000.0;
constexpr BiquadMode kModes[] = {BiquadMode::Lowpass, BiquadMode::Highpass, BiquadMode::Bandpass, BiquadMode::Notch};

// Cutoffs from below the clamp (1 Hz) to above it (0.49 · rate), Q from below its clamp up.
std::vector<RbjTuning> grid()
{
    std::vector<RbjTuning> t;
    for (BiquadMode mode : kModes)
        for (double freq : {0.5, 1.0, 20.0, 99.9, 440.0, 1000.0, 2000.0, 2345.6, 8000.0, 15000.0, 23000.0, 30000.0})
            for (double q : {0.01, 0.05, 0.5, 0.7071, 1.0, 5.0, 40.0})
                t.push_back({mode, freq, q});
    return t;
}

void expectLaneIsDesign(const RbjDesignBatch &batch, std::size_t lane, const RbjTuning &t)
{
    const RbjCoefficients one = RbjCoefficients::design(t.mode, t.freqHz, t.q, kRate);
    const RbjCoefficients copy = batch.copy(lane);
    for (std::size_t f = 0; f < rbj::kFields; ++f) {
        // Bits, not values: EXPECT_EQ on doubles compares them exactly.
        EXPECT_EQ(batch.lane(lane)[f], one.values[f]) << "field " << f << " mode " << int(t.mode) << " freq "
                                                      << t.freqHz << " q " << t.q;
        EXPECT_EQ(copy.values[f], one.values[f]);
    }
}

TEST(RbjDesignBatch, EveryLaneIsBitForBitWhatDesignGivesForBatchesOfEverySize)
{
    const auto tunings = grid();
    RbjDesignBatch batch;
    for (std::size_t n = 1; n <= RbjDesignBatch::kLanes; ++n)
        for (std::size_t first = 0; first + n <= tunings.size(); first += n) {
            batch.design(tunings.data() + first, n, kRate);
            for (std::size_t l = 0; l < n; ++l)
                expectLaneIsDesign(batch, l, tunings[first + l]);
        }
}

TEST(RbjDesignBatch, LanesOfDifferentModesInOneBatchAreEachTheirOwnDesign)
{
    std::vector<RbjTuning> mixed;
    for (std::size_t l = 0; l < RbjDesignBatch::kLanes; ++l)
        mixed.push_back({kModes[(l * 3) % 4], 300.0 + 700.0 * double(l), 0.5 + double(l)});
    RbjDesignBatch batch;
    batch.design(mixed.data(), mixed.size(), kRate);
    for (std::size_t l = 0; l < mixed.size(); ++l)
        expectLaneIsDesign(batch, l, mixed[l]);
}

} // namespace
} // namespace chronus::test
