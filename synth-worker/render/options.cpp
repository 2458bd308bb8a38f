#include "synth-worker/render/options.hpp"

namespace chronus::render {

namespace {

const char *kSynopsis = "chronus-render [--patch FILE.json] [--script FILE] --duration SECONDS -o OUT.wav [options]";

const char *kDescription = R"(Renders a Chronus patch and a timed command script offline, bit-identical to the live
suite's output for the same commands. The whole script is checked before the output file
is created, and the file appears only when it is complete.)";

const char *kNotes = R"(Exit status: 0 done, 1 the patch, the script or the output file failed (the message
names the file and line), 2 usage, 130 interrupted (no output written).)";

using P = cli::Parsed<Options>;

} // namespace

cli::Parsed<Options> parseOptions(int argc, char **argv)
{
    Options o;
    cli::CommandLine cl("chronus-render", kSynopsis, kDescription, kNotes);
    cl.value("-p,--patch", "FILE", o.patchPath, "patch file (JSON, see README); optional: a script can build the patch",
             "a file");
    cl.value("-s,--script", "FILE", o.scriptPath,
             "one command per line: <seconds|@frame> <OSC address> <args...>\n(# starts a comment; \"quoted\" args "
             "are strings)",
             "a file");
    auto duration = cl.value("-d,--duration", "S", o.durationSeconds, "seconds to render (required)",
                              "seconds between 0 and 86400",
                              cli::Accept<double>([](double s) { return s > 0 && s <= 86400; }));
    cl.value("-o,--output", "F", o.outPath, "output file (required)", "a file");
    cl.value("-r,--sample-rate", "R", o.sampleRate, "frames per second (default 48000)",
             "a rate between 8000 and 768000", cli::between(8000.0, 768000.0));
    cl.value("-b,--block-size", "N", o.blockSize, "frames per engine call (default 256; output does not depend on it)",
             "1..65536 frames", cli::between(1u, 65536u));
    cl.value("-f,--format", "F", o.format, "wav (default; RF64 automatically past 4 GiB) or flac", "wav or flac",
             cli::oneOf({"wav", "flac"}));
    cl.value("--sample-format", "S", o.sampleFormat, "float (default for wav), 16, 24 (default for flac) or 32",
             "float, 16, 24 or 32", cli::oneOf({"float", "16", "24", "32"}));
    cl.value("-c,--channels", "N", o.channels,
             "output channels (default 2; 1 is the mix (L+R)/2; channels\npast 2 are silent)", "1..64",
             cli::between(1u, 64u));
    cl.flag("-q,--quiet", o.quiet, "no progress bar and no warnings (errors are still printed)");
    cl.value("--input", "FILE", o.inputPath,
             "audio the patch's input nodes read, from frame 0 (WAV, FLAC, ...;\nat the render's rate); a "
             "journal's own recorded input (its\n'# input:' line) is read without it", "an audio file");
    cl.flag("--analyze", o.analyze,
            "after the path, print what the output sounds like as JSON (loudness,\npeaks, spectrum, pitch, "
            "onsets, width; of its last 2 minutes),\nas the supervisor's /analyze does for what it played");
    cl.value("--list-modules", "[json|markdown]", o.listModules, "print the module catalogue (default markdown) and exit",
             "json or markdown", cli::oneOf({"json", "markdown"}))
        .valueOptional("markdown");
    if (auto status = cl.parse(argc, argv))
        return P::exit(*status);
    if (!o.listModules.empty())
        return o;
    if (!duration.given())
        return P::exit(cl.usageError("--duration is required"));
    if (o.outPath.empty())
        return P::exit(cl.usageError("-o OUT.wav is required"));
    if (o.sampleFormat.empty())
        o.sampleFormat = o.format == "flac" ? "24" : "float";
    if (o.format == "flac" && (o.sampleFormat == "float" || o.sampleFormat == "32"))
        return P::exit(cl.usageError("FLAC holds 16 or 24 bit samples; use --sample-format 16 or 24"));
    return o;
}

} // namespace chronus::render
