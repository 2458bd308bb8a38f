// One create function per DSP module file, for the table in module_factory.cpp. Each
// allocates its module (not RT-safe).
#pragma once

#include "synth-worker/engine/module.hpp"

#include <memory>

namespace chronus::engine {

std::unique_ptr<Module> createAdsr();
std::unique_ptr<Module> createBiquadFilter();
std::unique_ptr<Module> createDelay();
std::unique_ptr<Module> createDistortion();
std::unique_ptr<Module> createHat();
std::unique_ptr<Module> createInput();
std::unique_ptr<Module> createKick();
std::unique_ptr<Module> createLadder();
std::unique_ptr<Module> createLfo();
std::unique_ptr<Module> createLimiter();
std::unique_ptr<Module> createMixer();
std::unique_ptr<Module> createNoise();
std::unique_ptr<Module> createOscillator();
std::unique_ptr<Module> createOutput();
std::unique_ptr<Module> createPan();
std::unique_ptr<Module> createPoly();
std::unique_ptr<Module> createReverb();
std::unique_ptr<Module> createSampler();
std::unique_ptr<Module> createSequencer();
std::unique_ptr<Module> createSine();
std::unique_ptr<Module> createSnare();
std::unique_ptr<Module> createSvf();
std::unique_ptr<Module> createVca();
std::unique_ptr<Module> createVoice();

} // namespace chronus::engine
