#include "tools/chronusctl/commands.hpp"

#include "model/script.hpp"
#include "tools/chronusctl/exchange.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace chronus::ctl {

using osc::Arg;
using osc::Message;

namespace {

int usage(const std::string &text)
{
    std::fprintf(stderr, "chronusctl: usage: chronusctl %s\n", text.c_str());
    return 2;
}

// The words from `from` on, typed by their form.
std::vector<Arg> typedFrom(const Words &words, std::size_t from)
{
    std::vector<Arg> args;
    for (std::size_t i = from; i < words.size(); ++i)
        args.push_back(typed(words[i]));
    return args;
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

// NTP 32.32 timetag of a wall-clock time.
std::uint64_t ntp(std::chrono::system_clock::time_point when)
{
    const double t = std::chrono::duration<double>(when.time_since_epoch()).count() + 2208988800.0; // 1900 epoch
    const auto whole = static_cast<std::uint64_t>(t);
    const auto frac = static_cast<std::uint64_t>((t - double(whole)) * 4294967296.0);
    return (whole << 32) | frac;
}

// status, ping, modules, sync, panic, levels: the address is the command's name.
int runPlain(Session &s, const Words &words)
{
    if (words.size() != 1)
        return usage(words[0]);
    std::vector<Arg> args;
    if (words[0] == "sync")
        args.push_back(static_cast<std::int32_t>(getpid()));
    return request(s.supervisor, s.options, "/" + words[0], args);
}

int runSet(Session &s, const Words &words)
{
    if (words.size() != 3)
        return usage("set <node>.<param> <value>");
    const auto dot = words[1].find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == words[1].size())
        return usage("set <node>.<param> <value>   (for example: set osc1.freq 220)");
    return request(s.supervisor, s.options, "/mod/" + words[1].substr(0, dot) + "/" + words[1].substr(dot + 1),
                   typedFrom(words, 2));
}

int runGate(Session &s, const Words &words)
{
    if (words.size() != 3)
        return usage("gate <node> <on|off|1|0>");
    return request(s.supervisor, s.options, "/gate/" + words[1], typedFrom(words, 2));
}

int runStem(Session &s, const Words &words)
{
    if (words.size() != 3)
        return usage("stem <node> <on|off|1|0>");
    return request(s.supervisor, s.options, "/stem", {words[1], typedFrom(words, 2).at(0)});
}

int runPatch(Session &s, const Words &words)
{
    const char *verbsUsage = "patch create|connect|disconnect|delete|clear|abort|commit|load|save|dump ...";
    if (words.size() < 2)
        return usage(verbsUsage);
    const std::string &verb = words[1];
    if (verb == "load") {
        if (words.size() < 3 || words.size() > 4)
            return usage("patch load <file.json|JSON> [crossfade_ms]");
        std::vector<Arg> args = {fileOrText(words[2])};
        if (words.size() == 4)
            args.push_back(typed(words[3]));
        return request(s.supervisor, s.options, "/patch/load", args);
    }
    static const char *verbs[] = {"create", "connect", "disconnect", "delete", "clear", "abort", "commit", "save", "dump"};
    if (std::find(std::begin(verbs), std::end(verbs), verb) == std::end(verbs))
        return usage(verbsUsage);
    auto args = typedFrom(words, 2);
    // Names stay names even when they look like numbers (a node called "1").
    if (verb == "create" || verb == "connect" || verb == "disconnect" || verb == "delete" || verb == "save")
        for (std::size_t i = 0; i < std::min<std::size_t>(args.size(), 2); ++i)
            args[i] = words[2 + i];
    return request(s.supervisor, s.options, "/patch/" + verb, args);
}

int runSeq(Session &s, const Words &words)
{
    if (words.size() < 3)
        return usage("seq <verb> <id> [args...]");
    auto args = typedFrom(words, 2);
    args[0] = words[2];
    if (words[1] == "pattern" || words[1] == "notes") {
        // A pattern or note list is one text, even when typed as several words.
        std::string text;
        for (std::size_t i = 3; i < words.size(); ++i)
            text += (i > 3 ? " " : "") + words[i];
        args = {words[2], text};
    }
    return request(s.supervisor, s.options, "/seq/" + words[1], args);
}

// note <poly> <pitch> [velocity] [seconds] | note <poly> <pitch> off
int runNote(Session &s, const Words &words)
{
    const char *text = "note <poly> <pitch> [velocity 0..1] [seconds] | note <poly> <pitch> off";
    if (words.size() < 3 || words.size() > 5)
        return usage(text);
    std::vector<Arg> args = {typed(words[2])};
    if (words.size() >= 4 && words[3] == "off")
        return words.size() == 4 ? request(s.supervisor, s.options, "/note_off/" + words[1], args) : usage(text);
    args.push_back(words.size() >= 4 ? typed(words[3]) : Arg(0.8f));
    if (words.size() == 5)
        args.push_back(typed(words[4]));
    return request(s.supervisor, s.options, "/note/" + words[1], args);
}

// chord <poly> <pitch>[+<pitch>...] [velocity] [seconds]: every note in a bundle with the
// same timetag, a little ahead, so all start on one frame.
int runChord(Session &s, const Words &words)
{
    const char *text = "chord <poly> <pitch>+<pitch>[+...] [velocity 0..1] [seconds]   (e.g. chord keys C4+E4+G4 0.7 2)";
    if (words.size() < 3 || words.size() > 5)
        return usage(text);
    std::vector<std::string> pitches;
    for (std::size_t at = 0; at <= words[2].size();) {
        const auto plus = std::min(words[2].find('+', at), words[2].size());
        if (plus == at)
            return usage(text);
        pitches.push_back(words[2].substr(at, plus - at));
        at = plus + 1;
    }
    const Arg velocity = words.size() >= 4 ? typed(words[3]) : Arg(0.8f);
    const auto when = ntp(std::chrono::system_clock::now() + std::chrono::milliseconds(60));
    for (const auto &p : pitches) {
        std::vector<Arg> args = {typed(p), velocity};
        if (words.size() == 5)
            args.push_back(typed(words[4]));
        if (!s.supervisor.sendBundle(when, "/note/" + words[1], args)) {
            std::fprintf(stderr, "chronusctl: cannot send\n");
            return 3;
        }
    }
    // One answer per note; a /fail is printed, the /done's are counted.
    int status = 0;
    std::size_t done = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(s.options.timeoutMs);
    while (done < pitches.size() && std::chrono::steady_clock::now() < deadline && !stopRequested) {
        auto m = s.supervisor.receive(20);
        if (!m)
            continue;
        if (m->address == "/fail") {
            print(*m, s.options);
            status = 1;
            ++done;
        } else if (m->address == "/done") {
            ++done;
        }
    }
    if (done < pitches.size())
        return 3;
    if (status == 0 && !s.options.asJson)
        std::printf("chord of %zu notes on %s\n", pitches.size(), words[1].c_str());
    return status;
}

// buffer load <name> <file> | free <name> | list
int runBuffer(Session &s, const Words &words)
{
    const char *text = "buffer load <name> <file> | buffer free <name> | buffer list";
    if (words.size() < 2)
        return usage(text);
    const std::string &verb = words[1];
    std::vector<Arg> args(words.begin() + 2, words.end()); // names and paths stay strings
    if ((verb == "load" && args.size() != 2) || (verb == "free" && args.size() != 1) || (verb == "list" && !args.empty()) ||
        (verb != "load" && verb != "free" && verb != "list"))
        return usage(text);
    if (verb == "load") {
        std::error_code ec;
        args[1] = std::filesystem::absolute(std::get<std::string>(args[1]), ec).string(); // the supervisor's cwd differs
    }
    return request(s.supervisor, s.options, "/buffer/" + verb, args);
}

int runRecord(Session &s, const Words &words)
{
    if (words.size() < 2)
        return usage("record start [file] [format] [seconds] | stop | status | split | preroll <seconds>");
    auto args = typedFrom(words, 2);
    // The file name stays a string even when it looks like a number; a number after it is
    // the take's duration limit.
    if (words[1] == "start" && !args.empty() && !std::holds_alternative<std::string>(args[0]))
        args[0] = argText(args[0]);
    return request(s.recorder ? *s.recorder : s.supervisor, s.options, "/record/" + words[1], args);
}

// Each command goes out `lead` seconds before its time, in a bundle stamped with that
// time, so the supervisor applies it on its exact frame.
int play(Session &s, const std::string &path, double lead)
{
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "chronusctl: cannot read script '%s'\n", path.c_str());
        return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    constexpr double kTicks = 1e6; // parse times in microseconds; only seconds matter here
    auto script = model::parseScript(text.str(), kTicks);
    if (!script) {
        std::fprintf(stderr, "chronusctl: %s: %s\n", path.c_str(), script.error().c_str());
        return 2;
    }
    const auto leadTime =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(lead));
    const auto steadyZero = std::chrono::steady_clock::now() + leadTime;
    const auto wallZero =
        std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(leadTime);
    int status = 0;
    for (const auto &cmd : *script) {
        const auto at = std::chrono::microseconds(static_cast<long long>(cmd.frame));
        status |= drainUntil(s.supervisor, s.options, steadyZero + at - leadTime);
        if (stopRequested)
            return 130;
        std::vector<Arg> args;
        for (const auto &a : cmd.args)
            std::visit([&](const auto &v) { args.push_back(v); }, a);
        if (!s.supervisor.sendBundle(ntp(wallZero + at), cmd.address, args)) {
            std::fprintf(stderr, "chronusctl: cannot send line %d\n", cmd.line);
            return 3;
        }
    }
    const auto last = std::chrono::microseconds(script->empty() ? 0 : static_cast<long long>(script->back().frame));
    status |= drainUntil(s.supervisor, s.options, steadyZero + last + std::chrono::milliseconds(200));
    return status;
}

