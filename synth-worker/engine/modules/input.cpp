// `input`: the patch's input channels, as the graph's InputBus gives them for each span.
// Gain 1 copies the samples untouched, so an input passes a unity patch bit for bit.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/input.hpp"

#include <algorithm>

namespace chronus::engine {
namespace {

using namespace model::input;

class Input final : public Module {
public:
    void attachInputs(const InputBus *bus) override { bus_ = bus; }
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}
    void visitState(StateVisitor &) noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        const auto channel = static_cast<std::uint32_t>(param(Channel).target()) - 1;
        const bool stereo = param(Stereo).target() > 0.5f;
        copy(channel, b.out[Left], b.frames);
        copy(stereo ? channel + 1 : channel, b.out[Right], b.frames);
        if (param(Gain).steady() && param(Gain).current() == 1.0f)
            return;
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float g = param(Gain).next(i);
            b.out[Left][i] *= g;
            b.out[Right][i] *= g;
        }
    }

private:
    void copy(std::uint32_t channel, float *out, std::uint32_t frames) const noexcept
    {
        if (bus_ && channel < bus_->count && bus_->channels[channel])
            std::copy_n(bus_->channels[channel], frames, out);
        else
            std::fill_n(out, frames, 0.0f);
    }

    const InputBus *bus_ = nullptr;
};

} // namespace

std::unique_ptr<Module> createInput() { return std::unique_ptr<Module>(new Input); }

} // namespace chronus::engine
