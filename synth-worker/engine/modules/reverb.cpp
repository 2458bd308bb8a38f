// `reverb` (alias `freeverb`): Jezar's Freeverb topology. Per channel eight parallel
// lowpass-feedback comb filters then four series allpasses; the right channel's delays
// are 23 samples (at 44.1 kHz) longer for stereo spread. Delay lengths are scaled to the
// sample rate in prepare().
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/reverb.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace chronus::engine {
namespace {

using namespace model::reverb;

constexpr std::array<int, 8> kCombTuning = {1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617};
constexpr std::array<int, 4> kAllpassTuning = {556, 441, 341, 225};
constexpr int kStereoSpread = 23;
constexpr float kInputGain = 0.015f;
constexpr float kWetScale = 3.0f;
constexpr float kAllpassFeedback = 0.5f;

// Comb with a one-pole low-pass in its feedback (the "damping").
struct Comb {
    std::vector<float> buffer;
    std::uint32_t pos = 0;
    float store = 0.0f;

    float process(float x, float feedback, float damp) noexcept
    {
        const float y = buffer[pos];
        store = y * (1.0f - damp) + store * damp;
        buffer[pos] = x + store * feedback;
        if (++pos == buffer.size())
            pos = 0;
        return y;
    }
};

struct Allpass {
    std::vector<float> buffer;
    std::uint32_t pos = 0;

    float process(float x) noexcept
    {
        const float b = buffer[pos];
        buffer[pos] = x + b * kAllpassFeedback;
        if (++pos == buffer.size())
            pos = 0;
        return b - x;
    }
};

class Reverb final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        const double scale = sampleRate / 44100.0;
        const auto length = [scale](int samples) {
            return static_cast<std::size_t>(std::max(1.0, std::round(samples * scale)));
        };
        for (int ch = 0; ch < 2; ++ch) {
            const int spread = ch == 0 ? 0 : kStereoSpread;
            for (std::size_t c = 0; c < kCombTuning.size(); ++c)
                combs_[ch][c].buffer.assign(length(kCombTuning[c] + spread), 0.0f);
            for (std::size_t a = 0; a < kAllpassTuning.size(); ++a)
                allpasses_[ch][a].buffer.assign(length(kAllpassTuning[a] + spread), 0.0f);
        }
    }

    void reset() noexcept override
    {
        for (auto &channel : combs_)
            for (auto &c : channel) {
                std::fill(c.buffer.begin(), c.buffer.end(), 0.0f);
                c.pos = 0;
                c.store = 0.0f;
            }
        for (auto &channel : allpasses_)
            for (auto &a : channel) {
                std::fill(a.buffer.begin(), a.buffer.end(), 0.0f);
                a.pos = 0;
            }
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *inL = b.in[InL];
        const float *inR = b.in[InR];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float feedback = 0.7f + 0.28f * param(RoomSize).next(i);
            const float damp = 0.4f * param(Damping).next(i);
            const float width = param(Width).next(i);
            const float mix = param(Mix).next(i);
            const float wet1 = kWetScale * mix * (0.5f + 0.5f * width);
            const float wet2 = kWetScale * mix * (0.5f - 0.5f * width);

            const float xL = inL ? inL[i] : 0.0f;
            const float xR = inR ? inR[i] : 0.0f;
            const float input = (xL + xR) * kInputGain;
            float acc[2] = {0.0f, 0.0f};
            for (int ch = 0; ch < 2; ++ch) {
                for (auto &c : combs_[ch])
                    acc[ch] += c.process(input, feedback, damp);
                for (auto &a : allpasses_[ch])
                    acc[ch] = a.process(acc[ch]);
            }
            b.out[OutL][i] = acc[0] * wet1 + acc[1] * wet2 + xL * (1.0f - mix);
            b.out[OutR][i] = acc[1] * wet1 + acc[0] * wet2 + xR * (1.0f - mix);
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        for (auto &channel : combs_)
            for (auto &c : channel) {
                v(c.buffer);
                v(c.pos);
                v(c.store);
            }
        for (auto &channel : allpasses_)
            for (auto &a : channel) {
                v(a.buffer);
                v(a.pos);
            }
    }

private:
    std::array<std::array<Comb, kCombTuning.size()>, 2> combs_;
    std::array<std::array<Allpass, kAllpassTuning.size()>, 2> allpasses_;
};

} // namespace

std::unique_ptr<Module> createReverb() { return std::unique_ptr<Module>(new Reverb); }

} // namespace chronus::engine
