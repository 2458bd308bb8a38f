// `biquad_filter` (alias `biquad`): RBJ-cookbook two-pole low-pass, high-pass, band-pass or
// notch, run as a normalized lattice so audio-rate cutoff modulation cannot make it blow up
// (see dsp/fx_biquad.hpp).
//
// Mode, cutoff and Q are read at control points (control_clock.hpp: every kControlPeriod
// samples of the node's own sample count, so a smoothed or modulated cutoff moves in steps
// of that many samples) and the coefficients are held in between; only a point whose values
// differ from the held ones retunes. The retunes of up to eight points (a 256-sample block)
// are designed together, four lanes to an instruction (dsp::fx::RbjDesignBatch, bit for bit
// one design() each), before the filter runs through them in one call, four samples at a
// time, its state in registers from one retune's segment to the next.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/biquad_filter.hpp"

#include "synth-worker/engine/control_clock.hpp"
#include "synth-worker/engine/two_pole_tuning.hpp"
#include "synth-worker/engine/dsp/fx_biquad.hpp"

#include <array>

namespace chronus::engine {
namespace {

using namespace model::biquad_filter;

using dsp::fx::RbjCoefficients;
using dsp::fx::RbjView;

class BiquadFilter final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        filter_.reset();
        tuning_ = {};
        clock_.reset();
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        float *out = b.out[Out];
        load();
        if (TwoPoleTuning::steady(*this) && TwoPoleTuning::current(*this) == tuning_) {
            // No control point in this block would retune.
            filter_.run(coefficients_.view(), in, out, b.frames);
            clock_.advance(b.frames);
            return;
        }
        for (std::uint32_t i = 0; i < b.frames;)
            i = processUpToBatch(in, out, i, b.frames);
    }

    void visitState(StateVisitor &v) noexcept override
    {
        filter_.visit(v);
        tuning_.visit(v);
        clock_.visit(v);
    }

private:
    // Retunes computed before the filter runs through them.
    static constexpr std::size_t kBatch = dsp::fx::RbjDesignBatch::kLanes;

    static dsp::fx::RbjTuning rbj(const TwoPoleTuning &t) noexcept
    {
        return {static_cast<dsp::fx::BiquadMode>(t.mode), t.cutoff, t.q};
    }

    // Renders from sample `start` on until kBatch retunes are gathered or the block ends;
    // returns where it stopped. First pass: the control points, their values and the
    // coefficients of those that change them. Second pass: the filter through them.
    std::uint32_t processUpToBatch(const float *in, float *out, std::uint32_t start, std::uint32_t frames) noexcept
    {
        std::array<std::uint32_t, kBatch> at; // scratch: entries are written before they are read
        std::array<dsp::fx::RbjTuning, kBatch> tunings{};
        std::size_t retunes = 0;
        std::uint32_t i = start;
        // Mostly only the cutoff moves (an LFO on it): the other two are then not read, and
        // while no ramp is under way nothing needs advancing between points either.
        const bool settled = TwoPoleTuning::cutoffSettled(*this);
        const bool onlyCutoff = settled || TwoPoleTuning::onlyCutoffMoves(*this);
        while (i < frames && retunes < kBatch) {
            const std::uint32_t n = clock_.span(frames - i);
            if (clock_.atPoint()) {
                const TwoPoleTuning now = settled      ? TwoPoleTuning::settledCutoff(*this, i)
                                          : onlyCutoff ? TwoPoleTuning::nextCutoff(*this, i)
                                                       : TwoPoleTuning::next(*this, i);
                if (now != tuning_) {
                    tuning_ = now;
                    at[retunes] = i;
                    tunings[retunes++] = rbj(now);
                }
                if (!settled)
                    skip(onlyCutoff, n - 1);
            } else if (!settled) {
                skip(onlyCutoff, n);
            }
            clock_.advance(n);
            i += n;
        }
        // On the stack, not in the node: every filter's batch then shares the same hot
        // cache lines.
        dsp::fx::RbjDesignBatch batch;
        batch.design(tunings.data(), retunes, sampleRate_);
        // The held coefficients up to the first retune, then each retune up to the next.
        std::array<RbjView, kBatch + 1> views;
        std::array<std::uint32_t, kBatch + 2> bounds;
        views[0] = coefficients_.view();
        bounds[0] = start;
        for (std::size_t k = 0; k < retunes; ++k) {
            views[k + 1] = batch.lane(k);
            bounds[k + 1] = at[k];
        }
        bounds[retunes + 1] = i;
        filter_.runSegments(views.data(), bounds.data(), retunes + 1, in, out);
        if (retunes > 0) {
            batch.copy(retunes - 1, coefficients_);
            loaded_ = tuning_;
        }
        return i;
    }

    void skip(bool onlyCutoff, std::uint32_t frames) noexcept
    {
        if (onlyCutoff)
            TwoPoleTuning::skipCutoff(*this, frames);
        else
            TwoPoleTuning::skip(*this, frames);
    }

    // Makes coefficients_ those of tuning_ (a cache: the same values give the same bits, so
    // a restored module recomputes them exactly).
    void load() noexcept
    {
        if (tuning_ == loaded_ || tuning_.mode < 0)
            return;
        const dsp::fx::RbjTuning t = rbj(tuning_);
        coefficients_ = RbjCoefficients::design(t.mode, t.freqHz, t.q, sampleRate_);
        loaded_ = tuning_;
    }

    double sampleRate_ = 48000.0;
    dsp::fx::RbjBiquad filter_;
    // The values the filter runs with, taken at the last control point that changed them.
    TwoPoleTuning tuning_;
    ControlClock clock_;
    // Caches, not state: the coefficients of `loaded_` (tuning_ once load() ran).
    RbjCoefficients coefficients_;
    TwoPoleTuning loaded_;
};

} // namespace

std::unique_ptr<Module> createBiquadFilter() { return std::unique_ptr<Module>(new BiquadFilter); }

} // namespace chronus::engine
