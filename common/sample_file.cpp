#include "common/sample_file.hpp"

#include <samplerate.h>
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace chronus::samples {

namespace {

std::string hashOf(const std::vector<float> &interleaved, std::uint32_t channels, double rate)
{
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const void *data, std::size_t size) {
        const auto *p = static_cast<const unsigned char *>(data);
        for (std::size_t i = 0; i < size; ++i) {
            h ^= p[i];
            h *= 1099511628211ull;
        }
    };
    mix(&channels, sizeof channels);
    mix(&rate, sizeof rate);
    mix(interleaved.data(), interleaved.size() * sizeof(float));
    char text[40];
    std::snprintf(text, sizeof text, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
    return text;
}

} // namespace

Expected<SampleData> load(const std::string &path, double rate, std::size_t maxBytes)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return fail("'" + path + "' is not a readable file");
    SF_INFO info{};
    SNDFILE *file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file)
        return fail("'" + path + "' is not an audio file libsndfile can read (" + sf_strerror(nullptr) + ")");
    const auto bytes = static_cast<double>(info.frames) * info.channels * sizeof(float);
    if (info.channels <= 0 || info.frames <= 0) {
        sf_close(file);
        return fail("'" + path + "' holds no audio");
    }
    if (bytes > double(maxBytes)) {
        sf_close(file);
        return fail("'" + path + "' is too large: " + std::to_string(std::llround(bytes / 1048576.0)) +
                    " MiB of samples, at most " + std::to_string(maxBytes / 1048576) + " MiB");
    }
    std::vector<float> interleaved(std::size_t(info.frames) * std::size_t(info.channels));
    const sf_count_t got = sf_readf_float(file, interleaved.data(), info.frames);
    sf_close(file);
    if (got != info.frames)
        return fail("'" + path + "' ended early (read " + std::to_string(got) + " of " + std::to_string(info.frames) +
                    " frames)");
    SampleData d;
    d.channels = std::uint32_t(info.channels);
    d.fileRate = info.samplerate;
    d.hash = hashOf(interleaved, d.channels, d.fileRate);
    d.rate = rate > 0.0 ? rate : d.fileRate;
    if (d.rate != d.fileRate) {
        // libsamplerate's best sinc converter: the same input gives the same output everywhere.
        const double ratio = d.rate / d.fileRate;
        std::vector<float> out(std::size_t(std::ceil(double(info.frames) * ratio)) * d.channels + d.channels);
        SRC_DATA src{};
        src.data_in = interleaved.data();
        src.input_frames = long(info.frames);
        src.data_out = out.data();
        src.output_frames = long(out.size() / d.channels);
        src.src_ratio = ratio;
        if (const int err = src_simple(&src, SRC_SINC_BEST_QUALITY, int(d.channels)); err != 0)
            return fail("'" + path + "': cannot resample: " + src_strerror(err));
        out.resize(std::size_t(src.output_frames_gen) * d.channels);
        interleaved = std::move(out);
    }
    d.frames = interleaved.size() / d.channels;
    d.samples.resize(interleaved.size());
    for (std::uint64_t i = 0; i < d.frames; ++i)
        for (std::uint32_t c = 0; c < d.channels; ++c)
            d.samples[c * d.frames + i] = interleaved[i * d.channels + c];
    return d;
}

} // namespace chronus::samples
