#include "supervisor/input_journal.hpp"

#include "common/log.hpp"
#include "supervisor/timeline.hpp"

namespace chronus::supervisor {

InputJournal::~InputJournal()
{
    if (file_)
        sf_close(file_);
}

Expected<void> InputJournal::open(const std::string &journalPath, const shm::Segment &segment, Timeline &timeline,
                                  std::uint64_t firstFrame)
{
    const shm::Geometry &g = segment.geometry();
    if (g.inputs == 0 || journalPath.empty())
        return {};
    const std::string path = journalPath + ".input.wav";
    SF_INFO info{};
    info.samplerate = static_cast<int>(g.sampleRate);
    info.channels = static_cast<int>(g.inputs);
    info.format = SF_FORMAT_RF64 | SF_FORMAT_FLOAT; // float keeps every bit; RF64 past 4 GiB
    file_ = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file_)
        return fail("cannot write the journal's input file " + path + ": " + sf_strerror(nullptr));
    sf_command(file_, SFC_RF64_AUTO_DOWNGRADE, nullptr, SF_TRUE);
    segment_ = &segment;
    next_ = firstFrame - firstFrame % g.periodFrames;
    planar_.resize(std::size_t{g.inputs} * g.periodFrames);
    interleaved_.resize(planar_.size());
    timeline.journalNote(log::cat("input: ", path, " channels ", g.inputs, " from frame ", next_));
    return {};
}

void InputJournal::tick(std::uint64_t publishedEnd)
{
    if (!file_)
        return;
    const shm::Geometry &g = segment_->geometry();
    float *channels[16];
    for (std::uint32_t c = 0; c < g.inputs; ++c)
        channels[c] = planar_.data() + std::size_t{c} * g.periodFrames;
    bool wrote = false;
    for (; next_ + g.periodFrames <= publishedEnd; next_ += g.periodFrames) {
        if (!shm::readInput(*segment_, next_, channels))
            ++missing_; // silence, as the workers had
        for (std::uint32_t i = 0; i < g.periodFrames; ++i)
            for (std::uint32_t c = 0; c < g.inputs; ++c)
                interleaved_[std::size_t{i} * g.inputs + c] = channels[c][i];
        sf_writef_float(file_, interleaved_.data(), g.periodFrames);
        wrote = true;
    }
    // The header names the new length at once, so the file can be read (a replay of the
    // journal so far) while the session goes on; no fsync (the disk's pace is not the control
    // loop's business).
    if (wrote)
        sf_command(file_, SFC_UPDATE_HEADER_NOW, nullptr, 0);
}

} // namespace chronus::supervisor
