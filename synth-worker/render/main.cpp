// chronus-render: renders a patch and a timed command script to an audio file, offline
// and faster than real time. Wires options, the renderer and the output file; the whole
// script is checked before the file is created, and the file appears only when complete.
#include "common/analysis.hpp"
#include "common/expected.hpp"
#include "model/describe.hpp"
#include "synth-worker/render/options.hpp"
#include "synth-worker/render/output_file.hpp"
#include "synth-worker/render/renderer.hpp"

#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>
#include <memory>
#include <optional>
#include <filesystem>
#include <sstream>
#include <string>

using namespace chronus;

namespace {

volatile std::sig_atomic_t stopRequested = 0;

void onStopSignal(int) { stopRequested = 1; }

// Prints one error line as it is and returns the exit status 1. Errors that name their
// file ("demo.txt:7: error: ...") stand alone; the others start with the program's name.
int printError(const std::string &line)
{
    std::fprintf(stderr, "%s\n", line.c_str());
    return 1;
}

std::string ownError(const std::string &message) { return "chronus-render: " + message; }

Expected<std::string> readFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail("cannot open " + path + ": " + std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad())
        return fail("cannot read " + path + ": " + std::strerror(errno));
    return s.str();
}

// The patch's input from an audio file whose first frame is engine frame `from`.
class InputFile {
public:
    static Expected<std::shared_ptr<InputFile>> open(const std::string &path, std::uint64_t from, double rate)
    {
        auto f = std::make_shared<InputFile>();
        f->file_ = sf_open(path.c_str(), SFM_READ, &f->info_);
        if (!f->file_)
            return fail("cannot read the input file " + path + ": " + sf_strerror(nullptr));
        if (f->info_.samplerate != static_cast<int>(rate))
            return fail("the input file " + path + " is at " + std::to_string(f->info_.samplerate) +
                        " Hz, the render at " + std::to_string(static_cast<int>(rate)) + " Hz");
        f->from_ = from;
        return f;
    }
    ~InputFile()
    {
        if (file_)
            sf_close(file_);
    }
    std::uint32_t channels() const { return static_cast<std::uint32_t>(std::min(info_.channels, 16)); }
    void read(std::uint64_t frame, std::uint32_t frames, float *const *out)
    {
        for (std::uint32_t c = 0; c < channels(); ++c)
            std::fill_n(out[c], frames, 0.0f);
        const std::uint64_t end = frame + frames;
        if (end <= from_ || frame >= from_ + std::uint64_t(info_.frames))
            return;
        const std::uint64_t start = std::max(frame, from_);
        const auto n = static_cast<std::uint32_t>(std::min(end, from_ + std::uint64_t(info_.frames)) - start);
        buffer_.resize(std::size_t{n} * std::size_t(info_.channels));
        sf_seek(file_, sf_count_t(start - from_), SEEK_SET);
        const auto got = static_cast<std::uint32_t>(sf_readf_float(file_, buffer_.data(), n));
        for (std::uint32_t i = 0; i < got; ++i)
            for (std::uint32_t c = 0; c < channels(); ++c)
                out[c][start - frame + i] = buffer_[std::size_t{i} * std::size_t(info_.channels) + c];
    }

private:
    SNDFILE *file_ = nullptr;
    SF_INFO info_{};
    std::uint64_t from_ = 0;
    std::vector<float> buffer_;
};

// The input a journal recorded: its "# input: PATH channels N from frame X" line (a path
// that is not there is looked for beside the journal).
std::optional<std::pair<std::string, std::uint64_t>> journalInput(const std::string &script, const std::string &path)
{
    std::istringstream lines(script);
    std::string line;
    while (std::getline(lines, line)) {
        const std::string key = "# input: ";
        if (line.rfind(key, 0) != 0)
            continue;
        const auto channels = line.find(" channels ");
        const auto from = line.find(" from frame ");
        if (channels == std::string::npos || from == std::string::npos)
            continue;
        std::string file = line.substr(key.size(), channels - key.size());
        if (!std::filesystem::exists(file))
            file = (std::filesystem::path(path).parent_path() / std::filesystem::path(file).filename()).string();
        return std::pair{file, std::stoull(line.substr(from + 12))};
    }
    return std::nullopt;
}

// The renderer's settings, with the patch and the script read and parsed. Errors are
// ready to print (see printError).
Expected<render::RenderConfig> loadJob(const render::Options &o)
{
    render::RenderConfig config;
    config.sampleRate = o.sampleRate;
    config.blockSize = o.blockSize;
    config.channels = o.channels;
    config.frames = static_cast<std::uint64_t>(std::llround(o.durationSeconds * o.sampleRate));
    if (!o.patchPath.empty()) {
        auto text = readFile(o.patchPath);
        if (!text)
            return fail(ownError(text.error()));
        auto spec = model::PatchSpec::fromJson(*text);
        if (!spec)
            return fail(o.patchPath + ": error: " + spec.error());
        config.patch = std::move(*spec);
        config.patchName = o.patchPath;
    }
    if (!o.scriptPath.empty()) {
        auto text = readFile(o.scriptPath);
        if (!text)
            return fail(ownError(text.error()));
        auto script = model::parseScript(*text, o.sampleRate, o.scriptPath);
        if (!script)
            return fail(script.error());
        config.script = std::move(*script);
        config.scriptName = o.scriptPath;
        if (o.inputPath.empty())
            if (auto recorded = journalInput(*text, o.scriptPath)) {
                auto input = InputFile::open(recorded->first, recorded->second, o.sampleRate);
                if (!input)
                    return fail(o.scriptPath + ": error: " + input.error());
                config.inputChannels = (*input)->channels();
                config.input = [file = *input](std::uint64_t f, std::uint32_t n, float *const *out) {
                    file->read(f, n, out);
                };
            }
    }
    if (!o.inputPath.empty()) {
        auto input = InputFile::open(o.inputPath, 0, o.sampleRate);
        if (!input)
            return fail(ownError(input.error()));
        config.inputChannels = (*input)->channels();
        config.input = [file = *input](std::uint64_t f, std::uint32_t n, float *const *out) { file->read(f, n, out); };
    }
    return config;
}

