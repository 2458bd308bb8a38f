// Unit tests of the RBJ biquad's coefficient design (synth-worker/engine/dsp/fx_biquad.hpp):
// the batch computes exactly what design() does, lane by lane; the designed lattice's
// response is the cookbook's (computed in long double with the library's sin and cos)
// within a stated error across mode, cutoff and Q; and the group matrices the filter runs
// with are the powers of the lattice step they come from.
#include "synth-worker/engine/dsp/fx_biquad.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdio>
#include <numbers>
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
    RbjCoefficients copy;
    batch.copy(lane, copy);
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

// ---------------------------------------------------------------------------------------
// Accuracy against the exact cookbook, everything in long double.

using Real = long double;
using Complex = std::complex<Real>;

// The cookbook's H(e^{jw}) for a tuning (clamped as design() clamps), from its own formulas.
Complex cookbook(const RbjTuning &t, Real w)
{
    const Real f = std::clamp<Real>(t.freqHz, 1.0L, 0.49L * kRate), q = std::max<Real>(t.q, 0.05L);
    const Real w0 = 2.0L * std::numbers::pi_v<Real> * f / kRate, s = std::sin(w0), c = std::cos(w0);
    const Real alpha = s / (2.0L * q);
    Real b0 = 0, b1 = 0, b2 = 0;
    switch (t.mode) {
    case BiquadMode::Lowpass: b0 = (1 - c) / 2, b1 = 1 - c, b2 = (1 - c) / 2; break;
    case BiquadMode::Highpass: b0 = (1 + c) / 2, b1 = -(1 + c), b2 = (1 + c) / 2; break;
    case BiquadMode::Bandpass: b0 = alpha, b1 = 0, b2 = -alpha; break;
    case BiquadMode::Notch: b0 = 1, b1 = -2 * c, b2 = 1; break;
    }
    const Complex z1 = std::polar(1.0L, -w), z2 = z1 * z1;
    return (b0 + b1 * z1 + b2 * z2) / ((1 + alpha) + (-2 * c) * z1 + (1 - alpha) * z2);
}

struct StateSpace {
    Real a[2][2], b[2], c[2], d;
};

// The lattice step of designed coefficients as a state space (the derivation in
// fx_biquad.hpp: f1 = c2 x - k2 s1, s0' = c1 f1 - k1 s0, s1' = k1 f1 + c1 s0,
// g2 = k2 x + c2 s1, y = v0 s0' + v1 s1' + v2 g2).
StateSpace latticeStep(const RbjCoefficients &r)
{
    const auto &v = r.values;
    const Real k1 = v[rbj::K1], c1 = v[rbj::C1], k2 = v[rbj::K2], c2 = v[rbj::C2];
    const Real v0 = v[rbj::V0], v1 = v[rbj::V1], v2 = v[rbj::V2];
    StateSpace m{};
    m.a[0][0] = -k1, m.a[0][1] = -c1 * k2, m.a[1][0] = c1, m.a[1][1] = -k1 * k2;
    m.b[0] = c1 * c2, m.b[1] = k1 * c2;
    m.c[0] = v0 * m.a[0][0] + v1 * m.a[1][0];
    m.c[1] = v0 * m.a[0][1] + v1 * m.a[1][1] + v2 * c2;
    m.d = v0 * c1 * c2 + v1 * k1 * c2 + v2 * k2;
    return m;
}

// H(z) = D + C (zI - A)^-1 B at z = e^{jw}.
Complex response(const StateSpace &m, Real w)
{
    const Complex z = std::polar(1.0L, w);
    const Complex p = z - m.a[0][0], q = -Complex(m.a[0][1]), r = -Complex(m.a[1][0]), s = z - m.a[1][1];
    const Complex det = p * s - q * r;
    const Complex x0 = (s * m.b[0] - q * m.b[1]) / det, x1 = (p * m.b[1] - r * m.b[0]) / det;
    return m.d + m.c[0] * x0 + m.c[1] * x1;
}

