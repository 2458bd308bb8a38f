// chronus-render: renders a patch and a timed command script to an audio file, offline
// and faster than real time. Wires options, the renderer and the output file; the whole
// script is checked before the file is created, and the file appears only when complete.
#include "model/describe.hpp"
#include "synth-worker/render/output_file.hpp"
#include "common/parse.hpp"
#include "synth-worker/render/renderer.hpp"

#include <sndfile.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

using chronus::Expected;
using chronus::fail;

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
  --channels N      output channels (default 2; 1 is the mix (L+R)/2; channels
                    past 2 are silent)
  --quiet           no progress bar and no warnings (errors are still printed)
  --list-modules [json|markdown]
                    print the module catalogue and exit
)";

int usageError(const std::string &message)
{
    std::fprintf(stderr, "chronus-render: %s\n(try --help)\n", message.c_str());
    return 2;
}

// A failure that is not the command line's fault.
int runtimeError(const std::string &message)
{
    std::fprintf(stderr, "chronus-render: %s\n", message.c_str());
    return 1;
}

// An error that already names its file and line ("demo.txt:7: error: ...").
int located(const std::string &message)
{
    std::fprintf(stderr, "%s\n", message.c_str());
    return 1;
}

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

volatile std::sig_atomic_t stopRequested = 0;

void onStopSignal(int) { stopRequested = 1; }

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
            std::fputs((as == "json" ? model::catalogueJson(2) + "\n" : model::catalogueMarkdown()).c_str(), stdout);
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
    if (!patchPath.empty()) {
        auto text = readFile(patchPath);
        if (!text)
            return runtimeError(text.error());
        auto spec = model::PatchSpec::fromJson(*text);
        if (!spec)
            return located(patchPath + ": error: " + spec.error());
        options.patch = std::move(*spec);
        options.patchName = patchPath;
    }
    if (!scriptPath.empty()) {
        auto text = readFile(scriptPath);
        if (!text)
            return runtimeError(text.error());
        auto script = model::parseScript(*text, sampleRate, scriptPath);
        if (!script)
            return located(script.error());
        options.script = std::move(*script);
        options.scriptName = scriptPath;
    }
    // Every command is checked before the output file exists.
    auto warn = [&](const std::string &warning) {
        if (!quiet)
            std::fprintf(stderr, "%s\n", warning.c_str());
    };
    auto renderer = render::Renderer::prepare(options, warn);
    if (!renderer)
        return located(renderer.error());

    const int subtype = sampleFormat == "float" ? SF_FORMAT_FLOAT
                        : sampleFormat == "16"  ? SF_FORMAT_PCM_16
                        : sampleFormat == "24"  ? SF_FORMAT_PCM_24
                                                : SF_FORMAT_PCM_32;
    const double bytes = double(options.frames) * channels * (sampleFormat == "16" ? 2 : sampleFormat == "24" ? 3 : 4);
    const int container = format == "flac" ? SF_FORMAT_FLAC : bytes > 4.0e9 ? SF_FORMAT_RF64 : SF_FORMAT_WAV;
    auto file = render::OutputFile::open(outPath, {static_cast<int>(sampleRate), static_cast<int>(channels), container | subtype});
    if (!file)
        return runtimeError(file.error());

    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    auto sink = [&](const float *const *planes, std::uint32_t frames) -> Expected<void> {
        if (stopRequested)
            return fail("interrupted; no output written");
        return (*file)->write(planes, frames);
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
    auto result = renderer->run(sink, progress);
    if (result)
        result = (*file)->commit();
    if (!result) {
        if (bar && lastPercent >= 0 && lastPercent < 100)
            std::fputc('\n', stderr);
        runtimeError(result.error());
        return stopRequested ? 130 : 1;
    }
    std::printf("%s\n", outPath.c_str());
    return 0;
}