render::OutputFormat outputFormat(const render::Options &o, std::uint64_t frames)
{
    const std::string &s = o.sampleFormat;
    const int subtype = s == "float" ? SF_FORMAT_FLOAT
                        : s == "16"  ? SF_FORMAT_PCM_16
                        : s == "24"  ? SF_FORMAT_PCM_24
                                     : SF_FORMAT_PCM_32;
    const double bytes = double(frames) * o.channels * (s == "16" ? 2 : s == "24" ? 3 : 4);
    const int container = o.format == "flac" ? SF_FORMAT_FLAC : bytes > 4.0e9 ? SF_FORMAT_RF64 : SF_FORMAT_WAV;
    return {static_cast<int>(o.sampleRate), static_cast<int>(o.channels), container | subtype};
}

// "[#####     ]  42%" on stderr, redrawn when the percentage changes; only on a terminal.
class ProgressBar {
public:
    explicit ProgressBar(bool shown) : shown_(shown) {}
    void update(std::uint64_t done, std::uint64_t total)
    {
        const int percent = static_cast<int>(100 * done / std::max<std::uint64_t>(total, 1));
        if (!shown_ || percent == lastPercent_)
            return;
        lastPercent_ = percent;
        const int width = 40, filled = percent * width / 100;
        std::fprintf(stderr, "\r[%.*s%*s] %3d%%", filled, "########################################", width - filled,
                     "", percent);
        if (done == total)
            std::fputc('\n', stderr);
    }
    // Ends a bar left half-drawn, so an error message starts on its own line.
    void abandon()
    {
        if (shown_ && lastPercent_ >= 0 && lastPercent_ < 100)
            std::fputc('\n', stderr);
    }

private:
    bool shown_;
    int lastPercent_ = -1;
};

// Keeps the last kSeconds of the output for --analyze.
class Listener {
public:
    static constexpr double kSeconds = 120.0;
    Listener(bool on, double rate) : on_(on), rate_(rate), capacity_(on ? std::size_t(kSeconds * rate) : 0)
    {
        left_.resize(capacity_);
        right_.resize(capacity_);
    }
    void take(const float *const *planes, std::uint32_t channels, std::uint32_t frames)
    {
        for (std::uint32_t i = 0; on_ && i < frames; ++i, ++written_) {
            left_[written_ % capacity_] = planes[0][i];
            right_[written_ % capacity_] = planes[channels > 1 ? 1 : 0][i];
        }
    }
    void report() const
    {
        if (!on_)
            return;
        const std::size_t n = std::min<std::size_t>(written_, capacity_);
        std::vector<float> l(n), r(n);
        for (std::size_t i = 0; i < n; ++i) {
            l[i] = left_[(written_ - n + i) % capacity_];
            r[i] = right_[(written_ - n + i) % capacity_];
        }
        std::printf("%s\n", analysis::toJson(analysis::analyze(l.data(), r.data(), n, rate_), 2).c_str());
    }

private:
    bool on_;
    double rate_;
    std::size_t capacity_;
    std::vector<float> left_, right_;
    std::uint64_t written_ = 0;
};

} // namespace

int main(int argc, char **argv)
{
    auto options = render::parseOptions(argc, argv);
    if (!options)
        return options.exitStatus();
    if (!options->listModules.empty()) {
        const bool json = options->listModules == "json";
        std::fputs((json ? model::catalogueJson(2) + "\n" : model::catalogueMarkdown()).c_str(), stdout);
        return 0;
    }
    auto config = loadJob(*options);
    if (!config)
        return printError(config.error());
    // Every command is checked before the output file exists.
    auto warn = [quiet = options->quiet](const std::string &warning) {
        if (!quiet)
            std::fprintf(stderr, "%s\n", warning.c_str());
    };
    auto renderer = render::Renderer::prepare(*config, warn);
    if (!renderer)
        return printError(renderer.error());
    auto file = render::OutputFile::open(options->outPath, outputFormat(*options, config->frames));
    if (!file)
        return printError(ownError(file.error()));

    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    Listener ears(options->analyze, options->sampleRate);
    auto sink = [&](const float *const *planes, std::uint32_t frames) -> Expected<void> {
        if (stopRequested)
            return fail("interrupted; no output written");
        ears.take(planes, options->channels, frames);
        return (*file)->write(planes, frames);
    };
    ProgressBar bar(!options->quiet && isatty(STDERR_FILENO));
    auto result = renderer->run(sink, [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
    if (result)
        result = (*file)->commit();
    if (!result) {
        bar.abandon();
        printError(ownError(result.error()));
        return stopRequested ? 130 : 1;
    }
    std::printf("%s\n", options->outPath.c_str());
    ears.report();
    return 0;
}
