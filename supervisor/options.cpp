#include "supervisor/options.hpp"

#include "common/osc.hpp"

#include "supervisor/live_state.hpp"

#include "supervisor/control_surface.hpp"

#include <fstream>
#include <sstream>

#include <unistd.h>

namespace chronus::supervisor {

namespace {

const char *kSynopsis = "chronus-supervisor [options]";

const char *kDescription = R"(Plays two lockstep chronus-synth-worker processes through the JACK client "chronus"
(ports out_L, out_R) and switches to the standby inside the same JACK cycle when the
active worker crashes, hangs or emits NaN/Inf. Controlled by OSC over UDP and TCP.)";

const char *kNotes = R"(Under systemd (Type=notify) it reports READY=1 once OSC is served and the workers play,
its state as STATUS=, and feeds the watchdog only while JACK runs its process callback.
Under a Non Session Manager (NSM_URL set) it registers no JACK client before the session
opens; then the client id is the JACK client name (and the instance unless --instance is
given), the session directory the patch directory, and <session>/patch.json the patch it
loads and what /nsm/client/save writes.)";

using P = cli::Parsed<Options>;

std::string dirOf(const std::string &path)
{
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The worker binary when neither --worker nor $CHRONUS_WORKER names it: next to us
// (installed), or where the build tree puts it.
std::string workerNextToUs()
{
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return "chronus-synth-worker";
    self[n] = '\0';
    const std::string dir = dirOf(self);
    for (const std::string &candidate :
         {dir + "/chronus-synth-worker", dir + "/../synth-worker/worker/chronus-synth-worker"})
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    return dir + "/chronus-synth-worker";
}

// Options whose presence matters beyond their value.
struct Presence {
    cli::Option instance;
    cli::Option noConnect;
};

Presence declareOptions(cli::CommandLine &cl, Options &o)
{
    cl.value("--osc-host", "H", o.oscHost, "127.0.0.1 (default) or 0.0.0.0; who is heard is --allow's to say",
             "127.0.0.1 (local only) or 0.0.0.0 (all interfaces)",
             cli::oneOf({"127.0.0.1", "localhost", "0.0.0.0", "*"}))
        .env("CHRONUS_OSC_HOST");
    cl.value("--allow", "CIDR,...", o.allow,
             "the senders listened to, as IPv4 networks (default 127.0.0.0/8:\nthis machine only; e.g. "
             "127.0.0.0/8,192.168.1.0/24); others are\nignored, counted in /status and logged once each",
             "CIDR[,CIDR...]",
             cli::Accept<std::string>([](const std::string &text) { return bool(osc::AllowList::parse(text)); }))
        .env("CHRONUS_ALLOW");
    cl.value("--osc-port", "N", o.oscPort, "UDP and TCP port (default 5005)", "a port number",
             cli::between(0, 65535))
        .env("CHRONUS_OSC_PORT");
    auto instance = cl.value("--instance", "NAME", o.instance, "instance name; one per machine (default \"default\")",
             "a name of up to 40 characters without '/', ':' or spaces", cli::name(40, "/ \t:"));
    cl.value("--lookahead", "L|auto", o.lookaheadSpec,
             "periods the workers render ahead (default 2; 1 for the lowest latency\nwhen JACK runs real-time and "
             "never skips a worker's cycle), or auto:\nfrom 2, a period more when a block was nearly late, a period "
             "less\nafter a calm spell (audio input and MIDI keep the delay of the most)",
             "1..8 periods or auto", cli::Accept<std::string>([](const std::string &text) {
                 return text == "auto" || (text.size() == 1 && text[0] >= '1' && text[0] <= '8');
             }));
    cl.value("--lookahead-max", "L", o.lookaheadMax, "with --lookahead auto, the most it grows to (default 4)",
             "2..8 periods", cli::between(2u, 8u));
    cl.value("--lookahead-calm", "S", o.lookaheadCalmSeconds,
             "with --lookahead auto, seconds of a wide margin before it shrinks\nby a period (default 30)",
             "0.5..3600 seconds", cli::between(0.5, 3600.0));
    cl.value("--channels", "N", o.channels, "output channels (default 2)", "1..16", cli::between(1u, 16u));
    cl.value("--inputs", "N", o.inputs,
             "input ports chronus:in_1..N, read by the patch's input nodes\n(default 2; 0 for none)", "0..16",
             cli::between(0u, 16u));
    cl.value("--stems", "N", o.stems,
             "nodes whose output may also go out on ports of their own,\nchronus:stem_<node>_L/R (/stem; default 4, "
             "0..7; each costs the\nworkers and the supervisor two channels more per block)",
             "0..7", cli::between(0u, 7u));
    cl.value("--recorder-port", "N", o.recorderPort, "where /record/* is forwarded (default 5006)", "a port number",
             cli::between(1, 65535));
    cl.value("--journal", "FILE", o.journalPath,
             "write every command at its exact frame; chronus-render --script\nFILE reproduces the output bit for bit",
             "a file");
    cl.value("--patch", "FILE", o.patchPath, "patch to load at start", "a file");
    cl.value("--jack-server", "NAME", o.jackServer, "JACK server (default \"default\")", "a name")
        .env("JACK_DEFAULT_SERVER");
    cl.value("--jack-name", "NAME", o.jackName, "JACK client name (default \"chronus\"; workers are NAME-worker-0/1)",
             "a name of up to 40 characters", cli::name(40));
    cl.value("--patch-dir", "DIR", o.patchDir,
             "where /patch/save writes and /patch/load NAME reads\n(default ~/.local/share/chronus/patches)",
             "a directory", cli::Accept<std::string>([](const std::string &dir) { return !dir.empty(); }))
        .env("CHRONUS_PATCH_DIR");
    cl.value("--worker", "PATH", o.workerPath, "chronus-synth-worker binary (default: next to this program)", "a path")
        .env("CHRONUS_WORKER");
    auto noConnect = cl.flag("--no-connect", "do not connect out_* to the system playback ports");
    cl.value("--state-dir", "DIR", o.stateDir,
             "where the live patch is kept, so a restarted supervisor (killed, crashed,\nor after a JACK "
             "buffer-size change) plays on with it; the file is\nDIR/<instance>/live.json (default "
             "$XDG_STATE_HOME/chronus or\n~/.local/state/chronus)",
             "a directory", cli::Accept<std::string>([](const std::string &dir) { return !dir.empty(); }))
        .env("CHRONUS_STATE_DIR");
    cl.flag("--fresh", o.fresh, "start empty instead of with the kept live patch");
    cl.value("--nsm-open-timeout", "S", o.nsmOpenSeconds,
             "under a session manager, seconds to wait for the session to open\n(default 30)", "1..3600 seconds",
             cli::between(1u, 3600u));
    cl.value("--buffer-memory", "MB", o.bufferMemoryMb,
             "most MiB of samples all buffers (/buffer/load) may hold (default\n1024; each worker holds them too)",
             "1..65536 MiB", cli::between(1u, 65536u));
    cl.value("--transport", "MODE", o.transport,
             "JACK transport: off (default), follow (take tempo, meter, start\nand stop from the timebase master: "
             "Ardour, Carla, jack_transport)\nor lead (be the timebase master: others follow our tempo and meter)",
             "off, follow or lead", cli::oneOf({"off", "follow", "lead"}))
        .env("CHRONUS_TRANSPORT");
    cl.value("--master-clock", "PORT", o.masterClock,
             "on a NetJACK2 slave: the port that brings chronus-clock from the\nmaster (system:capture_N); "
             "bundles' timetags then map through the\nmaster's cycles, alike on every slave",
             "a port name");
    cl.value("--max-ahead", "S", o.maxAheadSeconds,
             "how far ahead a bundle's timetag may be, in seconds (default 60;\nfarther ones are answered /fail)",
             "0.1..3600 seconds", cli::between(0.1, 3600.0));
    return {instance, noConnect};
}

} // namespace

cli::Parsed<Options> parseOptions(int argc, char **argv)
{
    Options o;
    o.patchDir = defaultPatchDir();
    o.stateDir = LiveState::defaultDir();
    cli::CommandLine cl("chronus-supervisor", kSynopsis, kDescription, kNotes);
    const Presence given = declareOptions(cl, o);
    if (auto status = cl.parse(argc, argv))
        return P::exit(*status);
    o.localOnly = o.oscHost == "127.0.0.1" || o.oscHost == "localhost";
    o.lookaheadAuto = o.lookaheadSpec == "auto";
    o.lookahead = o.lookaheadAuto ? 2u : unsigned(o.lookaheadSpec[0] - '0'); // checked while parsing
    o.instanceGiven = given.instance.given();
    o.connect = !given.noConnect.given();
    if (o.workerPath.empty())
        o.workerPath = workerNextToUs();
    if (!o.patchPath.empty()) {
        std::ifstream in(o.patchPath);
        if (!in)
            return P::exit(cl.usageError("cannot read --patch '" + o.patchPath + "'"));
        std::ostringstream s;
        s << in.rdbuf();
        o.patchText = s.str();
    }
    return o;
}

} // namespace chronus::supervisor
