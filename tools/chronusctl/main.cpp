// chronusctl: the command-line client for people and agents. Turns a subcommand into
// OSC, sends it to the supervisor (or the recorder), waits for the reply and prints it.
// Exit codes: 0 done, 1 the server answered /fail, 2 usage error, 3 no reply / no server.
#include "common/osc.hpp"
#include "model/script.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace {

using chronus::osc::Arg;
using chronus::osc::Message;
using nlohmann::json;

const char *kUsage = R"(usage: chronusctl [options] <command> [args...]

Talks to chronus-supervisor over OSC (UDP by default) and prints the reply.

commands:
  status                        slot states, failovers, divergences, load (/status)
  ping                          round trip to the supervisor (/ping -> /pong)
  modules                       the module catalogue as JSON (/modules)
  set <node>.<param> <value>    set a parameter (/mod/<node>/<param>)
  gate <node> <on|off|1|0>      gate an envelope or drum (/gate/<node>)
  patch create <id> <type> [<param> <value>...]
  patch connect <from> <to> [depth] | disconnect <from> <to> | delete <id>
  patch clear | abort | commit [crossfade_ms] | dump | save <name>
  patch load <file.json|JSON>   a readable local file is sent as its JSON text
  seq <verb> <id> [args...]     create, config, pattern, notes, bpm, swing, gate_len,
                                steps, start, stop, reset (/seq/<verb>)
  record start [file] [format] [seconds] | stop | status | split | preroll <seconds>
  sync                          returns once every command sent before it is in effect
  play <script> [--lead S]      sends a timed command script (chronus-render's format) as
                                bundles stamped with future timetags, so every command
                                takes effect on its exact frame; returns when it has ended
  watch [seconds]               live view of slots, failovers, load and recorder meters
  send <address> [args...]      any OSC message; prints every reply until the timeout

options:
  --host HOST            supervisor host (default 127.0.0.1, or CHRONUS_OSC_HOST)
  --port PORT            supervisor port (default 5005, or CHRONUS_OSC_PORT)
  --recorder-port PORT   send record commands straight to the recorder on PORT
  --tcp                  use TCP instead of UDP
  --timeout SECONDS      how long to wait for a reply (default 3)
  --json                 print replies as JSON
  -h, --help             this text

Arguments are typed by their form: integers, floats, otherwise strings.
exit status: 0 done, 1 /fail from the server, 2 usage, 3 no reply (is the server running?)
)";

volatile std::sig_atomic_t stopRequested = 0;

// Words become int32, float or string by their form, as in command scripts.
Arg typed(const std::string &text)
{
    return std::visit([](const auto &v) -> Arg { return v; }, chronus::model::typedWord(text));
}

json argJson(const Arg &a)
{
    return std::visit(
        [](const auto &v) -> json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
                return nullptr;
            else if constexpr (std::is_same_v<T, chronus::osc::Blob>)
                return json::binary(v);
            else
                return v;
        },
        a);
}

std::string argText(const Arg &a)
{
    const json j = argJson(a);
    return j.is_string() ? j.get<std::string>() : j.dump();
}

struct Options {
    std::string host = "127.0.0.1";
    int port = 5005;
    int recorderPort = 0;
    bool tcp = false;
    bool asJson = false;
    int timeoutMs = 3000;
};

// True for replies made of (string key, value) pairs, like /status.reply.
bool isKeyValueList(const Message &m)
{
    if (m.args.empty() || m.args.size() % 2 != 0 || m.address.size() < 6 ||
        m.address.compare(m.address.size() - 6, 6, ".reply") != 0)
        return false;
    for (std::size_t i = 0; i < m.args.size(); i += 2)
        if (!std::holds_alternative<std::string>(m.args[i]))
            return false;
    return true;
}

