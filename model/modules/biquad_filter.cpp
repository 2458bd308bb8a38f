#include "model/modules/biquad_filter.hpp"

namespace chronus::model::biquad_filter {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "biquad_filter";
    s.aliases = {"biquad"};
    s.description = "Two-pole RBJ-cookbook filter (12 dB/oct low/high-pass, band-pass, notch)";
    s.inputs = {{"in", "audio"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "filtered audio"}};
    s.params = two_pole_filter::params("bp/notch bandwidth = cutoff / q");
    return s;
}

} // namespace chronus::model::biquad_filter
