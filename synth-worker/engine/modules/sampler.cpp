// `sampler`: a buffer played per hit. The buffer is loaded while the graph is built (off the
// audio thread) through a per-process cache, and checked against the hash the patch names,
// so both workers and chronus-render play the same samples or refuse to build.
//
// Position is a double in frames, advanced by the rate each sample and read with linear
// interpolation; at rate 1 from a whole frame the fraction stays 0 and the samples come out
// unchanged. Everything is per sample, so the output does not depend on block boundaries.
#include "synth-worker/engine/modules/factories.hpp"

#include "common/sample_file.hpp"
#include "model/modules/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

namespace chronus::engine {
namespace {

using namespace model::sampler;

// Buffers by (file, rate), kept while any graph holds them; a file whose expected hash differs
// from the cached one is read again (it was replaced and loaded anew). Build threads only.
std::shared_ptr<const samples::SampleData> cachedLoad(const std::string &file, double rate, const std::string &hash,
                                                      std::string &error)
{
    static std::mutex mutex;
    static std::map<std::pair<std::string, double>, std::weak_ptr<const samples::SampleData>> cache;
    std::lock_guard lock(mutex);
    const auto key = std::pair{file, rate};
    if (auto hit = cache[key].lock(); hit && (hash.empty() || hit->hash == hash))
        return hit;
    auto loaded = samples::load(file, rate);
    if (!loaded) {
        error = loaded.error();
        return nullptr;
    }
    auto data = std::make_shared<const samples::SampleData>(std::move(*loaded));
    cache[key] = data;
    return data;
}

class Sampler final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        rate_ = sampleRate;
        fadeSamples_ = std::max<std::uint32_t>(1, std::uint32_t(std::lround(0.005 * sampleRate)));
    }

    Expected<void> prepareNode(const model::CompiledPatch::Node &node, double sampleRate, std::uint32_t) override
    {
        if (!node.buffer)
            return {};
        std::string error;
        data_ = cachedLoad(node.buffer->file, sampleRate, node.buffer->hash, error);
        if (!data_)
            return fail("buffer '" + node.buffer->name + "': " + error);
        // The same file as when it was loaded, or no sound at all: never different sound.
        if (!node.buffer->hash.empty() && data_->hash != node.buffer->hash) {
            const std::string found = data_->hash;
            data_.reset();
            return fail("buffer '" + node.buffer->name + "': the file " + node.buffer->file +
                        " has changed since it was loaded (" + found + ", expected " + node.buffer->hash + ")");
        }
        return {};
    }

    void reset() noexcept override { s_ = {}; }

    void process(const ProcessBlock &b) noexcept override
    {
        float *outL = b.out[Left];
        float *outR = b.out[Right];
        if (!data_ || (!s_.playing && !b.in[GateIn] && param(Gate).steady() && (param(Gate).current() > 0.5f) == s_.gate)) {
            std::fill_n(outL, b.frames, 0.0f);
            std::fill_n(outR, b.frames, 0.0f);
            for (auto &p : params())
                p.skip(b.frames);
            return;
        }
        const double frames = double(data_->frames);
        const float *left = data_->samples.data();
        const float *right = data_->channels > 1 ? left + data_->frames : left;
        if (steady(b)) {
            playSteady(b, left, right, frames);
            return;
        }
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const bool gate = param(Gate).next(i) > 0.5f || (b.in[GateIn] && b.in[GateIn][i] > 0.5f);
            const auto mode = static_cast<PlayMode>(param(Mode).next(i));
            const double root = 440.0 * std::exp2((double(param(Root).next(i)) - 69.0) / 12.0);
            const double rate = param(Rate).next(i);
            const double start = param(Start).next(i) * frames, end = param(End).next(i) * frames;
            const bool loop = param(Loop).next(i) > 0.5f;
            const double loopStart = param(LoopStart).next(i) * frames, loopEnd = param(LoopEnd).next(i) * frames;
            const float gain = param(Gain).next(i);
            if (gate && !s_.gate) { // a hit
                s_.playing = 1;
                s_.position = std::floor(start);
                s_.velocity = b.in[VelocityIn] ? std::clamp(b.in[VelocityIn][i], 0.0f, 1.0f) : 1.0f;
                s_.fadeLeft = 0;
                s_.fading = 0;
            } else if (!gate && s_.gate && mode == Gated && s_.playing && !s_.fading) {
                s_.fadeLeft = fadeSamples_; // a released gated hit stops after a short fade, never a click
                s_.fading = 1;
            }
            s_.gate = gate;
            float l = 0.0f, r = 0.0f;
            if (s_.playing) {
                read(left, right, l, r);
                float g = gain * s_.velocity;
                if (s_.fading)
                    g *= float(s_.fadeLeft--) / float(fadeSamples_);
                l *= g;
                r *= g;
                const double pitch = b.in[PitchIn] && b.in[PitchIn][i] > 0.0f ? b.in[PitchIn][i] / root : 1.0;
                s_.position += rate * pitch;
                if (loop && loopEnd > loopStart && s_.position >= loopEnd)
                    s_.position = loopStart + std::fmod(s_.position - loopStart, loopEnd - loopStart);
                if ((!loop && s_.position >= std::min(end, frames)) || s_.position >= frames ||
                    (s_.fading && s_.fadeLeft == 0)) {
                    s_.playing = 0;
                    s_.fading = 0;
                }
            }
            outL[i] = l;
            outR[i] = r;
        }
    }

    void visitState(StateVisitor &v) noexcept override { v(s_); }

