// chronus-render: renders a patch and a timed command script to an audio file, offline
// and faster than real time. Wires options, the renderer and a libsndfile writer.
#include "describe.hpp"
#include "parse.hpp"
#include "renderer.hpp"

#include <sndfile.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

const char *kUsage = R"(usage: chronus-render [--patch FILE.json] [--script FILE] --duration SECONDS -o OUT.wav
                     [--sample-rate 48000] [--block-size 256] [--format wav|flac]
                     [--sample-format float|16|24|32] [--channels 2] [--quiet]

Renders a Chronus patch and a timed command script offline, bit-identical to the live
suite's output for the same commands.

  --patch FILE      patch file (JSON, see README); optional: a script can build the patch
  --script FILE     one command per line: <seconds|@frame> <OSC address> <args...>
                    (# starts a comment; "quoted" args are strings)
  --duration S      seconds to render (required)
  -o, --output F    output file (required)
  --sample-rate R   frames per second (default 48000)
  --block-size N    frames per engine call (default 256; output does not depend on it)
  --format F        wav (default; RF64 automatically past 4 GiB) or flac
  --sample-format   float (default for wav), 16, 24 (default for flac) or 32
  --channels N      output channels (default 2; channels past 2 are silent)
  --quiet           no progress bar
  --list-modules [json|markdown]
                    print the module catalogue and exit
)";

int usageError(const std::string &message)
{
    std::fprintf(stderr, "chronus-render: %s\n(try --help)\n", message.c_str());
    return 2;
}