// Worst |H_designed - H_exact| / max(1, |H_exact|) over 200 log-spaced frequencies from
// 10 Hz to 23.9 kHz and the cutoff itself.
Real responseError(const RbjTuning &t)
{
    const StateSpace m = latticeStep(RbjCoefficients::design(t.mode, t.freqHz, t.q, kRate));
    Real worst = 0;
    auto at = [&](Real hz) {
        const Real w = 2.0L * std::numbers::pi_v<Real> * hz / kRate;
        const Complex exact = cookbook(t, w);
        worst = std::max(worst, std::abs(response(m, w) - exact) / std::max<Real>(1.0L, std::abs(exact)));
    };
    for (int i = 0; i < 200; ++i)
        at(10.0L * std::pow(2390.0L, Real(i) / 199));
    at(std::clamp<Real>(t.freqHz, 1.0L, 0.49L * kRate));
    return worst;
}

TEST(RbjCoefficients, ResponseIsTheCookbooksWithinOnePartInTenMillionAcrossModeCutoffAndQ)
{
    // Tolerance 1e-7 of max(1, |H|) (-140 dB): the double arithmetic of the design is
    // ~1e-15, the truncated sine and cosine series ~1e-11 of the coefficients at the top
    // cutoff; a Q-40 resonance multiplies a coefficient error by up to about 2Q² near its
    // peak. Measured worst: 5.3e-8, a Q-40 notch at the top cutoff (the design before the
    // batch measured the same there).
    Real worst = 0;
    RbjTuning where{};
    for (BiquadMode mode : kModes)
        for (int i = 0; i <= 48; ++i) {
            const double freq = 20.0 * std::pow(2.0, i * 10.2 / 48); // 20 Hz to 23.5 kHz
            for (double q : {0.05, 0.3, 0.7071, 2.0, 8.0, 40.0}) {
                const RbjTuning t{mode, freq, q};
                const Real e = responseError(t);
                if (e > worst)
                    worst = e, where = t;
            }
        }
    std::printf("[ measured ] worst response error %.3Le (mode %d, %.1f Hz, Q %.4g)\n", worst, int(where.mode),
                where.freqHz, where.q);
    EXPECT_LT(worst, 1e-7L);
}

TEST(RbjCoefficients, GroupMatricesAreThePowersOfTheLatticeStep)
{
    // Each group field against the same product in long double from the designed lattice,
    // within 1e-13 of the field's scale (the double rounding of a few products).
    for (const RbjTuning &t : grid()) {
        const RbjCoefficients r = RbjCoefficients::design(t.mode, t.freqHz, t.q, kRate);
        const StateSpace m = latticeStep(r);
        auto mul = [](const Real a[2][2], const Real b[2][2], Real out[2][2]) {
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j)
                    out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        };
        Real power[5][2][2] = {{{1, 0}, {0, 1}}};
        for (int k = 1; k <= 4; ++k)
            mul(power[k - 1], m.a, power[k]);
        auto expectField = [&](std::size_t f, Real exact) {
            const Real scale = std::max<Real>(1.0L, std::abs(exact));
            EXPECT_LT(std::abs(r.values[f] - exact), 1e-13L * scale)
                << "field " << f << " mode " << int(t.mode) << " freq " << t.freqHz << " q " << t.q;
        };
        for (int k = 0; k < 4; ++k) {
            const Real (&p)[2][2] = power[k];
            for (int i = 0; i < 2; ++i)
                expectField(rbj::Ca + 2 * k + i, m.c[0] * p[0][i] + m.c[1] * p[1][i]);
            // A^(3-k) B.
            const Real (&u)[2][2] = power[3 - k];
            for (int i = 0; i < 2; ++i)
                expectField(rbj::E + 2 * k + i, u[i][0] * m.b[0] + u[i][1] * m.b[1]);
        }
        expectField(rbj::H, m.d);
        for (int k = 1; k < 4; ++k) {
            const Real (&p)[2][2] = power[k - 1];
            const Real ca0 = m.c[0] * p[0][0] + m.c[1] * p[1][0], ca1 = m.c[0] * p[0][1] + m.c[1] * p[1][1];
            expectField(rbj::H + k, ca0 * m.b[0] + ca1 * m.b[1]);
        }
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
                expectField(rbj::A4 + 2 * i + j, power[4][i][j]);
    }
}

} // namespace
} // namespace chronus::test