private:
    // Nothing but the playback moves in this block: parameters settled, no gate or pitch
    // input, no edge, no release fade.
    bool steady(const ProcessBlock &b) noexcept
    {
        if (b.in[GateIn] || b.in[PitchIn] || s_.fading)
            return false;
        for (auto &p : params())
            if (!p.steady())
                return false;
        return (param(Gate).current() > 0.5f) == s_.gate;
    }

    // The buffer at the play position, linearly interpolated; a whole frame exactly as stored.
    void read(const float *left, const float *right, float &l, float &r) const noexcept
    {
        const auto at = static_cast<std::uint64_t>(s_.position);
        const float frac = static_cast<float>(s_.position - double(at));
        const std::uint64_t next = at + 1 < data_->frames ? at + 1 : at;
        l = frac == 0.0f ? left[at] : left[at] + frac * (left[next] - left[at]);
        r = frac == 0.0f ? right[at] : right[at] + frac * (right[next] - right[at]);
    }

    // The general loop with every parameter read once: the same arithmetic, so the same bits.
    void playSteady(const ProcessBlock &b, const float *left, const float *right, double frames) noexcept
    {
        const double rate = param(Rate).current();
        const double end = param(End).current() * frames;
        const bool loop = param(Loop).current() > 0.5f;
        const double loopStart = param(LoopStart).current() * frames, loopEnd = param(LoopEnd).current() * frames;
        const float g = param(Gain).current() * s_.velocity;
        const double stop = std::min(end, frames);
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            if (!s_.playing) {
                std::fill(b.out[Left] + i, b.out[Left] + b.frames, 0.0f);
                std::fill(b.out[Right] + i, b.out[Right] + b.frames, 0.0f);
                return;
            }
            float l, r;
            read(left, right, l, r);
            b.out[Left][i] = l * g;
            b.out[Right][i] = r * g;
            s_.position += rate * 1.0;
            if (loop && loopEnd > loopStart && s_.position >= loopEnd)
                s_.position = loopStart + std::fmod(s_.position - loopStart, loopEnd - loopStart);
            if ((!loop && s_.position >= stop) || s_.position >= frames)
                s_.playing = 0;
        }
    }

    struct State {
        double position = 0.0;
        float velocity = 1.0f;
        std::uint32_t fadeLeft = 0;
        std::uint32_t playing = 0;
        std::uint32_t fading = 0; // a released gated hit fading out
        bool gate = false;
    };
    std::shared_ptr<const samples::SampleData> data_;
    double rate_ = 48000.0;
    std::uint32_t fadeSamples_ = 240;
    State s_;
};

} // namespace

std::unique_ptr<Module> createSampler() { return std::unique_ptr<Module>(new Sampler); }

} // namespace chronus::engine
