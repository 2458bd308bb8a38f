// Frame-by-frame check of recordings of the ramp signal (every sample carries its own JACK
// frame index): shared by the writer unit tests and the integration tests.
#pragma once

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace testing_rec {

namespace fs = std::filesystem;

inline std::uint64_t sidecarFirstFrame(const fs::path &audio)
{
    std::ifstream in(audio.string() + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::smatch m;
    const std::string text = ss.str();
    if (!std::regex_search(text, m, std::regex("\"first_frame_jack\": ([0-9]+)")))
        return UINT64_MAX;
    return std::stoull(m[1]);
}

inline float rampValue(std::uint64_t jackFrame, std::size_t channel)
{
    return float((std::uint32_t(jackFrame) + std::uint32_t(channel) * 65537u) & 0xffffffu);
}

// "misplayed F G N" from the ramp source: the N frames JACK took at frame F carried the
// ramp of frame G (its callback read the next cycle's frame time; it says so a cycle later).
struct Misplay {
    std::uint64_t frame = 0, played = 0, frames = 0;
};

inline std::vector<Misplay> rampMisplays(const fs::path &log)
{
    std::vector<Misplay> out;
    std::ifstream in(log);
    std::string word;
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        Misplay m;
        if (ls >> word && word == "misplayed" && ls >> m.frame >> m.played >> m.frames)
            out.push_back(m);
    }
    return out;
}

// Frames after a gap that the recorder says may belong `shift` frames earlier (sidecar
// "uncertain_frames": JACK's clock cannot tell a late callback that was then skipped from a
// cycle skipped before it), as file positions [from, to).
struct UncertainSpan {
    std::uint64_t from = 0, to = 0, shift = 0;
};

inline std::vector<UncertainSpan> sidecarUncertainSpans(const fs::path &audio)
{
    std::ifstream in(audio.string() + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::vector<UncertainSpan> out;
    const std::regex gap("\"at_frame\": ([0-9]+),\\s*\"frames\": ([0-9]+),\\s*\"uncertain_frames\": ([0-9]+)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), gap); it != std::sregex_iterator(); ++it) {
        const std::uint64_t at = std::stoull((*it)[1]), frames = std::stoull((*it)[2]), m = std::stoull((*it)[3]);
        out.push_back({at + frames, at + frames + m, m});
    }
    return out;
}

struct RampCheck {
    bool opened = false;
    int channels = 0;
    std::uint64_t frames = 0;
    std::uint64_t silentFrames = 0;     // whole frames of zeros (stand-ins for lost frames)
    std::uint64_t silentRuns = 0;
    std::uint64_t firstSilent = UINT64_MAX;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> runs; // (first frame, length), first 64
    std::uint64_t mismatches = 0;       // frames neither silent nor the expected ramp
    std::uint64_t firstMismatch = UINT64_MAX;
    std::uint64_t misplayedFrames = 0; // frames the source said it played with another frame's ramp
    std::uint64_t uncertainFrames = 0;  // frames found where the recorder said they might be
    std::string describe() const
    {
        std::ostringstream s;
        s << "frames=" << frames << " channels=" << channels << " silent=" << silentFrames << " runs=" << silentRuns
          << " firstSilent=" << firstSilent << " mismatches=" << mismatches << " firstMismatch=" << firstMismatch
          << " misplayedBySource=" << misplayedFrames << " uncertainPlacedEarlier=" << uncertainFrames;
        return s.str();
    }
};

// Reads `path` with libsndfile and checks every frame k against the ramp at JACK frame
// firstJackFrame + k: file time must equal JACK time, and lost frames must be silence.
// File channel c must carry source channel sourceOf[c] (default: c). Where the source said
// it misplayed a cycle, the file must hold what it played.
inline RampCheck checkRamp(const fs::path &path, std::uint64_t firstJackFrame,
                           const std::vector<std::size_t> &sourceOf = {}, const std::vector<Misplay> &misplays = {})
{
    RampCheck r;
    SF_INFO info{};
    SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
    if (!sf)
        return r;
    r.opened = true;
    r.channels = info.channels;
    const std::vector<UncertainSpan> uncertain = sidecarUncertainSpans(path);
    const std::size_t ch = std::size_t(info.channels);
    std::vector<float> buf(ch * 8192);
    std::uint64_t k = 0;
    bool inSilence = false;
    for (;;) {
        const sf_count_t n = sf_readf_float(sf, buf.data(), 8192);
        if (n <= 0)
            break;
        for (sf_count_t i = 0; i < n; ++i, ++k) {
            const float *f = &buf[std::size_t(i) * ch];
            const std::uint64_t jack = firstJackFrame + k;
            std::uint64_t label = jack;
            for (const Misplay &m : misplays)
                if (jack >= m.frame && jack < m.frame + m.frames) {
                    label = m.played + (jack - m.frame);
                    ++r.misplayedFrames;
                }
            auto matches = [&](std::uint64_t l) {
                for (std::size_t c = 0; c < ch; ++c)
                    if (f[c] != rampValue(l, c < sourceOf.size() ? sourceOf[c] : c))
                        return false;
                return true;
            };
            bool silent = true;
            for (std::size_t c = 0; c < ch; ++c)
                silent = silent && f[c] == 0.0f;
            bool match = matches(label);
            if (!match)
                for (const UncertainSpan &u : uncertain)
                    if (k >= u.from && k < u.to && label >= u.shift && matches(label - u.shift)) {
                        match = true;
                        ++r.uncertainFrames;
                    }
            if (silent && !match) {
                ++r.silentFrames;
                if (!inSilence) {
                    ++r.silentRuns;
                    if (r.runs.size() < 64)
                        r.runs.push_back({k, 0});
                }
                if (r.silentRuns <= 64)
                    ++r.runs.back().second;
                if (r.firstSilent == UINT64_MAX)
                    r.firstSilent = k;
                inSilence = true;
            } else {
                inSilence = false;
                if (!match) {
                    ++r.mismatches;
                    if (r.firstMismatch == UINT64_MAX)
                        r.firstMismatch = k;
                }
            }
        }
    }
    r.frames = k;
    sf_close(sf);
    return r;
}

// Reads `frames` frames at file position `at` and compares them with the ramp, taking file
// frame 0 to be JACK frame `firstJackFrame`.
inline ::testing::AssertionResult rampMatches(const fs::path &p, std::uint64_t firstJackFrame, std::uint64_t at,
                                              std::size_t frames)
{
    SF_INFO info{};
    SNDFILE *sf = sf_open(p.c_str(), SFM_READ, &info);
    if (!sf)
        return ::testing::AssertionFailure() << "libsndfile cannot open " << p << ": " << sf_strerror(nullptr);
    const std::size_t ch = std::size_t(info.channels);
    std::vector<float> got(frames * ch);
    const bool seeked = sf_seek(sf, sf_count_t(at), SEEK_SET) == sf_count_t(at);
    const sf_count_t n = sf_readf_float(sf, got.data(), sf_count_t(frames));
    sf_close(sf);
    if (!seeked || n != sf_count_t(frames))
        return ::testing::AssertionFailure() << "cannot read " << frames << " frames at " << at << " of " << p;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != rampValue(firstJackFrame + at + i / ch, i % ch))
            return ::testing::AssertionFailure() << p << ": frame " << at + i / ch << " channel " << i % ch << " is "
                                                 << got[i] << ", not " << rampValue(firstJackFrame + at + i / ch, i % ch);
    return ::testing::AssertionSuccess();
}

// Channel by channel: where a recording of the ramp holds silence, and samples that are
// neither silence nor the ramp of the source channel the file channel should carry (a
// channel that swapped or summed two sources fails here). For takes in which inputs lose
// their source one at a time, so whole-frame checks do not apply.
struct ChannelCheck {
    std::uint64_t silentFrames = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> runs; // (first frame, length), first 64
    std::uint64_t mismatches = 0;
    std::uint64_t firstMismatch = UINT64_MAX;
    float firstMismatchValue = 0;
};

struct ChannelsCheck {
    bool opened = false;
    std::uint64_t frames = 0;
    std::vector<ChannelCheck> channels;
    std::string describe() const
    {
        std::ostringstream s;
        s << "frames=" << frames;
        for (std::size_t c = 0; c < channels.size(); ++c) {
            const ChannelCheck &k = channels[c];
            s << " | ch" << c << ": silent=" << k.silentFrames << " runs=";
            for (const auto &[at, n] : k.runs)
                s << at << "+" << n << " ";
            s << "mismatches=" << k.mismatches;
            if (k.mismatches)
                s << " first at " << k.firstMismatch << " (" << k.firstMismatchValue << ")";
        }
        return s.str();
    }
};

inline ChannelsCheck checkRampChannels(const fs::path &path, std::uint64_t firstJackFrame,
                                       const std::vector<std::size_t> &sourceOf = {},
                                       const std::vector<Misplay> &misplays = {})
{
    ChannelsCheck r;
    SF_INFO info{};
    SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
    if (!sf)
        return r;
    r.opened = true;
    const std::size_t ch = std::size_t(info.channels);
    r.channels.resize(ch);
    std::vector<bool> inSilence(ch, false);
    const std::vector<UncertainSpan> uncertain = sidecarUncertainSpans(path);
    std::vector<float> buf(ch * 8192);
    std::uint64_t k = 0;
    for (;;) {
        const sf_count_t n = sf_readf_float(sf, buf.data(), 8192);
        if (n <= 0)
            break;
        for (sf_count_t i = 0; i < n; ++i, ++k) {
            const float *f = &buf[std::size_t(i) * ch];
            std::uint64_t label = firstJackFrame + k;
            for (const Misplay &m : misplays)
                if (firstJackFrame + k >= m.frame && firstJackFrame + k < m.frame + m.frames)
                    label = m.played + (firstJackFrame + k - m.frame);
            for (std::size_t c = 0; c < ch; ++c) {
                const std::size_t source = c < sourceOf.size() ? sourceOf[c] : c;
                bool match = f[c] == rampValue(label, source);
                for (const UncertainSpan &u : uncertain)
                    match = match || (k >= u.from && k < u.to && label >= u.shift &&
                                      f[c] == rampValue(label - u.shift, source));
                ChannelCheck &cc = r.channels[c];
                if (!match && f[c] == 0.0f) {
                    ++cc.silentFrames;
                    if (!inSilence[c] && cc.runs.size() < 64)
                        cc.runs.push_back({k, 0});
                    if (!cc.runs.empty() && cc.runs.back().first + cc.runs.back().second == k)
                        ++cc.runs.back().second;
                    inSilence[c] = true;
                } else {
                    inSilence[c] = false;
                    if (!match && cc.mismatches++ == 0) {
                        cc.firstMismatch = k;
                        cc.firstMismatchValue = f[c];
                    }
                }
            }
        }
    }
    r.frames = k;
    sf_close(sf);
    return r;
}

} // namespace testing_rec