// Prints a reply: JSON text arguments pretty-printed, key/value lists one per line.
void print(const Message &m, const Options &o)
{
    const bool keyValues = isKeyValueList(m);
    if (o.asJson) {
        json out = {{"address", m.address}, {"args", json::array()}};
        for (const auto &a : m.args)
            out["args"].push_back(argJson(a));
        if (keyValues) {
            out["values"] = json::object();
            for (std::size_t i = 0; i < m.args.size(); i += 2)
                out["values"][std::get<std::string>(m.args[i])] = argJson(m.args[i + 1]);
        }
        // A reply that carries one JSON document is given as parsed JSON too.
        for (const auto &a : m.args)
            if (const auto *s = std::get_if<std::string>(&a); s && !s->empty() && (s->front() == '{' || s->front() == '['))
                if (json doc = json::parse(*s, nullptr, false); !doc.is_discarded())
                    out["json"] = doc;
        std::cout << out.dump() << "\n";
        return;
    }
    if (keyValues) {
        std::cout << m.address << "\n";
        for (std::size_t i = 0; i < m.args.size(); i += 2)
            std::cout << "  " << std::get<std::string>(m.args[i]) << ": " << argText(m.args[i + 1]) << "\n";
        return;
    }
    std::string line = m.address;
    for (const auto &a : m.args) {
        const auto *s = std::get_if<std::string>(&a);
        if (s && !s->empty() && (s->front() == '{' || s->front() == '[')) {
            if (json doc = json::parse(*s, nullptr, false); !doc.is_discarded()) {
                std::cout << line << "\n" << doc.dump(2) << "\n";
                line.clear();
                continue;
            }
        }
        line += (line.empty() ? "" : " ") + argText(a);
    }
    if (!line.empty())
        std::cout << line << "\n";
}

bool isReplyTo(const Message &m, const std::string &address)
{
    if ((m.address == "/done" || m.address == "/fail") && m.stringAt(0) == address)
        return true;
    if (m.address == address + ".reply")
        return true;
    return (address == "/ping" && m.address == "/pong") || (address == "/sync" && m.address == "/synced");
}

// Sends one message and waits for its reply. Returns the exit status.
int request(chronus::osc::Client &client, const Options &o, const std::string &address, const std::vector<Arg> &args,
            Message *replyOut = nullptr, bool quiet = false)
{
    if (!client.send(address, args)) {
        std::fprintf(stderr, "chronusctl: cannot send to %s:%d\n", o.host.c_str(), o.port);
        return 3;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeoutMs);
    while (!stopRequested) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        auto m = client.receive(static_cast<int>(left.count()));
        if (!m || !isReplyTo(*m, address))
            continue;
        if (!quiet)
            print(*m, o);
        if (replyOut)
            *replyOut = *m;
        if (m->address == "/fail") {
            if (!quiet && !o.asJson)
                std::fprintf(stderr, "chronusctl: %s failed: %s\n", address.c_str(),
                             m->args.size() > 1 ? argText(m->args.back()).c_str() : "no reason given");
            return 1;
        }
        return 0;
    }
    std::fprintf(stderr, "chronusctl: no reply to %s from %s:%d within %.1f s (is chronus-supervisor running?)\n",
                 address.c_str(), o.host.c_str(), o.port, o.timeoutMs / 1000.0);
    return 3;
}

// `send`: prints every message that arrives until the timeout; fails on /fail.
int sendRaw(chronus::osc::Client &client, const Options &o, const std::string &address, const std::vector<Arg> &args)
{
    if (!client.send(address, args))
        return 3;
    int status = 3;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeoutMs);
    while (!stopRequested) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        auto m = client.receive(static_cast<int>(std::min<long>(left.count(), 300)));
        if (!m) {
            if (status != 3)
                break; // replies came and then stopped: done
            continue;
        }
        print(*m, o);
        if (status != 1)
            status = m->address == "/fail" ? 1 : 0;
    }
    if (status == 3)
        std::fprintf(stderr, "chronusctl: no reply to %s within %.1f s\n", address.c_str(), o.timeoutMs / 1000.0);
    return status;
}

