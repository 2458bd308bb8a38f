// The parameters every two-pole filter module shares (biquad_filter, svf): one contract
// for mode, cutoff and q, so patches can swap one filter type for the other.
#pragma once

#include "model/param_spec.hpp"

#include <string>
#include <vector>

namespace chronus::model::two_pole_filter {

enum Param { Mode, Cutoff, Q, kParamCount };
// Values of the mode parameter (its choices, in order).
enum FilterMode { Lowpass, Highpass, Bandpass, Notch };

// mode (lp/hp/bp/notch, alias filter_mode), cutoff (aliases frequency, freq) and q
// (alias resonance), in that order; `qNote` finishes q's description for this filter.
std::vector<ParamSpec> params(const std::string &qNote);

} // namespace chronus::model::two_pole_filter