int runPlay(Session &s, const Words &words)
{
    const std::size_t n = words.size();
    if (n < 2 || n > 4 || (n > 2 && words[2] != "--lead"))
        return usage("play <script> [--lead SECONDS]");
    const double lead = n == 4 ? std::atof(words[3].c_str()) : 0.3;
    if (!(lead > 0))
        return usage("play <script> [--lead SECONDS]   (lead > 0)");
    return play(s, words[1], lead);
}

// "L  -12.3 dBFS |##########            | rms -18.0"
std::string meterLine(const char *name, float peakDb, float rmsDb, std::int32_t clips)
{
    constexpr int kWidth = 40; // -60..0 dBFS
    const int filled = std::clamp(int((peakDb + 60.0f) / 60.0f * kWidth), 0, kWidth);
    char text[160];
    std::snprintf(text, sizeof text, "%s %7.1f dBFS |%.*s%*s| rms %6.1f%s\n", name, peakDb, filled,
                  "########################################", kWidth - filled, "", rmsDb,
                  clips > 0 ? "  CLIP" : "");
    return text;
}

// Output meters from /levels (peak bars over the last 0.3 s).
void printLevels(Session &s)
{
    Message levels;
    if (request(s.supervisor, s.options, "/levels", {}, &levels, true) != 0 || levels.args.size() < 7)
        return;
    auto f = [&](std::size_t i) { return std::holds_alternative<float>(levels.args[i]) ? std::get<float>(levels.args[i]) : -200.0f; };
    auto n = [&](std::size_t i) {
        return std::holds_alternative<std::int32_t>(levels.args[i]) ? std::get<std::int32_t>(levels.args[i]) : 0;
    };
    std::cout << "\noutput\n" << meterLine("L", f(1), f(3), n(5)) << meterLine("R", f(2), f(4), n(6));
}

