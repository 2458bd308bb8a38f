// Drives one catalogue module directly (no graph): create, configure, prepare, set
// parameters, feed inputs and render in chosen block sizes. For module unit tests.
#pragma once

#include "model/module_spec.hpp"
#include "synth-worker/engine/module_factory.hpp"
#include "common/rt.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace chronus::test {

class ModuleHarness {
public:
    ModuleHarness(const std::string &type, double sampleRate = 48000.0, std::uint32_t maxFrames = 256,
                  std::uint64_t seed = 1)
        : sampleRate_(sampleRate), maxFrames_(maxFrames)
    {
        spec_ = model::findModule(type);
        if (!spec_)
            throw std::runtime_error("unknown module type " + type);
        module_ = engine::findFactory(spec_->type)->create();
        module_->configure(spec_->params, sampleRate, seed);
        module_->prepare(sampleRate, maxFrames);
        module_->reset();
        inputs_.assign(spec_->inputs.size(), {});
        connected_.assign(spec_->inputs.size(), false);
    }

    const model::ModuleSpec &spec() const { return *spec_; }
    engine::Module &module() { return *module_; }

    // Sets a parameter by name (or alias) to a number; snaps past smoothing when asked.
    void set(const std::string &name, double value, bool snap = true)
    {
        const int index = spec_->findParam(name);
        if (index < 0)
            throw std::runtime_error("no parameter " + name);
        auto v = spec_->params[index].fromNumber(value);
        if (!v)
            throw std::runtime_error(v.error());
        module_->param(index).set(*v);
        if (snap)
            module_->param(index).snap();
    }
    // Sets a parameter from text (enum names, on/off).
    void setText(const std::string &name, const std::string &text)
    {
        const int index = spec_->findParam(name);
        if (index < 0)
            throw std::runtime_error("no parameter " + name);
        auto v = spec_->params[index].fromText(text);
        if (!v)
            throw std::runtime_error(v.error());
        module_->param(index).set(*v);
        module_->param(index).snap();
    }
    // Sets a text parameter (pattern, notes) the way the Interpreter would.
    void setTextParam(const std::string &name, const std::string &text)
    {
        const int index = spec_->findTextParam(name);
        if (index < 0)
            throw std::runtime_error("no text parameter " + name);
        auto values = spec_->textParams[index].parse(text);
        if (!values)
            throw std::runtime_error(values.error());
        for (std::size_t i = 0; i < values->size(); ++i)
            module_->setElement(index, static_cast<std::uint32_t>(i), (*values)[i]);
        module_->setElement(index, engine::Module::kLengthElement, static_cast<float>(values->size()));
    }

    // Feeds a whole signal to an input (must be at least as long as what is rendered).
    void feed(const std::string &input, std::vector<float> signal)
    {
        const int index = spec_->findInput(input);
        if (index < 0)
            throw std::runtime_error("no input " + input);
        inputs_[index] = std::move(signal);
        connected_[index] = true;
    }

    // Renders `frames` samples in blocks of `blockSize`; returns one vector per output.
    std::vector<std::vector<float>> render(std::size_t frames, std::uint32_t blockSize = 0)
    {
        if (blockSize == 0)
            blockSize = maxFrames_;
        const std::size_t outs = spec_->outputs.size();
        std::vector<std::vector<float>> result(outs, std::vector<float>(frames));
        std::vector<const float *> in(inputs_.size());
        std::vector<float *> out(outs);
        DenormalGuard guard;
        for (std::size_t pos = 0; pos < frames; pos += blockSize) {
            const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(blockSize, frames - pos));
            for (std::size_t i = 0; i < inputs_.size(); ++i)
                in[i] = connected_[i] ? inputs_[i].data() + rendered_ + pos : nullptr;
            for (std::size_t o = 0; o < outs; ++o)
                out[o] = result[o].data() + pos;
            module_->process({n, in.data(), out.data()});
        }
        rendered_ += frames;
        return result;
    }

private:
    double sampleRate_;
    std::uint32_t maxFrames_;
    const model::ModuleSpec *spec_ = nullptr;
    std::unique_ptr<engine::Module> module_;
    std::vector<std::vector<float>> inputs_;
    std::vector<bool> connected_;
    std::size_t rendered_ = 0;
};

// Estimates frequency from positive-going zero crossings with linear interpolation.
inline double zeroCrossingFrequency(const std::vector<float> &x, double sampleRate, std::size_t skip = 0)
{
    double first = -1, last = -1;
    int count = 0;
    for (std::size_t i = skip + 1; i < x.size(); ++i) {
        if (x[i - 1] < 0.0f && x[i] >= 0.0f) {
            const double t = (i - 1) + x[i - 1] / (x[i - 1] - x[i]);
            if (first < 0)
                first = t;
            else
                ++count;
            last = t;
        }
    }
    return count > 0 ? count * sampleRate / (last - first) : 0.0;
}

inline double rms(const std::vector<float> &x, std::size_t from = 0, std::size_t to = 0)
{
    if (to == 0 || to > x.size())
        to = x.size();
    double sum = 0;
    for (std::size_t i = from; i < to; ++i)
        sum += double(x[i]) * x[i];
    return to > from ? std::sqrt(sum / double(to - from)) : 0.0;
}

// Magnitude of the DFT of x at `freq` (single bin by Goertzel), normalised so a full-scale
// sine of that frequency gives ~1 after a Hann window.
inline double toneMagnitude(const std::vector<float> &x, double freq, double sampleRate)
{
    const std::size_t n = x.size();
    const double w = 2.0 * M_PI * freq / sampleRate;
    double re = 0, im = 0, wsum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double win = 0.5 - 0.5 * std::cos(2.0 * M_PI * i / (n - 1));
        re += win * x[i] * std::cos(w * i);
        im -= win * x[i] * std::sin(w * i);
        wsum += win;
    }
    return 2.0 * std::sqrt(re * re + im * im) / wsum;
}

} // namespace chronus::test
