// The catalogue: every module type's spec, listed once here.
#include "model/module_spec.hpp"

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

namespace chronus::model {

namespace {

constexpr ModuleSpec (*kSpecs[])() = {
    output::spec,
    input::spec,
    sine::spec,
    oscillator::spec,
    noise::spec,
    lfo::spec,
    adsr::spec,
    sequencer::spec,
    drums::kickSpec,
    drums::snareSpec,
    drums::hatSpec,
    biquad_filter::spec,
    svf::spec,
    ladder::spec,
    vca::spec,
    mixer::spec,
    pan::spec,
    distortion::spec,
    delay::spec,
    reverb::spec,
    sampler::spec,
    limiter::spec,
    poly::spec,
    voice::spec,
};

} // namespace

const std::vector<ModuleSpec> &moduleCatalogue()
{
    static const std::vector<ModuleSpec> catalogue = [] {
        std::vector<ModuleSpec> specs;
        for (auto make : kSpecs)
            specs.push_back(make());
        std::sort(specs.begin(), specs.end(), [](const ModuleSpec &a, const ModuleSpec &b) { return a.type < b.type; });
        return specs;
    }();
    return catalogue;
}

} // namespace chronus::model
