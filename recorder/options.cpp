#include "recorder/options.hpp"

#include <cstdlib>

namespace chronus::rec {

std::string usage()
{
    return R"(usage: chronus-recorder [options]
Records JACK ports to disk without losing a frame; controlled by OSC (UDP and TCP).

  --osc-port N            OSC port for UDP and TCP (default 5006)
  --osc-host HOST         127.0.0.1 (default) accepts local senders only; 0.0.0.0 accepts all
  --channels N            number of inputs in_1..N (default 2, or the number of --port names)
  --port PATTERN...       source ports to follow: names or globs (default chronus:out_*)
  --dir DIR               recordings directory (default ./recordings)
  --format F              wav | rf64 | w64 | flac | ogg (default wav; wav rotates before 4 GiB)
  --sample-format S       float | 16 | 24 | 32 (default float)
  --ring-seconds S        ring size in seconds (default 8)
  --preroll S             keep S seconds of history; takes start S seconds early
  --max-seconds S         end every take after exactly S seconds
  --split-frames N        rotate files every N frames (take_0001.wav, take_0002.wav, ...)
  --split-size BYTES      rotate files before they exceed BYTES, header included
                          (wav, rf64, w64; for flac and ogg use --split-frames)
  --client-name NAME      JACK client name (default chronus-recorder)
  --jack-server NAME      JACK server name (default $JACK_DEFAULT_SERVER or default)
  --help                  this text

OSC: /record/start [file] [format] [seconds], /record/stop, /record/status, /record/split,
     /record/preroll <seconds>, /ping. Replies go to the sender: /done <address> ... or
     /fail <address> <reason>.

Under systemd (Type=notify) it reports READY=1 once JACK and OSC serve, and feeds the
watchdog only while JACK runs its process callback (not after 2 s without one, unless
JACK freewheels). When the JACK server goes away it finalizes the take and exits 1.
)";
}

namespace {
bool toDouble(const std::string &s, double &out)
{
    char *end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return !s.empty() && end && *end == '\0' && out >= 0;
}
bool toUnsigned(const std::string &s, std::uint64_t &out)
{
    char *end = nullptr;
    if (s.empty() || s[0] == '-')
        return false;
    out = std::strtoull(s.c_str(), &end, 10);
    return end && *end == '\0';
}
} // namespace

Expected<Options> parseOptions(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string &out) -> bool {
            if (i + 1 >= argc)
                return false;
            out = argv[++i];
            return true;
        };
        std::string v;
        std::uint64_t u = 0;
        double d = 0;
        if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--osc-port") {
            if (!value(v) || !toUnsigned(v, u) || u == 0 || u > 65535)
                return fail("--osc-port needs a port number between 1 and 65535");
            o.oscPort = int(u);
        } else if (a == "--osc-host") {
            if (!value(o.oscHost))
                return fail("--osc-host needs a host");
        } else if (a == "--channels") {
            if (!value(v) || !toUnsigned(v, u) || u < 1 || u > 1024)
                return fail("--channels needs a number between 1 and 1024");
            o.channels = std::size_t(u);
            o.channelsGiven = true;
        } else if (a == "--port") {
            if (i + 1 >= argc)
                return fail("--port needs at least one port name or pattern");
            while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0)
                o.ports.emplace_back(argv[++i]);
        } else if (a == "--dir") {
            if (!value(o.dir))
                return fail("--dir needs a directory");
        } else if (a == "--format") {
            if (!value(v))
                return fail("--format needs wav, rf64, w64, flac or ogg");
            auto c = parseContainer(v);
            if (!c)
                return fail("--format: " + c.error());
            o.format.container = *c;
        } else if (a == "--sample-format") {
            if (!value(v))
                return fail("--sample-format needs float, 16, 24 or 32");
            auto s = parseSampleFormat(v);
            if (!s)
                return fail("--sample-format: " + s.error());
            o.format.sample = *s;
        } else if (a == "--ring-seconds") {
            if (!value(v) || !toDouble(v, d) || d < 0.1 || d > 3600)
                return fail("--ring-seconds needs a number of seconds between 0.1 and 3600");
            o.ringSeconds = d;
        } else if (a == "--preroll") {
            if (!value(v) || !toDouble(v, d) || d > 3600)
                return fail("--preroll needs a number of seconds");
            o.prerollSeconds = d;
        } else if (a == "--max-seconds") {
            if (!value(v) || !toDouble(v, d))
                return fail("--max-seconds needs a number of seconds");
            o.maxSeconds = d;
        } else if (a == "--split-frames") {
            if (!value(v) || !toUnsigned(v, u) || u == 0)
                return fail("--split-frames needs a positive frame count");
            o.splitFrames = u;
        } else if (a == "--split-size") {
            if (!value(v) || !toUnsigned(v, u) || u < 4096)
                return fail("--split-size needs a byte count of at least 4096");
            o.splitBytes = u;
        } else if (a == "--client-name") {
            if (!value(o.clientName) || o.clientName.empty() || o.clientName.size() > 63)
                return fail("--client-name needs a name of 1 to 63 characters");
        } else if (a == "--jack-server") {
            if (!value(o.jackServer))
                return fail("--jack-server needs a server name");
        } else {
            return fail("unknown option '" + a + "' (see --help)");
        }
    }
    if (!o.channelsGiven && !o.ports.empty()) {
        bool allNames = true;
        for (const auto &p : o.ports)
            allNames = allNames && p.find_first_of("*?") == std::string::npos;
        if (allNames)
            o.channels = o.ports.size();
    }
    // Formats that cannot do what was asked fail here, not at the first take.
    const bool compressed = o.format.container == Container::Flac || o.format.container == Container::Ogg;
    if (o.splitBytes && compressed)
        return fail("--split-size cannot hold " + nameOf(o.format.container) +
                    " files to a size (compressed sizes are known only after encoding); use --split-frames");
    if (o.format.container == Container::Flac && o.channels > 8)
        return fail("--format flac holds at most 8 channels (libsndfile); use wav, rf64 or w64 for " +
                    std::to_string(o.channels));
    if (o.format.container == Container::Ogg && o.channels > kMaxOggChannels)
        return fail("--format ogg holds at most " + std::to_string(kMaxOggChannels) + " channels (Vorbis); use wav, rf64 or w64 for " +
                    std::to_string(o.channels));
    // The ring must hold the pre-roll history and still leave room for disk stalls.
    if (o.prerollSeconds > 0 && o.ringSeconds < o.prerollSeconds + 4)
        o.ringSeconds = o.prerollSeconds + 4;
    return o;
}

} // namespace chronus::rec