std::string readFile(const std::string &path, bool &ok)
{
    std::ifstream in(path, std::ios::binary);
    ok = static_cast<bool>(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

int main(int argc, char **argv)
{
    using namespace chronus;
    std::string patchPath, scriptPath, outPath, format = "wav", sampleFormat;
    double duration = -1, sampleRate = 48000;
    unsigned blockSize = 256, channels = 2;
    bool quiet = false;

    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](std::string &out) {
            if (i + 1 >= argc)
                return false;
            out = argv[++i];
            return true;
        };
        std::string v;
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--list-modules") {
            const std::string as = i + 1 < argc ? argv[i + 1] : "markdown";
            if (as != "json" && as != "markdown")
                return usageError("--list-modules takes json or markdown");
            std::fputs((as == "json" ? engine::catalogueJson(2) + "\n" : engine::catalogueMarkdown()).c_str(), stdout);
            return 0;
        } else if (arg == "--quiet" || arg == "-q") {
            quiet = true;
        } else if (arg == "--patch" || arg == "-p") {
            if (!value(patchPath))
                return usageError("--patch needs a file");
        } else if (arg == "--script" || arg == "-s") {
            if (!value(scriptPath))
                return usageError("--script needs a file");
        } else if (arg == "-o" || arg == "--output") {
            if (!value(outPath))
                return usageError("-o needs a file");
        } else if (arg == "--duration" || arg == "-d") {
            if (!value(v) || !chronus::parseWhole(v, duration) || !(duration > 0) || duration > 86400)
                return usageError("--duration needs seconds between 0 and 86400");
        } else if (arg == "--sample-rate" || arg == "-r") {
            if (!value(v) || !chronus::parseWhole(v, sampleRate) || sampleRate < 8000 || sampleRate > 768000)
                return usageError("--sample-rate needs a rate between 8000 and 768000");
        } else if (arg == "--block-size" || arg == "-b") {
            if (!value(v) || !chronus::parseWhole(v, blockSize) || blockSize < 1 || blockSize > 65536)
                return usageError("--block-size needs 1..65536 frames");
        } else if (arg == "--channels" || arg == "-c") {
            if (!value(v) || !chronus::parseWhole(v, channels) || channels < 1 || channels > 64)
                return usageError("--channels needs 1..64");
        } else if (arg == "--format" || arg == "-f") {
            if (!value(format) || (format != "wav" && format != "flac"))
                return usageError("--format is wav or flac");
        } else if (arg == "--sample-format") {
            if (!value(sampleFormat) ||
                (sampleFormat != "float" && sampleFormat != "16" && sampleFormat != "24" && sampleFormat != "32"))
                return usageError("--sample-format is float, 16, 24 or 32");
        } else {
            return usageError("unknown option '" + arg + "'");
        }
    }
    if (duration < 0)
        return usageError("--duration is required");
    if (outPath.empty())
        return usageError("-o OUT.wav is required");
    if (sampleFormat.empty())
        sampleFormat = format == "flac" ? "24" : "float";
    if (format == "flac" && (sampleFormat == "float" || sampleFormat == "32"))
        return usageError("FLAC holds 16 or 24 bit samples; use --sample-format 16 or 24");

    render::RenderOptions options;
    options.sampleRate = sampleRate;
    options.blockSize = blockSize;
    options.channels = channels;
    options.frames = static_cast<std::uint64_t>(std::llround(duration * sampleRate));
    bool ok = false;
    if (!patchPath.empty()) {
        const std::string text = readFile(patchPath, ok);
        if (!ok)
            return usageError("cannot read patch file '" + patchPath + "'");
        auto spec = engine::PatchSpec::fromJson(text);
        if (!spec) {
            std::fprintf(stderr, "chronus-render: %s: %s\n", patchPath.c_str(), spec.error().c_str());
            return 1;
        }
        options.patch = std::move(*spec);
    }
    if (!scriptPath.empty()) {
        const std::string text = readFile(scriptPath, ok);
        if (!ok)
            return usageError("cannot read script '" + scriptPath + "'");
        auto script = engine::parseScript(text, sampleRate);
        if (!script) {
            std::fprintf(stderr, "chronus-render: %s: %s\n", scriptPath.c_str(), script.error().c_str());
            return 1;
        }
        options.script = std::move(*script);
    }

    SF_INFO info{};
    info.samplerate = static_cast<int>(sampleRate);
    info.channels = static_cast<int>(channels);
    const int subtype = sampleFormat == "float" ? SF_FORMAT_FLOAT
                        : sampleFormat == "16"  ? SF_FORMAT_PCM_16
                        : sampleFormat == "24"  ? SF_FORMAT_PCM_24
                                                : SF_FORMAT_PCM_32;
    const double bytes = double(options.frames) * channels * (sampleFormat == "16" ? 2 : sampleFormat == "24" ? 3 : 4);
    const int container = format == "flac" ? SF_FORMAT_FLAC : bytes > 4.0e9 ? SF_FORMAT_RF64 : SF_FORMAT_WAV;
    info.format = container | subtype;
    SNDFILE *file = sf_open(outPath.c_str(), SFM_WRITE, &info);
    if (!file) {
        std::fprintf(stderr, "chronus-render: cannot write '%s': %s\n", outPath.c_str(), sf_strerror(nullptr));
        return 1;
    }
    if (subtype != SF_FORMAT_FLOAT)
        sf_command(file, SFC_SET_CLIPPING, nullptr, SF_TRUE);

    std::vector<float> interleaved(std::size_t(blockSize) * channels);
    auto sink = [&](const float *const *planes, std::uint32_t frames) -> Expected<void> {
        for (std::uint32_t i = 0; i < frames; ++i)
            for (std::uint32_t c = 0; c < channels; ++c)
                interleaved[std::size_t(i) * channels + c] = planes[c][i];
        if (sf_writef_float(file, interleaved.data(), frames) != frames)
            return fail(std::string("write failed: ") + sf_strerror(file));
        return {};
    };
    const bool bar = !quiet && isatty(STDERR_FILENO);
    int lastPercent = -1;
    auto progress = [&](std::uint64_t done, std::uint64_t total) {
        const int percent = static_cast<int>(100 * done / std::max<std::uint64_t>(total, 1));
        if (!bar || percent == lastPercent)
            return;
        lastPercent = percent;
        const int width = 40, filled = percent * width / 100;
        std::fprintf(stderr, "\r[%.*s%*s] %3d%%", filled, "########################################",
                     width - filled, "", percent);
        if (done == total)
            std::fputc('\n', stderr);
    };
    auto result = render::render(options, sink, progress);
    sf_close(file);
    if (!result) {
        std::fprintf(stderr, "%schronus-render: %s\n", bar ? "\n" : "",
                     (scriptPath.empty() ? result.error() : scriptPath + ": " + result.error()).c_str());
        return 1;
    }
    std::printf("%s\n", outPath.c_str());
    return 0;
}
