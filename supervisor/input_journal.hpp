// The journal's record of the audio that came in: a WAV beside the journal
// (<journal>.input.wav) holding, from the frame a "# input:" line names, every input frame at
// the engine frame the workers took it in, silence where they had none. chronus-render
// --script <journal> reads it back, so a replay hears the same input. Control thread; reads
// the shared-memory input ring well within the time it keeps a block (3 s).
#pragma once

#include "common/expected.hpp"
#include "common/shm_layout.hpp"

#include <sndfile.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::supervisor {

class Timeline;

class InputJournal {
public:
    ~InputJournal();
    // Creates <journalPath>.input.wav and notes it in the journal; `firstFrame` is the engine
    // frame of the first input block the workers can take in. No-op without inputs.
    Expected<void> open(const std::string &journalPath, const shm::Segment &segment, Timeline &timeline,
                        std::uint64_t firstFrame);
    // Appends every block published up to (excluding) engine frame `publishedEnd`.
    void tick(std::uint64_t publishedEnd);
    // Blocks that were no longer (or never) in the ring: written as silence.
    std::uint64_t blocksMissing() const noexcept { return missing_; }

private:
    const shm::Segment *segment_ = nullptr;
    SNDFILE *file_ = nullptr;
    std::uint64_t next_ = 0; // engine frame of the next block to write
    std::uint64_t missing_ = 0;
    std::vector<float> planar_, interleaved_;
};

} // namespace chronus::supervisor