// analyze [seconds]: what the output sounds like, measured (/analyze).
int runAnalyze(Session &s, const Words &words)
{
    if (words.size() > 2)
        return usage("analyze [seconds]");
    std::vector<Arg> args;
    if (words.size() == 2)
        args.push_back(typed(words[1]));
    return request(s.supervisor, s.options, "/analyze", args);
}

// One screen of the supervisor's and the recorder's status, refreshed until interrupted.
int runWatch(Session &s, const Words &words)
{
    const double seconds = words.size() > 1 ? std::atof(words[1].c_str()) : 1.0;
    if (!(seconds > 0))
        return usage("watch [seconds]");
    const Options &o = s.options;
    while (!stopRequested) {
        Message status, recStatus;
        std::ostringstream screen;
        screen << "\x1b[H\x1b[2J" << "chronus watch  (" << o.host << ":" << o.port << ", every " << seconds
               << " s, Ctrl-C to quit)\n\n";
        std::cout << screen.str();
        const int a = request(s.supervisor, o, "/status", {}, &status);
        const int b = request(s.recorder ? *s.recorder : s.supervisor, o, "/record/status", {}, &recStatus);
        if (a == 3 && b == 3)
            return 3;
        if (a != 3)
            printLevels(s);
        std::cout.flush();
        for (int i = 0; i < int(seconds * 10) && !stopRequested; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
}

int runSend(Session &s, const Words &words)
{
    if (words.size() < 2 || words[1].empty() || words[1][0] != '/')
        return usage("send <address> [args...]");
    return sendRaw(s.supervisor, s.options, words[1], typedFrom(words, 2));
}

} // namespace

const std::vector<Command> &commands()
{
    static const std::vector<Command> table = {
        {"status", "status", "slot states, failovers, divergences, load (/status)", runPlain},
        {"ping", "ping", "round trip to the supervisor (/ping -> /pong)", runPlain},
        {"modules", "modules", "the module catalogue as JSON (/modules)", runPlain},
        {"set", "set <node>.<param> <value>", "set a parameter (/mod/<node>/<param>)", runSet},
        {"gate", "gate <node> <on|off|1|0>", "gate an envelope or drum (/gate/<node>)", runGate},
        {"note", "note <poly> <pitch> [velocity] [seconds]\nnote <poly> <pitch> off",
         "play or release a note on a poly (/note/<poly>,\n/note_off/<poly>); pitch 60, 60.5 or C#4", runNote},
        {"chord", "chord <poly> <p>+<p>[+...] [vel] [seconds]",
         "notes that start on one frame (C3+Eb3+G3)", runChord},
        {"panic", "panic", "silence every voice, release the pedal, stop sequencers", runPlain},
        {"stem", "stem <node> <on|off|1|0>",
         "a node's output also on its own ports, chronus:stem_<node>_L/R\n(/stem)", runStem},
        {"buffer", "buffer load <name> <file> | free <name> | list",
         "sound files for samplers (/buffer/<verb>); a local path\nis sent absolute", runBuffer},
        {"patch",
         "patch create <id> <type> [<param> <value>...]\n"
         "patch connect <from> <to> [depth] | disconnect <from> <to> | delete <id>\n"
         "patch clear | abort | commit [crossfade_ms] | dump | save <name>\n"
         "patch load <file.json|JSON>",
         "a readable local file is sent as its JSON text", runPatch},
        {"seq", "seq <verb> <id> [args...]",
         "create, config, pattern, notes, bpm, swing, gate_len,\nsteps, start, stop, reset (/seq/<verb>)", runSeq},
        {"record", "record start [file] [format] [seconds] | stop | status | split | preroll <seconds>",
         "(/record/<verb>; to the recorder itself with --recorder-port)", runRecord},
        {"sync", "sync", "returns once every command sent before it is in effect", runPlain},
        {"play", "play <script> [--lead S]",
         "sends a timed command script (chronus-render's format) as\nbundles stamped with future timetags, so every "
         "command\ntakes effect on its exact frame; returns when it has ended",
         runPlay},
        {"analyze", "analyze [seconds]",
         "what the output sounds like, measured over the last seconds\n(default 5): loudness (LUFS), peaks, "
         "spectrum, pitch,\ntempo, width, silence (/analyze)", runAnalyze},
        {"levels", "levels", "output peak and RMS per channel over the last 0.3 s (/levels)", runPlain},
        {"watch", "watch [seconds]", "live view of slots, failovers, load, output and recorder meters", runWatch},
        {"send", "send <address> [args...]", "any OSC message; prints every reply until the timeout", runSend},
    };
    return table;
}

const Command *findCommand(std::string_view name)
{
    for (const Command &c : commands())
        if (c.name == name)
            return &c;
    return nullptr;
}

std::string commandsHelp()
{
    constexpr std::size_t kColumn = 32;
    const std::string indent(kColumn, ' ');
    std::string text = "Commands:\n";
    for (const Command &c : commands()) {
        std::istringstream usageLines{std::string(c.usage)}, helpLines{std::string(c.help)};
        std::string line, lastUsage, help;
        for (bool first = true; std::getline(usageLines, line); first = false) {
            if (!first)
                text += "  " + lastUsage + "\n";
            lastUsage = line;
        }
        text += "  " + lastUsage;
        // The help starts beside the last usage line when there is room, else under it.
        if (lastUsage.size() + 2 < kColumn)
            text += std::string(kColumn - 2 - lastUsage.size(), ' ');
        else
            text += "\n" + indent;
        for (bool first = true; std::getline(helpLines, help); first = false)
            text += (first ? "" : indent) + help + "\n";
    }
    return text;
}

} // namespace chronus::ctl
