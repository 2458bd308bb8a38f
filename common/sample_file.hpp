// Sound files as sample buffers: decoded with libsndfile (WAV, FLAC, Ogg, ...), identified by
// a hash of the decoded samples, resampled to the engine's rate with libsamplerate when the
// rates differ. The supervisor hashes a file when /buffer/load names it; every engine (both
// workers, chronus-render) loads it again and refuses it if the hash differs, so all of them
// play the same samples. Not RT-safe: allocates and reads files.
#pragma once

#include "common/expected.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::samples {

struct SampleData {
    std::uint32_t channels = 0;
    std::uint64_t frames = 0;     // at `rate`
    double rate = 0.0;
    double fileRate = 0.0;        // as the file holds it
    std::string hash;             // "fnv1a64:<16 hex digits>" of the decoded samples (file rate)
    std::vector<float> samples;   // planar: channel c at [c * frames, (c + 1) * frames)
    std::size_t bytes() const noexcept { return samples.size() * sizeof(float); }
};

// Decodes `path` (at most `maxBytes` of samples once decoded) and hashes it; with `rate` > 0
// resamples to it. Errors name the file and why: missing, unreadable, not audio, too large.
Expected<SampleData> load(const std::string &path, double rate = 0.0, std::size_t maxBytes = std::size_t(1) << 31);

} // namespace chronus::samples
