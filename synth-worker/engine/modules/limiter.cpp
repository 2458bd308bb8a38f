// `limiter` (alias `brickwall`): stereo-linked look-ahead peak limiter with a hard
// guarantee: no output sample exceeds the ceiling.
//
// Per sample n, the gain that would keep this sample under the ceiling is
// r[n] = min(1, ceiling / peak[n]). The audio is delayed by D = lookahead samples and
// multiplied by g[n] = mean(e[n-D..n]), where e[k] = min(min(r[k-D..k]), release(e[k-1])).
// Each window [k-D, k] for k in [n-D, n] contains n-D, so every e[k] <= r[n-D] and hence
// g[n] <= r[n-D]: the delayed sample is always scaled enough. The mean makes gain
// reduction a straight ramp over the look-ahead (no clipping distortion); the running
// minimum uses a monotonic queue, so the cost per sample is O(1) amortised.
// A final clamp to ±ceiling only absorbs float rounding. Changing `lookahead` while audio
// plays changes the latency and so causes a jump; set it before playing.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace chronus::engine {
namespace {

using namespace model::limiter;

class Limiter final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        sampleRate_ = sampleRate;
        maxLookahead_ = static_cast<std::uint32_t>(std::ceil(kMaxLookaheadMs * 0.001 * sampleRate));
        // D+2 entries: the window of D+1 plus the one leaving the running sum.
        history_ = maxLookahead_ + 2;
        audio_[0].assign(history_, 0.0f);
        audio_[1].assign(history_, 0.0f);
        required_.assign(history_, 1.0f);
        envelope_.assign(history_, 1.0);
        queue_.assign(history_, 0);
    }

    void reset() noexcept override
    {
        std::fill(audio_[0].begin(), audio_[0].end(), 0.0f);
        std::fill(audio_[1].begin(), audio_[1].end(), 0.0f);
        std::fill(required_.begin(), required_.end(), 1.0f);
        std::fill(envelope_.begin(), envelope_.end(), 1.0);
        n_ = history_; // so that n - D - 1 is never negative
        lookahead_ = -1; // rebuilds the window on the next sample
        queueHead_ = queueCount_ = 0;
        sum_ = 0.0;
        lastEnvelope_ = 1.0;
        tunedCeilingDb_ = 1000.0f;
        tunedReleaseMs_ = -1.0f;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *inL = b.in[InL];
        const float *inR = b.in[InR];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const auto lookahead = static_cast<std::int64_t>(
                std::min<double>(std::round(param(Lookahead).next(i) * 0.001 * sampleRate_), maxLookahead_));
            const float ceilingDb = param(Ceiling).next(i);
            const float releaseMs = param(Release).next(i);
            if (ceilingDb != tunedCeilingDb_) {
                ceiling_ = static_cast<float>(std::pow(10.0, ceilingDb / 20.0));
                tunedCeilingDb_ = ceilingDb;
            }
            if (releaseMs != tunedReleaseMs_) {
                releaseCoef_ = 1.0 - std::exp(-1.0 / (releaseMs * 0.001 * sampleRate_));
                tunedReleaseMs_ = releaseMs;
            }

            float xL = inL ? inL[i] : 0.0f;
            float xR = inR ? inR[i] : 0.0f;
            if (!std::isfinite(xL))
                xL = 0.0f;
            if (!std::isfinite(xR))
                xR = 0.0f;
            const std::uint64_t n = n_;
            const std::size_t slot = n % history_;
            audio_[0][slot] = xL;
            audio_[1][slot] = xR;
            const float peak = std::max(std::fabs(xL), std::fabs(xR));
            required_[slot] = peak > ceiling_ ? ceiling_ / peak : 1.0f;

            if (lookahead != lookahead_)
                rebuild(n, lookahead);
            // Running minimum of required_ over [n-D, n].
            while (queueCount_ > 0 && required_[queue_[back()] % history_] >= required_[slot])
                --queueCount_;
            queue_[(queueHead_ + queueCount_++) % history_] = n;
            while (queue_[queueHead_] + static_cast<std::uint64_t>(lookahead_) < n) {
                queueHead_ = (queueHead_ + 1) % history_;
                --queueCount_;
            }
            const double windowMin = required_[queue_[queueHead_] % history_];
            const double released = lastEnvelope_ + (1.0 - lastEnvelope_) * releaseCoef_;
            const double e = std::min(windowMin, released);
            envelope_[slot] = e;
            lastEnvelope_ = e;

            // Mean of e over [n-D, n]; sum_ holds [n-D, n-1] on entry and [n-D+1, n] on exit.
            sum_ += e;
            const double gain = std::min(sum_ / static_cast<double>(lookahead_ + 1), 1.0);
            sum_ -= envelope_[(n - lookahead_) % history_];

            const std::size_t delayed = (n - lookahead_) % history_;
            const auto g = static_cast<float>(gain);
            b.out[OutL][i] = std::clamp(audio_[0][delayed] * g, -ceiling_, ceiling_);
            b.out[OutR][i] = std::clamp(audio_[1][delayed] * g, -ceiling_, ceiling_);
            ++n_;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(audio_[0]);
        v(audio_[1]);
        v(required_);
        v(envelope_);
        v(queue_);
        v(n_);
        v(lookahead_);
        v(queueHead_);
        v(queueCount_);
        v(sum_);
        v(lastEnvelope_);
    }

private:
    std::size_t back() const noexcept { return (queueHead_ + queueCount_ - 1) % history_; }

    // Starts a window of `lookahead` samples at sample n from the stored history.
    void rebuild(std::uint64_t n, std::int64_t lookahead) noexcept
    {
        lookahead_ = lookahead;
        queueHead_ = queueCount_ = 0;
        sum_ = 0.0;
        for (std::uint64_t k = n - static_cast<std::uint64_t>(lookahead); k < n; ++k) {
            const float r = required_[k % history_];
            while (queueCount_ > 0 && required_[queue_[back()] % history_] >= r)
                --queueCount_;
            queue_[(queueHead_ + queueCount_++) % history_] = k;
            sum_ += envelope_[k % history_];
        }
    }

    double sampleRate_ = 48000.0;
    std::uint32_t maxLookahead_ = 0;
    std::size_t history_ = 2;
    // State (rings indexed by sample number modulo history_).
    std::vector<float> audio_[2];
    std::vector<float> required_;   // r[k]: gain sample k alone needs
    std::vector<double> envelope_;  // e[k]
    std::vector<std::uint64_t> queue_; // sample numbers with increasing r (running minimum)
    std::uint64_t n_ = 0;
    std::int64_t lookahead_ = -1;   // D in samples
    std::size_t queueHead_ = 0;
    std::size_t queueCount_ = 0;
    double sum_ = 0.0;
    double lastEnvelope_ = 1.0;
    // Derived from parameters (not state).
    float tunedCeilingDb_ = 1000.0f;
    float ceiling_ = 1.0f;
    float tunedReleaseMs_ = -1.0f;
    double releaseCoef_ = 1.0;
};

} // namespace

std::unique_ptr<Module> createLimiter() { return std::unique_ptr<Module>(new Limiter); }

} // namespace chronus::engine
