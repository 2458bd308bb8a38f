#include "synth-worker/engine/module_factory.hpp"

#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/adsr.hpp"
#include "model/modules/biquad_filter.hpp"
#include "model/modules/delay.hpp"
#include "model/modules/distortion.hpp"
#include "model/modules/drums.hpp"
#include "model/modules/ladder.hpp"
#include "model/modules/lfo.hpp"
#include "model/modules/limiter.hpp"
#include "model/modules/mixer.hpp"
#include "model/modules/noise.hpp"
#include "model/modules/oscillator.hpp"
#include "model/modules/output.hpp"
#include "model/modules/pan.hpp"
#include "model/modules/reverb.hpp"
#include "model/modules/sequencer.hpp"
#include "model/modules/sine.hpp"
#include "model/modules/svf.hpp"
#include "model/modules/vca.hpp"

#include <algorithm>

namespace chronus::engine {

namespace {

namespace m = model;

// Sorted by type (findFactory() searches it by halves).
constexpr ModuleFactory kFactories[] = {
    {"adsr", createAdsr, m::adsr::kParamCount, 0, m::adsr::kInputCount, m::adsr::kOutputCount},
    {"biquad_filter", createBiquadFilter, m::biquad_filter::kParamCount, 0, m::biquad_filter::kInputCount,
     m::biquad_filter::kOutputCount},
    {"delay", createDelay, m::delay::kParamCount, 0, m::delay::kInputCount, m::delay::kOutputCount},
    {"distortion", createDistortion, m::distortion::kParamCount, 0, m::distortion::kInputCount,
     m::distortion::kOutputCount},
    {"hat", createHat, m::drums::kHatParamCount, 0, m::drums::kInputCount, m::drums::kOutputCount},
    {"kick", createKick, m::drums::kKickParamCount, 0, m::drums::kInputCount, m::drums::kOutputCount},
    {"ladder", createLadder, m::ladder::kParamCount, 0, m::ladder::kInputCount, m::ladder::kOutputCount},
    {"lfo", createLfo, m::lfo::kParamCount, 0, 0, m::lfo::kOutputCount},
    {"limiter", createLimiter, m::limiter::kParamCount, 0, m::limiter::kInputCount, m::limiter::kOutputCount},
    {"mixer", createMixer, m::mixer::kParamCount, 0, m::mixer::kInputCount, m::mixer::kOutputCount},
    {"noise", createNoise, m::noise::kParamCount, 0, 0, m::noise::kOutputCount},
    {"osc", createOscillator, m::oscillator::kParamCount, 0, m::oscillator::kInputCount,
     m::oscillator::kOutputCount},
    {"output", createOutput, m::output::kParamCount, 0, m::output::kInputCount, m::output::kOutputCount},
    {"pan", createPan, m::pan::kParamCount, 0, m::pan::kInputCount, m::pan::kOutputCount},
    {"reverb", createReverb, m::reverb::kParamCount, 0, m::reverb::kInputCount, m::reverb::kOutputCount},
    {"sequencer", createSequencer, m::sequencer::kParamCount, m::sequencer::kTextParamCount, 0,
     m::sequencer::kOutputCount},
    {"sine", createSine, m::sine::kParamCount, 0, 0, m::sine::kOutputCount},
    {"snare", createSnare, m::drums::kSnareParamCount, 0, m::drums::kInputCount, m::drums::kOutputCount},
    {"svf", createSvf, m::svf::kParamCount, 0, m::svf::kInputCount, m::svf::kOutputCount},
    {"vca", createVca, m::vca::kParamCount, 0, m::vca::kInputCount, m::vca::kOutputCount},
};

} // namespace

std::span<const ModuleFactory> moduleFactories() { return kFactories; }

const ModuleFactory *findFactory(std::string_view type)
{
    const auto at = std::lower_bound(std::begin(kFactories), std::end(kFactories), type,
                                     [](const ModuleFactory &f, std::string_view key) { return f.type < key; });
    return at != std::end(kFactories) && at->type == type ? &*at : nullptr;
}

} // namespace chronus::engine
