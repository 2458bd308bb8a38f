#include "recorder/options.hpp"

#include "common/osc.hpp"

namespace chronus::rec {

namespace {

const char *kDescription = "Records JACK ports to disk without losing a frame; controlled by OSC (UDP and TCP).";

const char *kNotes = R"(OSC: /record/start [file] [format] [seconds], /record/stop, /record/status, /record/split,
     /record/preroll <seconds>, /ping. Replies go to the sender: /done <address> ... or
     /fail <address> <reason>.

Inputs: in_1..N take the leading --port names in order, then the ports matching the
patterns (pattern order, natural order within one) as they appear. An input keeps its port
for as long as the recorder runs: when that port goes away the input records silence,
declared per channel in the sidecar ("input_gaps") and in /record/status (source_N,
no_source_frames_N), and the port is connected again when a port of that name returns.

Under systemd (Type=notify) it reports READY=1 once JACK and OSC serve, and feeds the
watchdog only while JACK runs its process callback (not after 2 s without one, unless
JACK freewheels). When the JACK server goes away it finalizes the take and exits 1.
Under a Non Session Manager (NSM_URL set) it registers no JACK client before the session
opens; then the client id is the JACK client name and the session directory the
recordings directory.)";

// Options that must fit together; checked here so a take never fails for them later.
Expected<void> checkCombination(Options &o, bool channelsGiven)
{
    if (!channelsGiven && !o.ports.empty()) {
        bool allNames = true;
        for (const auto &p : o.ports)
            allNames = allNames && p.find_first_of("*?") == std::string::npos;
        if (allNames)
            o.channels = o.ports.size();
    }
    const bool compressed = o.format.container == Container::Flac || o.format.container == Container::Ogg;
    if (o.splitBytes && compressed)
        return fail("--split-size cannot hold " + nameOf(o.format.container) +
                    " files to a size (compressed sizes are known only after encoding); use --split-frames");
    if (o.format.container == Container::Flac && o.channels > 8)
        return fail("--format flac holds at most 8 channels (libsndfile); use wav, rf64 or w64 for " +
                    std::to_string(o.channels));
    if (o.format.container == Container::Ogg && o.channels > kMaxOggChannels)
        return fail("--format ogg holds at most " + std::to_string(kMaxOggChannels) +
                    " channels (Vorbis); use wav, rf64 or w64 for " + std::to_string(o.channels));
    // The ring must hold the pre-roll history and still leave room for disk stalls.
    if (o.prerollSeconds > 0 && o.ringSeconds < o.prerollSeconds + 4)
        o.ringSeconds = o.prerollSeconds + 4;
    return {};
}

} // namespace

cli::Parsed<Options> parseOptions(int argc, char **argv)
{
    Options o;
    cli::CommandLine cl("chronus-recorder", "chronus-recorder [options]", kDescription, kNotes);
    cl.value("--osc-port", "N", o.oscPort, "OSC port for UDP and TCP (default 5006)",
             "a port number between 1 and 65535", cli::between(1, 65535));
    cl.value("--osc-host", "HOST", o.oscHost,
             "kept for compatibility: every interface listens, --allow says who\nis heard", "a host");
    cl.value("--allow", "CIDR,...", o.allow,
             "the senders listened to, as IPv4 networks (default 127.0.0.0/8)", "CIDR[,CIDR...]",
             cli::Accept<std::string>([](const std::string &text) { return bool(osc::AllowList::parse(text)); }))
        .env("CHRONUS_ALLOW");
    auto channels = cl.value("--channels", "N", o.channels,
                              "number of inputs in_1..N (default 2, or the number of --port names)",
                              "a number between 1 and 1024", cli::between<std::size_t>(1, 1024));
    cl.list("--port", "PATTERN", o.ports,
            "source ports to follow: names or globs (default chronus:out_*);\neach input keeps the port it is "
            "bound to while the recorder runs",
            "at least one port name or pattern");
    cl.value("--clock", "PORT", o.clock,
             "place every cycle at the timeline frame this port carries\n(chronus:clock: a take in the journal's "
             "frames) instead of JACK's frame time",
             "a port name");
    cl.value("--dir", "DIR", o.dir, "recordings directory (default ./recordings)", "a directory");
    cl.converted<Container>("--format", "F", o.format.container,
                            "wav | rf64 | w64 | flac | ogg (default wav; wav rotates before 4 GiB)",
                            "wav, rf64, w64, flac or ogg", parseContainer);
    cl.converted<SampleFormat>("--sample-format", "S", o.format.sample, "float | 16 | 24 | 32 (default float)",
                               "float, 16, 24 or 32", parseSampleFormat);
    cl.value("--ring-seconds", "S", o.ringSeconds, "ring size in seconds (default 8)",
             "a number of seconds between 0.1 and 3600", cli::between(0.1, 3600.0));
    cl.value("--preroll", "S", o.prerollSeconds, "keep S seconds of history; takes start S seconds early",
             "a number of seconds", cli::between(0.0, 3600.0));
    cl.value("--max-seconds", "S", o.maxSeconds, "end every take after exactly S seconds", "a number of seconds",
             cli::Accept<double>([](double s) { return s >= 0; }));
    cl.value("--split-frames", "N", o.splitFrames, "rotate files every N frames (take_0001.wav, take_0002.wav, ...)",
             "a positive frame count", cli::Accept<std::uint64_t>([](std::uint64_t n) { return n > 0; }));
    cl.value("--split-size", "BYTES", o.splitBytes,
             "rotate files before they exceed BYTES, header included\n(wav, rf64, w64; for flac and ogg use "
             "--split-frames)",
             "a byte count of at least 4096", cli::Accept<std::uint64_t>([](std::uint64_t n) { return n >= 4096; }));
    cl.value("--client-name", "NAME", o.clientName, "JACK client name (default chronus-recorder)",
             "a name of 1 to 63 characters", cli::name(63));
    cl.value("--jack-server", "NAME", o.jackServer, "JACK server name (default \"default\")", "a server name")
        .env("JACK_DEFAULT_SERVER");
    if (auto status = cl.parse(argc, argv))
        return cli::Parsed<Options>::exit(*status);
    if (auto fits = checkCombination(o, channels.given()); !fits)
        return cli::Parsed<Options>::exit(cl.usageError(fits.error()));
    return o;
}

} // namespace chronus::rec