std::string fileOrText(const std::string &arg)
{
    std::ifstream in(arg);
    if (!in)
        return arg;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// One screen of `watch`: the supervisor's and the recorder's status, refreshed.
int watch(chronus::osc::Client &sup, chronus::osc::Client *rec, const Options &o, double seconds)
{
    while (!stopRequested) {
        Message status, recStatus;
        std::ostringstream screen;
        screen << "\x1b[H\x1b[2J" << "chronus watch  (" << o.host << ":" << o.port << ", every " << seconds
               << " s, Ctrl-C to quit)\n\n";
        std::cout << screen.str();
        const int a = request(sup, o, "/status", {}, &status);
        const int b = request(rec ? *rec : sup, o, "/record/status", {}, &recStatus);
        if (a == 3 && b == 3)
            return 3;
        std::cout.flush();
        for (int i = 0; i < int(seconds * 10) && !stopRequested; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
}

// NTP 32.32 timetag of a wall-clock time.
std::uint64_t ntp(std::chrono::system_clock::time_point when)
{
    const double t = std::chrono::duration<double>(when.time_since_epoch()).count() + 2208988800.0; // 1900 epoch
    const auto whole = static_cast<std::uint64_t>(t);
    const auto frac = static_cast<std::uint64_t>((t - double(whole)) * 4294967296.0);
    return (whole << 32) | frac;
}

// Waits until `until`, printing any /fail that arrives; returns 1 if one did.
int drainUntil(chronus::osc::Client &client, const Options &o, std::chrono::steady_clock::time_point until)
{
    int status = 0;
    while (!stopRequested && std::chrono::steady_clock::now() < until) {
        if (auto m = client.receive(10); m && m->address == "/fail") {
            print(*m, o);
            status = 1;
        }
    }
    return status;
}

// `play`: each command goes out `lead` seconds before its time, in a bundle stamped
// with that time, so the supervisor applies it on its exact frame.
int play(chronus::osc::Client &client, const Options &o, const std::string &path, double lead)
{
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "chronusctl: cannot read script '%s'\n", path.c_str());
        return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    constexpr double kTicks = 1e6; // parse times in microseconds; only seconds matter here
    auto script = chronus::model::parseScript(text.str(), kTicks);
    if (!script) {
        std::fprintf(stderr, "chronusctl: %s: %s\n", path.c_str(), script.error().c_str());
        return 2;
    }
    const auto leadTime = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(lead));
    const auto steadyZero = std::chrono::steady_clock::now() + leadTime;
    const auto wallZero = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(leadTime);
    int status = 0;
    for (const auto &cmd : *script) {
        const auto at = std::chrono::microseconds(static_cast<long long>(cmd.frame));
        status |= drainUntil(client, o, steadyZero + at - leadTime);
        if (stopRequested)
            return 130;
        std::vector<Arg> args;
        for (const auto &a : cmd.args)
            std::visit([&](const auto &v) { args.push_back(v); }, a);
        if (!client.sendBundle(ntp(wallZero + at), cmd.address, args)) {
            std::fprintf(stderr, "chronusctl: cannot send line %d\n", cmd.line);
            return 3;
        }
    }
    const auto last = std::chrono::microseconds(script->empty() ? 0 : static_cast<long long>(script->back().frame));
    status |= drainUntil(client, o, steadyZero + last + std::chrono::milliseconds(200));
    return status;
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    if (const char *h = std::getenv("CHRONUS_OSC_HOST"))
        o.host = h;
    if (const char *p = std::getenv("CHRONUS_OSC_PORT"))
        o.port = std::atoi(p);
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&](const char *what) -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "chronusctl: %s needs a value\n", what);
                std::exit(2);
            }
            return argv[++i];
        };
        if (!words.empty()) {
            words.push_back(a); // after the command everything is an argument
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--host") {
            o.host = next("--host");
        } else if (a == "--port") {
            o.port = std::atoi(next("--port").c_str());
        } else if (a == "--recorder-port") {
            o.recorderPort = std::atoi(next("--recorder-port").c_str());
        } else if (a == "--timeout") {
            o.timeoutMs = static_cast<int>(std::atof(next("--timeout").c_str()) * 1000);
        } else if (a == "--json") {
            o.asJson = true;
        } else if (a == "--tcp") {
            o.tcp = true;
        } else if (!a.empty() && a[0] == '-' && a.size() > 1 && !std::isdigit(static_cast<unsigned char>(a[1]))) {
            std::fprintf(stderr, "chronusctl: unknown option '%s' (try --help)\n", a.c_str());
            return 2;
        } else {
            words.push_back(a);
        }
    }
    if (words.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    if (o.port <= 0 || o.port > 65535 || o.recorderPort < 0 || o.recorderPort > 65535 || o.timeoutMs <= 0) {
        std::fprintf(stderr, "chronusctl: ports are 1..65535 and the timeout is positive\n");
        return 2;
    }
    std::signal(SIGINT, [](int) { stopRequested = 1; });
    std::signal(SIGTERM, [](int) { stopRequested = 1; });

    const auto protocol = o.tcp ? chronus::osc::Protocol::Tcp : chronus::osc::Protocol::Udp;
    auto client = chronus::osc::Client::open(protocol, o.host, o.port);
    if (!client) {
        std::fprintf(stderr, "chronusctl: cannot reach %s:%d: %s\n", o.host.c_str(), o.port, client.error().c_str());
        return 3;
    }
    std::unique_ptr<chronus::osc::Client> recorder;
    if (o.recorderPort) {
        auto r = chronus::osc::Client::open(protocol, o.host, o.recorderPort);
        if (!r) {
            std::fprintf(stderr, "chronusctl: cannot reach the recorder at %s:%d: %s\n", o.host.c_str(), o.recorderPort,
                         r.error().c_str());
            return 3;
        }
        recorder = std::move(*r);
    }

    const std::string cmd = words[0];
    const std::size_t n = words.size();
    auto rest = [&](std::size_t from) {
        std::vector<Arg> args;
        for (std::size_t i = from; i < n; ++i)
            args.push_back(typed(words[i]));
        return args;
    };
    auto usage = [&](const char *text) {
        std::fprintf(stderr, "chronusctl: usage: chronusctl %s\n", text);
        return 2;
    };
    auto &sup = **client;

    if (cmd == "status" || cmd == "ping" || cmd == "modules" || cmd == "sync") {
        if (n != 1)
            return usage(cmd == "sync" ? "sync" : cmd.c_str());
        std::vector<Arg> args;
        if (cmd == "sync")
            args.push_back(static_cast<std::int32_t>(getpid()));
        return request(sup, o, "/" + cmd, args);
    }
    if (cmd == "set") {
        if (n != 3)
            return usage("set <node>.<param> <value>");
        const auto dot = words[1].find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == words[1].size())
            return usage("set <node>.<param> <value>   (for example: set osc1.freq 220)");
        return request(sup, o, "/mod/" + words[1].substr(0, dot) + "/" + words[1].substr(dot + 1), rest(2));
    }
    if (cmd == "gate") {
        if (n != 3)
            return usage("gate <node> <on|off|1|0>");
        return request(sup, o, "/gate/" + words[1], rest(2));
    }
    if (cmd == "patch") {
        if (n < 2)
            return usage("patch create|connect|disconnect|delete|clear|abort|commit|load|save|dump ...");
        const std::string verb = words[1];
        if (verb == "load") {
            if (n < 3 || n > 4)
                return usage("patch load <file.json|JSON> [crossfade_ms]");
            std::vector<Arg> args = {fileOrText(words[2])};
            if (n == 4)
                args.push_back(typed(words[3]));
            return request(sup, o, "/patch/load", args);
        }
        static const char *verbs[] = {"create", "connect", "disconnect", "delete", "clear", "abort", "commit", "save", "dump"};
        if (std::find(std::begin(verbs), std::end(verbs), verb) == std::end(verbs))
            return usage("patch create|connect|disconnect|delete|clear|abort|commit|load|save|dump ...");
        auto args = rest(2);
        // Names stay names even when they look like numbers (a node called "1").
        if (verb == "create" || verb == "connect" || verb == "disconnect" || verb == "delete" || verb == "save")
            for (std::size_t i = 0; i < std::min<std::size_t>(args.size(), 2); ++i)
                args[i] = words[2 + i];
        return request(sup, o, "/patch/" + verb, args);
    }
    if (cmd == "seq") {
        if (n < 3)
            return usage("seq <verb> <id> [args...]");
        auto args = rest(2);
        args[0] = words[2];
        if (words[1] == "pattern" || words[1] == "notes") {
            // A pattern or note list is one text, even when typed as several words.
            std::string text;
            for (std::size_t i = 3; i < n; ++i)
                text += (i > 3 ? " " : "") + words[i];
            args = {words[2], text};
        }
        return request(sup, o, "/seq/" + words[1], args);
    }
    if (cmd == "record") {
        if (n < 2)
            return usage("record start [file] [format] [seconds] | stop | status | split | preroll <seconds>");
        auto args = rest(2);
        // The file name stays a string even when it looks like a number; a number after it
        // is the take's duration limit.
        if (words[1] == "start" && !args.empty() && !std::holds_alternative<std::string>(args[0]))
            args[0] = argText(args[0]);
        auto &target = recorder ? *recorder : sup;
        return request(target, o, "/record/" + words[1], args);
    }
    if (cmd == "play") {
        if (n < 2 || n > 4 || (n > 2 && words[2] != "--lead"))
            return usage("play <script> [--lead SECONDS]");
        const double lead = n == 4 ? std::atof(words[3].c_str()) : 0.3;
        if (!(lead > 0))
            return usage("play <script> [--lead SECONDS]   (lead > 0)");
        return play(sup, o, words[1], lead);
    }
    if (cmd == "watch") {
        const double seconds = n > 1 ? std::atof(words[1].c_str()) : 1.0;
        if (!(seconds > 0))
            return usage("watch [seconds]");
        return watch(sup, recorder.get(), o, seconds);
    }
    if (cmd == "send") {
        if (n < 2 || words[1].empty() || words[1][0] != '/')
            return usage("send <address> [args...]");
        return sendRaw(sup, o, words[1], rest(2));
    }
    std::fprintf(stderr, "chronusctl: unknown command '%s' (try --help)\n", cmd.c_str());
    return 2;
}
