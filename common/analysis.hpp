// Ears for agents: a measured description of stereo audio (loudness, peaks, spectrum,
// pitch, onsets, width, DC, silence) and running level meters. Used by the supervisor on
// what it played (/analyze, /meters) and by chronus-render --analyze on what it rendered,
// so the two describe the same audio the same way. Control thread only: analyze()
// allocates and takes milliseconds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace chronus::analysis {

// Centres of the octave bands of Description::octaveBandsDb (Hz).
inline constexpr std::array<double, 10> kOctaveCentresHz = {31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000};

struct Description {
    double seconds = 0.0;
    bool silent = true;            // every sample below -90 dBFS
    double integratedLufs = -1e9;  // EBU R128 integrated loudness (-inf as -1e9 when silent)
    double shortTermLufs = -1e9;   // EBU R128 short-term loudness of the last 3 s
    double loudnessRangeLu = 0.0;  // EBU R128 loudness range (0 when under ~3 s)
    double truePeakDbtp = -1e9;    // highest true peak of both channels
    double samplePeakDbfs = -1e9;
    double rmsDbfs = -1e9;         // of both channels together
    double dcOffset[2] = {0.0, 0.0};
    double correlation = 1.0;      // of left and right: 1 mono, 0 unrelated, -1 out of phase
    double width = 0.0;            // side energy over mid energy (0 mono)
    double centroidHz = 0.0;       // spectral centroid (amplitude-weighted)
    std::array<double, 10> octaveBandsDb{}; // energy per octave band, dB relative to the total
    double fundamentalHz = 0.0;    // estimated fundamental of the dominant pitch; 0 when none
    double pitchClarity = 0.0;     // 0..1: how periodic (1 a pure tone)
    std::string note;              // nearest note and cents ("A4 +2"), "" when no pitch
    double onsetsPerSecond = 0.0;
    double tempoBpm = 0.0;         // estimate from the onsets; 0 when none
};

// Describes `frames` frames of `left`/`right` at `rate`.
Description analyze(const float *left, const float *right, std::size_t frames, double rate);
// One JSON object, keys as in Description (snake_case).
std::string toJson(const Description &d, int indent = -1);

// Peak, RMS and clipped samples of a stretch of audio, per channel (dBFS, -1e9 for silence).
struct Levels {
    double peakDbfs[2] = {-1e9, -1e9};
    double rmsDbfs[2] = {-1e9, -1e9};
    std::uint32_t clips[2] = {0, 0}; // samples at or beyond full scale
    std::size_t frames = 0;
};
Levels levels(const float *left, const float *right, std::size_t frames);

} // namespace chronus::analysis
