#include "synth-worker/engine/module_factory.hpp"

#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/adsr.hpp"
#include "model/modules/biquad_filter.hpp"
#include "model/modules/delay.hpp"
#include "model/modules/distortion.hpp"
#include "model/modules/drums.hpp"
#include "model/modules/input.hpp"
#include "model/modules/ladder.hpp"
#include "model/modules/lfo.hpp"
#include "model/modules/limiter.hpp"
#include "model/modules/mixer.hpp"
#include "model/modules/noise.hpp"
#include "model/modules/oscillator.hpp"
#include "model/modules/output.hpp"
#include "model/modules/pan.hpp"
#include "model/modules/poly.hpp"
#include "model/modules/reverb.hpp"
#include "model/modules/sampler.hpp"
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
    {.type = "adsr", .create = createAdsr,
     .params = m::adsr::kParamCount, .inputs = m::adsr::kInputCount, .outputs = m::adsr::kOutputCount},
    {.type = "biquad_filter", .create = createBiquadFilter,
     .params = m::biquad_filter::kParamCount, .inputs = m::biquad_filter::kInputCount,
     .outputs = m::biquad_filter::kOutputCount},
    {.type = "delay", .create = createDelay,
     .params = m::delay::kParamCount, .inputs = m::delay::kInputCount, .outputs = m::delay::kOutputCount},
    {.type = "distortion", .create = createDistortion,
     .params = m::distortion::kParamCount, .inputs = m::distortion::kInputCount,
     .outputs = m::distortion::kOutputCount},
    {.type = "hat", .create = createHat,
     .params = m::drums::kHatParamCount, .inputs = m::drums::kInputCount, .outputs = m::drums::kOutputCount},
    {.type = "input", .create = createInput, .params = m::input::kParamCount, .outputs = m::input::kOutputCount},
    {.type = "kick", .create = createKick,
     .params = m::drums::kKickParamCount, .inputs = m::drums::kInputCount, .outputs = m::drums::kOutputCount},
    {.type = "ladder", .create = createLadder,
     .params = m::ladder::kParamCount, .inputs = m::ladder::kInputCount, .outputs = m::ladder::kOutputCount},
    {.type = "lfo", .create = createLfo, .params = m::lfo::kParamCount, .outputs = m::lfo::kOutputCount},
    {.type = "limiter", .create = createLimiter,
     .params = m::limiter::kParamCount, .inputs = m::limiter::kInputCount, .outputs = m::limiter::kOutputCount},
    {.type = "mixer", .create = createMixer,
     .params = m::mixer::kParamCount, .inputs = m::mixer::kInputCount, .outputs = m::mixer::kOutputCount},
    {.type = "noise", .create = createNoise, .params = m::noise::kParamCount, .outputs = m::noise::kOutputCount},
    {.type = "osc", .create = createOscillator,
     .params = m::oscillator::kParamCount, .inputs = m::oscillator::kInputCount,
     .outputs = m::oscillator::kOutputCount},
    {.type = "output", .create = createOutput,
     .params = m::output::kParamCount, .inputs = m::output::kInputCount, .outputs = m::output::kOutputCount},
    {.type = "pan", .create = createPan,
     .params = m::pan::kParamCount, .inputs = m::pan::kInputCount, .outputs = m::pan::kOutputCount},
    {.type = "poly", .create = createPoly,
     .params = m::poly::kParamCount, .inputs = m::poly::kInputCount, .outputs = m::poly::kOutputCount},
    {.type = "reverb", .create = createReverb,
     .params = m::reverb::kParamCount, .inputs = m::reverb::kInputCount, .outputs = m::reverb::kOutputCount},
    {.type = "sampler", .create = createSampler,
     .params = m::sampler::kParamCount, .inputs = m::sampler::kInputCount, .outputs = m::sampler::kOutputCount},
    {.type = "sequencer", .create = createSequencer,
     .params = m::sequencer::kParamCount, .textParams = m::sequencer::kTextParamCount,
     .outputs = m::sequencer::kOutputCount},
    {.type = "sine", .create = createSine, .params = m::sine::kParamCount, .outputs = m::sine::kOutputCount},
    {.type = "snare", .create = createSnare,
     .params = m::drums::kSnareParamCount, .inputs = m::drums::kInputCount, .outputs = m::drums::kOutputCount},
    {.type = "svf", .create = createSvf,
     .params = m::svf::kParamCount, .inputs = m::svf::kInputCount, .outputs = m::svf::kOutputCount},
    {.type = "vca", .create = createVca,
     .params = m::vca::kParamCount, .inputs = m::vca::kInputCount, .outputs = m::vca::kOutputCount},
    {.type = "voice", .create = createVoice, .params = m::voice::kParamCount, .outputs = m::voice::kOutputCount},
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
