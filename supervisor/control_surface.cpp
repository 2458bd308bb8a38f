#include "supervisor/control_surface.hpp"

#include "common/sample_file.hpp"

#include "model/describe.hpp"
#include "common/log.hpp"

#include <cctype>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <limits>

namespace chronus::supervisor {

namespace {

// Reasons are cut in replies: a reply must fit a UDP datagram and should not echo a
// megabyte of someone's garbage.
constexpr std::size_t kMaxReason = 512;

std::string clip(std::string_view s, std::size_t max)
{
    if (s.size() <= max)
        return std::string(s);
    return std::string(s.substr(0, max)) + "...";
}

// OSC arguments -> the interpreter's vocabulary. Types the interpreter cannot mean are
// refused here with the argument's position.
Expected<std::vector<model::Arg>> toModelArgs(const osc::Message &msg)
{
    std::vector<model::Arg> out;
    out.reserve(msg.args.size());
    for (std::size_t i = 0; i < msg.args.size(); ++i) {
        const osc::Arg &a = msg.args[i];
        if (const auto *v = std::get_if<std::int32_t>(&a)) {
            out.emplace_back(*v);
        } else if (const auto *v = std::get_if<float>(&a)) {
            out.emplace_back(*v);
        } else if (const auto *v = std::get_if<std::string>(&a)) {
            out.emplace_back(*v);
        } else if (const auto *v = std::get_if<double>(&a)) {
            out.emplace_back(static_cast<float>(*v));
        } else if (const auto *v = std::get_if<std::int64_t>(&a)) {
            if (*v < std::numeric_limits<std::int32_t>::min() || *v > std::numeric_limits<std::int32_t>::max())
                return fail(log::cat("argument ", i + 1, " (", *v, ") is out of the 32-bit range"));
            out.emplace_back(static_cast<std::int32_t>(*v));
        } else if (const auto *v = std::get_if<bool>(&a)) {
            out.emplace_back(static_cast<std::int32_t>(*v ? 1 : 0));
        } else {
            const char type = i < msg.types.size() ? msg.types[i] : '?';
            return fail(log::cat("argument ", i + 1, " has unsupported OSC type '", type, "'"));
        }
    }
    return out;
}

osc::Arg toOscArg(const model::Arg &a)
{
    if (const auto *v = std::get_if<std::int32_t>(&a))
        return *v;
    if (const auto *v = std::get_if<float>(&a))
        return *v;
    return std::get<std::string>(a);
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A saved patch's name: letters, digits, '-', '_', '.'; no path.
bool validPatchName(const std::string &name)
{
    if (name.empty() || name.size() > 100 || name.front() == '.')
        return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

std::string withJson(const std::string &name)
{
    return name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 ? name : name + ".json";
}

// True when a message came from this machine ("osc.udp://127.0.0.1:41234/"), or from
// inside the supervisor (no sender).
bool localSender(const std::string &url)
{
    const auto scheme = url.find("://");
    if (scheme == std::string::npos)
        return true;
    const std::string host = url.substr(scheme + 3, url.find_last_of(':') - scheme - 3);
    return startsWith(host, "127.") || host == "localhost" || host == "[::1]" || host == "::1";
}

} // namespace

std::string defaultPatchDir()
{
    if (const char *dir = std::getenv("CHRONUS_PATCH_DIR"); dir && *dir)
        return dir;
    if (const char *xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return std::string(xdg) + "/chronus/patches";
    if (const char *home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.local/share/chronus/patches";
    return "patches";
}

ControlSurface::ControlSurface(model::Interpreter &interpreter, Timeline &timeline, SlotManager &slots,
                               OutputStage &output, shm::Segment &segment, ControlSurfaceConfig config)
    : interpreter_(interpreter), timeline_(timeline), slots_(slots), output_(output), segment_(segment),
      config_(std::move(config)), transport_(double(segment.geometry().sampleRate)),
      ears_(output.tap(), double(segment.geometry().sampleRate))
{
}

ControlSurface::~ControlSurface() = default;

void ControlSurface::reply(const osc::Message &msg, std::string_view address, std::vector<osc::Arg> args)
{
    if (server_)
        server_->reply(msg, address, args);
}

void ControlSurface::done(const osc::Message &msg, std::vector<osc::Arg> extra)
{
    extra.insert(extra.begin(), osc::Arg(msg.address));
    reply(msg, "/done", std::move(extra));
}

void ControlSurface::failWith(const osc::Message &msg, const std::string &reason)
{
    ++rejected_;
    // The address is echoed whole (it fitted the request, and clients match on it); the
    // reason is cut, since it may quote a huge argument.
    reply(msg, "/fail", {msg.address, clip(reason, kMaxReason)});
}

void ControlSurface::notify(const std::string &kind, const std::string &text)
{
    if (!server_)
        return;
    for (const std::string &url : subscribers_)
        server_->sendTo(url, "/event", {kind, text});
}

void ControlSurface::handle(const osc::Message &msg)
{
    const std::string &a = msg.address;
    if (a == "/ping") {
        reply(msg, "/pong", msg.args);
    } else if (a == "/status") {
        status(msg);
    } else if (a == "/sync") {
        // Answered once everything sent before it has taken effect.
        answerWhenPlayed(msg, timeline_.barrier(), "/synced", msg.args,
                         "timed out waiting for earlier commands to take effect");
    } else if (a == "/notify") {
        const auto on = msg.numberAt(0);
        const auto word = msg.stringAt(0);
        bool subscribe;
        if (msg.args.size() == 1 && on && (*on == 0 || *on == 1))
            subscribe = *on == 1;
        else if (msg.args.size() == 1 && std::holds_alternative<bool>(msg.args[0]))
            subscribe = std::get<bool>(msg.args[0]);
        else if (msg.args.size() == 1 && word && (*word == "on" || *word == "off"))
            subscribe = *word == "on";
        else
            return failWith(msg, "/notify takes 1 or 0");
        if (msg.protocol != osc::Protocol::Udp)
            return failWith(msg, "/notify needs UDP (events are sent as datagrams to the sender's port)");
        std::erase(subscribers_, msg.senderUrl);
        if (subscribe)
            subscribers_.push_back(msg.senderUrl);
        done(msg, {std::int32_t(subscribe ? 1 : 0)});
    } else if (Ears::answers(msg)) {
        ears_.handle(msg);
    } else if (a == "/quantize") {
        setQuantize(msg);
    } else if (a == "/modules") {
        if (!msg.args.empty())
            return failWith(msg, "/modules takes no arguments");
        done(msg, {model::catalogueJson(-1)});
    } else if (startsWith(a, "/record/") || a == "/record") {
        forwardToRecorder(msg);
    } else {
        command(msg);
    }
}

void ControlSurface::command(const osc::Message &msg)
{
    auto args = toModelArgs(msg);
    if (!args)
        return failWith(msg, args.error());
    if (msg.address == "/patch/dump") {
        if (!args->empty())
            return failWith(msg, "/patch/dump takes no arguments");
        return done(msg, {interpreter_.liveJson(-1)});
    }
    if (msg.address == "/patch/save")
        return savePatch(msg);
    std::string address = msg.address;
    std::uint64_t frame = frameOf(msg, address, *args);
    // Another machine's commands read files in the patch directory only (README: "Control
    // from other machines"); /patch/save writes only there anyway, the recorder only in its own.
    const bool remote = !localSender(msg.senderUrl);
    if (address == "/patch/load" && !args->empty()) {
        // A name saved with /patch/save loads from the patch directory.
        if (const auto *name = std::get_if<std::string>(&(*args)[0]);
            name && validPatchName(*name) && (remote || !std::filesystem::exists(*name))) {
            const std::string saved = config_.patchDir + "/" + withJson(*name);
            if (std::filesystem::exists(saved))
                (*args)[0] = saved;
        }
    }
    if (address == "/buffer/load")
        if (auto checked = checkBuffer(*args, remote); !checked)
            return failWith(msg, checked.error());
    if (address == "/patch/load")
        if (auto checked = checkPatchBuffers(*args, remote); !checked)
            return failWith(msg, checked.error());
    if (msg.timetag) {
        // Bounds on scheduling ahead: everything stamped later waits behind a future commit,
        // and the workers hold a bounded number of pending events (beyond it they would be
        // dropped after we said /done).
        const std::uint64_t safe = timeline_.safeFrame();
        const double rate = double(segment_.geometry().sampleRate);
        const double aheadSeconds = frame > safe ? double(frame - safe) / rate : 0.0;
        if (aheadSeconds > config_.maxAheadSeconds)
            return failWith(msg, log::cat("the bundle's timetag is ", std::llround(aheadSeconds), " s ahead; at most ",
                                          config_.maxAheadSeconds, " s (--max-ahead)"));
        if (frame > safe && timeline_.scheduledAhead() >= kMaxScheduledAhead)
            return failWith(msg, log::cat("too many commands scheduled ahead (", timeline_.scheduledAhead(),
                                          "); wait until some have played"));
    }
    if (auto played = playBefore(address, *args, frame))
        return done(msg, answerOf(*played));
    auto outcome = interpreter_.handle(address, *args);
    if (!outcome)
        return failWith(msg, outcome.error());
    const Timeline::Ticket ticket =
        timeline_.apply(*outcome, frame, address, *args, {.track = outcome->commit != nullptr});
    followClock(address, *args, frame);
    if (outcome->commit)
        keepPlayer();

    std::vector<osc::Arg> extra = answerOf(*outcome);
    if (outcome->commit) {
        // Answer when the new patch is what the output plays, with the frame it went live at.
        extra.insert(extra.begin(), osc::Arg(msg.address));
        return answerWhenPlayed(msg, ticket, "/done", std::move(extra), "timed out waiting for the commit to go live",
                                std::int64_t(outcome->commit->generation));
    }
    done(msg, std::move(extra));
}

std::vector<osc::Arg> ControlSurface::answerOf(const model::Outcome &outcome)
{
    std::vector<osc::Arg> extra;
    for (const auto &r : outcome.reply)
        extra.push_back(toOscArg(r));
    if (!outcome.warning.empty())
        extra.emplace_back(clip(outcome.warning, kMaxReason));
    return extra;
}

Expected<std::string> ControlSurface::inPatchDir(const std::string &file, const std::string &what) const
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(fs::absolute(config_.patchDir, ec), ec);
    fs::path path = fs::path(file).is_absolute() ? fs::path(file) : dir / file;
    path = fs::weakly_canonical(path, ec); // symbolic links and ".." resolved
    const auto rel = path.lexically_relative(dir);
    if (ec || rel.empty() || *rel.begin() == "..")
        return fail("from another machine, " + what + " reads only files in the patch directory (" + dir.string() +
                    "); '" + file + "' is not");
    return path.string();
}

Expected<void> ControlSurface::checkBuffer(std::vector<model::Arg> &args, bool remote)
{
    const auto *name = args.size() >= 1 ? std::get_if<std::string>(&args[0]) : nullptr;
    const auto *file = args.size() == 2 ? std::get_if<std::string>(&args[1]) : nullptr;
    if (!name || !file)
        return fail("/buffer/load takes <name> <file>");
    std::error_code ec;
    std::string path = std::filesystem::absolute(*file, ec).lexically_normal().string();
    if (remote) {
        auto confined = inPatchDir(*file, "/buffer/load");
        if (!confined)
            return fail(confined.error());
        path = *confined;
    }
    std::size_t used = 0;
    for (const auto &[n, bytes] : bufferBytes_)
        used += n == *name ? 0 : bytes;
    const std::size_t room = config_.bufferMemoryBytes > used ? config_.bufferMemoryBytes - used : 0;
    auto data = samples::load(path, 0.0, room);
    if (!data)
        return fail(data.error() + (data.error().find("too large") != std::string::npos ? " (--buffer-memory)" : ""));
    bufferBytes_[*name] = data->bytes();
    args = {*name, path, data->hash};
    return {};
}

Expected<void> ControlSurface::checkPatchBuffers(std::vector<model::Arg> &args, bool remote)
{
    const auto *source = args.empty() ? nullptr : std::get_if<std::string>(&args[0]);
    if (!source)
        return {}; // the interpreter says what is wrong
    if (remote && (source->empty() || source->front() != '{')) {
        auto confined = inPatchDir(*source, "/patch/load");
        if (!confined)
            return fail(confined.error());
        args[0] = *confined;
        source = std::get_if<std::string>(&args[0]);
    }
    std::string text = *source, baseDir;
    if (source->empty() || source->front() != '{') {
        std::ifstream in(*source);
        if (!in)
            return {};
        std::ostringstream all;
        all << in.rdbuf();
        text = all.str();
        baseDir = std::filesystem::path(*source).parent_path().string();
    }
    if (remote) {
        // Voice templates named as files are read here, confined, and sent on inline.
        if (baseDir.empty())
            baseDir = config_.patchDir;
        const auto doc = nlohmann::json::parse(text, nullptr, false);
        if (doc.is_object() && doc.contains("nodes") && doc["nodes"].is_array())
            for (const auto &node : doc["nodes"])
                if (node.is_object() && node.contains("voice") && node["voice"].is_string()) {
                    const std::string voice = node["voice"].get<std::string>();
                    const auto at = std::filesystem::path(voice).is_absolute() ? voice : baseDir + "/" + voice;
                    if (auto confined = inPatchDir(at, "a voice template"); !confined)
                        return fail(confined.error());
                }
    }
    auto spec = model::PatchSpec::fromJson(text, baseDir);
    if (!spec)
        return {};
    if (remote) // no file is read after this: voice templates inline
        args[0] = spec->toJson(-1);
    if (spec->buffers.empty())
        return {};
    for (auto &b : spec->buffers) {
        std::vector<model::Arg> one = {b.name, b.file};
        if (auto checked = checkBuffer(one, remote); !checked)
            return fail("buffer '" + b.name + "': " + checked.error());
        b.file = std::get<std::string>(one[1]);
        b.hash = std::get<std::string>(one[2]);
    }
    args[0] = spec->toJson(-1);
    return {};
}

void ControlSurface::setQuantize(const osc::Message &msg)
{
    const auto word = msg.stringAt(0);
    if (msg.args.size() != 1 || !word || (*word != "bar" && *word != "beat" && *word != "off"))
        return failWith(msg, "/quantize takes bar, beat or off");
    quantize_ = *word == "bar" ? Grid::Bar : *word == "beat" ? Grid::Beat : Grid::Off;
    done(msg, {*word});
}

std::uint64_t ControlSurface::frameOf(const osc::Message &msg, std::string &address, const std::vector<model::Arg> &args)
{
    Grid grid = Grid::Off;
    for (const auto &[prefix, g] : {std::pair{std::string_view("/bar/"), Grid::Bar}, {"/beat/", Grid::Beat}})
        if (address.starts_with(prefix)) {
            address.erase(0, prefix.size() - 1);
            grid = g;
        }
    // What /quantize applies to: changes of what plays, not releases or settings.
    static constexpr std::string_view kGridded[] = {"/patch/commit", "/patch/load", "/seq/", "/note/", "/transport"};
    if (grid == Grid::Off && quantize_ != Grid::Off)
        for (auto g : kGridded)
            if (address.starts_with(g))
                grid = quantize_;
    // A command that only plays may take effect before a commit that came ahead of it.
    const std::uint64_t frame = timeline_.frameFor(msg.timetag, !interpreter_.onlyPlays(address, args));
    switch (grid) {
    case Grid::Bar: return transport_.nextBar(frame);
    case Grid::Beat: return transport_.nextBeat(frame);
    case Grid::Off: break;
    }
    return frame;
}

std::optional<model::Outcome> ControlSurface::playBefore(const std::string &address,
                                                         const std::vector<model::Arg> &args, std::uint64_t frame)
{
    if (players_.empty())
        return std::nullopt;
    const auto generation = timeline_.generationBefore(frame);
    if (!generation)
        return std::nullopt;
    const auto player = players_.find(*generation);
    if (player == players_.end() || !player->second->onlyPlays(address, args))
        return std::nullopt;
    auto outcome = player->second->handle(address, args);
    // A note for a poly that only the coming patch has waits for it.
    if (!outcome || !timeline_.stampBefore(*outcome, *generation, frame, address, args))
        return std::nullopt;
    ++playedBefore_;
    return std::move(*outcome);
}

void ControlSurface::keepPlayer()
{
    if (auto before = interpreter_.beforeLastCommit())
        players_[before->generation()] = std::move(before);
    // Patches that can no longer play: every frame still to be stamped comes after their end.
    const auto playing = timeline_.generationBefore(timeline_.safeFrame());
    const std::uint32_t oldest = playing ? *playing : interpreter_.generation();
    std::erase_if(players_, [&](const auto &p) { return p.first < oldest; });
    while (players_.size() > kMaxPlayers)
        players_.erase(players_.begin());
}

void ControlSurface::followClock(const std::string &address, const std::vector<model::Arg> &args,
                                 std::uint64_t frame)
{
    if (address == "/tempo") {
        transport_.setTempo(frame, interpreter_.tempoBpm());
    } else if (address == "/meter") {
        transport_.setMeter(frame, interpreter_.meterBeats(), interpreter_.meterUnit());
    } else if (address == "/transport" && !args.empty()) {
        const auto *verb = std::get_if<std::string>(&args[0]);
        const double bar = args.size() < 2                               ? 1.0
                           : std::holds_alternative<float>(args[1])     ? std::get<float>(args[1])
                           : std::holds_alternative<std::int32_t>(args[1]) ? double(std::get<std::int32_t>(args[1]))
                                                                           : 1.0;
        if (verb && *verb == "start")
            transport_.locate(frame, bar, true);
        else if (verb && *verb == "stop")
            transport_.setRunning(false);
        else if (verb && *verb == "locate" && args.size() == 2)
            transport_.locate(frame, bar, transport_.running());
    } else if (address == "/patch/load" || address == "/patch/commit") {
        // A loaded patch may bring its own tempo and meter; bars keep counting.
        if (interpreter_.tempoBpm() != transport_.bpm())
            transport_.setTempo(frame, interpreter_.tempoBpm());
        if (interpreter_.meterBeats() != transport_.beatsPerBar() || interpreter_.meterUnit() != transport_.beatUnit())
            transport_.setMeter(frame, interpreter_.meterBeats(), interpreter_.meterUnit());
    }
}

void ControlSurface::applyOwn(const std::string &address, const std::vector<model::Arg> &args, std::uint64_t frame)
{
    auto outcome = interpreter_.handle(address, args);
    if (!outcome) {
        log::warn(address, ": ", outcome.error());
        return;
    }
    (void)timeline_.apply(*outcome, frame, address, args);
    followClock(address, args, frame);
    if (outcome->commit)
        keepPlayer();
}

void ControlSurface::tickTransport()
{
    if (config_.transport == "lead") {
        if (!leading_) {
            leading_ = output_.becomeTimebaseMaster();
            log::info(leading_ ? "JACK transport: we are the timebase master"
                               : "JACK transport: cannot become the timebase master (is another one set?)");
            if (!leading_) {
                config_.transport = "off";
                return;
            }
        }
        output_.lead(transport_.bpm(), transport_.beatsPerBar(), transport_.beatUnit());
        return;
    }
    if (config_.transport != "follow")
        return;
    const JackTransportView t = output_.jackTransport();
    if (!t.valid)
        return;
    // The same fixed distance as MIDI: what JACK's cycle said takes effect that far on, at the
    // bar JACK's transport will have reached by then.
    const std::uint64_t delay = output_.midiDelayFrames();
    const std::uint64_t frame = t.frame + delay;
    const bool bars = t.bbt && t.bpm >= 1.0 && t.beatsPerBar >= 1 && t.beatType >= 1;
    const double framesPerBar = bars ? 60.0 * output_.sampleRate() / t.bpm * t.beatsPerBar * 4.0 / t.beatType : 0.0;
    const double barThen = bars ? std::max(1.0, t.bar + (t.rolling ? double(delay) / framesPerBar : 0.0)) : 1.0;
    if (t.bbt && t.bpm >= 1.0 && std::fabs(t.bpm - interpreter_.tempoBpm()) > 1e-3)
        applyOwn("/tempo", {float(t.bpm)}, frame);
    if (t.bbt && t.beatsPerBar >= 1 && (t.beatsPerBar != interpreter_.meterBeats() || t.beatType != interpreter_.meterUnit()))
        applyOwn("/meter", {std::int32_t(t.beatsPerBar), std::int32_t(t.beatType)}, frame);
    if (t.rolling != jackRolling_) {
        jackRolling_ = t.rolling;
        if (t.rolling)
            applyOwn("/transport", {std::string("start"), float(barThen)}, frame);
        else
            applyOwn("/transport", {std::string("stop")}, frame);
    } else if (t.rolling && bars && jackPosFrame_ != shm::kNoBlock && t.frame > jackPosFrame_) {
        // Rolling on: JACK's bar moves with time. A bar more than two periods away from where
        // time alone would have taken it is a relocation (a DAW's playhead moved): follow it.
        const double expected = jackPosBar_ + double(t.frame - jackPosFrame_) / framesPerBar;
        if (std::fabs(t.bar - expected) * framesPerBar > 2.0 * output_.periodFrames())
            applyOwn("/transport", {std::string("locate"), float(barThen)}, frame);
    }
    if (t.rolling && bars) {
        jackPosFrame_ = t.frame;
        jackPosBar_ = t.bar;
    } else {
        jackPosFrame_ = shm::kNoBlock;
    }
}

void ControlSurface::playMidi()
{
    MidiMessage m;
    // A bounded batch per call, so a MIDI flood cannot keep OSC clients waiting.
    for (int n = 0; n < 512 && output_.popMidi(m); ++n) {
        std::vector<model::Arg> args;
        for (std::uint8_t i = 0; i < m.size; ++i)
            args.emplace_back(std::int32_t(m.bytes[i]));
        const std::uint64_t frame = m.frame + output_.midiDelayFrames();
        if (frame < timeline_.safeFrame())
            ++midiLate_;
        // Played on the patch live at its frame, even while a scene change waits for its bar.
        if (playBefore("/midi/in", args, frame))
            continue;
        auto outcome = interpreter_.handle("/midi/in", args);
        if (!outcome)
            continue; // counted by the audio thread as it came; nothing to play
        (void)timeline_.apply(*outcome, frame, "/midi/in", args);
    }
}

void ControlSurface::answerWhenPlayed(const osc::Message &msg, Timeline::Ticket ticket, std::string_view address,
                                      std::vector<osc::Arg> args, const std::string &timeoutReason,
                                      std::int64_t commitGeneration)
{
    // The answer goes out from tick() once the output has played the command's frame (over
    // TCP on the request's connection); meanwhile we keep reading everybody's commands.
    deferred_.push_back({ticket, shm::kNoBlock, msg.peer(), msg.address, std::string(address), std::move(args),
                         timeoutReason, commitGeneration, std::chrono::steady_clock::now() + kAnswerPatience});
}

bool ControlSurface::ready(Deferred &d)
{
    const std::uint64_t cycle = output_.cycleFrame();
    if (d.frame == shm::kNoBlock) {
        const auto frame = timeline_.takeFrame(d.ticket);
        if (!frame)
            return false;
        d.frame = *frame;
        // A command scheduled ahead (a future timetag) waits for its frame besides.
        if (cycle != shm::kNoBlock && d.frame > cycle)
            d.deadline = std::max(d.deadline, std::chrono::steady_clock::now() + kAnswerPatience +
                                                  std::chrono::microseconds(std::llround(
                                                      double(d.frame - cycle) * 1e6 / segment_.geometry().sampleRate)));
    }
    return d.frame != shm::kNoBlock && cycle != shm::kNoBlock && cycle >= d.frame;
}

void ControlSurface::finishAnswer(Deferred &d)
{
    if (d.commitGeneration < 0)
        return;
    d.args.emplace_back(static_cast<std::int64_t>(d.frame));
    notify("commit_done", log::cat(d.commitGeneration, " ", d.frame));
}

void ControlSurface::answerDeferred()
{
    if (deferred_.empty() || !server_)
        return;
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(deferred_, [&](Deferred &d) {
        if (ready(d)) {
            finishAnswer(d);
            server_->send(d.to, d.address, d.args);
            return true;
        }
        if (now > d.deadline || output_.serverGone()) {
            ++rejected_;
            server_->send(d.to, "/fail", {d.request, d.timeoutReason});
            return true;
        }
        return false;
    });
}

void ControlSurface::savePatch(const osc::Message &msg)
{
    const auto name = msg.stringAt(0);
    if (msg.args.size() != 1 || !name)
        return failWith(msg, "/patch/save takes one name");
    if (!validPatchName(*name))
        return failWith(msg, "patch names use letters, digits, '-', '_' and '.', up to 100 characters");
    std::error_code ec;
    std::filesystem::create_directories(config_.patchDir, ec);
    const std::string path = config_.patchDir + "/" + withJson(*name);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << interpreter_.liveJson(2) << '\n';
        if (!out.flush())
            return failWith(msg, "cannot write '" + path + "'");
    }
    std::filesystem::rename(tmp, path, ec); // atomic: a crash never leaves half a file
    if (ec)
        return failWith(msg, "cannot write '" + path + "': " + ec.message());
    done(msg, {path});
}

void ControlSurface::status(const osc::Message &msg)
{
    const OutputCounters &c = output_.counters();
    std::vector<osc::Arg> r;
    auto kv = [&](const char *key, osc::Arg value) {
        r.emplace_back(std::string(key));
        r.push_back(std::move(value));
    };
    const int active = output_.activeSlot();
    kv("active_slot", std::int32_t(active));
    std::uint64_t queueDepth = 0, late = 0;
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        const shm::SlotView view = segment_.slot(s);
        const std::string p = "slot" + std::to_string(s) + "_";
        kv((p + "state").c_str(), slots_.statusWord(s));
        kv((p + "pid").c_str(), std::int32_t(slots_.pid(s)));
        kv((p + "dsp_load").c_str(), float(view.status->dspLoadPpm.load(std::memory_order_relaxed)) / 1e6f);
        kv((p + "events_applied").c_str(),
           std::int64_t(view.status->eventsApplied.load(std::memory_order_relaxed)));
        kv((p + "events_late").c_str(), std::int64_t(view.status->eventsLate.load(std::memory_order_relaxed)));
        kv((p + "inputs_missing").c_str(), std::int64_t(view.status->inputsMissing.load(std::memory_order_relaxed)));
        if (static_cast<int>(s) == active) {
            queueDepth = view.events.size();
            late = view.status->eventsLate.load(std::memory_order_relaxed);
        }
    }
    const std::uint64_t lastFailover = c.lastFailoverFrame.load(std::memory_order_relaxed);
    kv("failovers", std::int64_t(c.failovers.load(std::memory_order_relaxed)));
    kv("last_failover_frame", std::int64_t(lastFailover == shm::kNoBlock ? -1 : std::int64_t(lastFailover)));
    kv("divergences", std::int64_t(c.divergences.load(std::memory_order_relaxed)));
    kv("gaps", std::int64_t(c.gaps.load(std::memory_order_relaxed)));
    kv("xruns", std::int64_t(c.xruns.load(std::memory_order_relaxed)));
    kv("skipped_frames", std::int64_t(c.skippedFrames.load(std::memory_order_relaxed)));
    kv("misread_cycles", std::int64_t(c.misreadCycles.load(std::memory_order_relaxed)));
    kv("misplayed_blocks", std::int64_t(c.misplayedBlocks.load(std::memory_order_relaxed)));
    // Inputs (supervisor/input_hold.hpp): cycles copied while JACK began the next one, frames
    // of them that held the next cycle's audio (silence in their place), and copies of a
    // callback that read ahead, put at their own cycle.
    kv("input_torn_cycles", std::int64_t(c.inputTornCycles.load(std::memory_order_relaxed)));
    kv("input_doubtful_frames", std::int64_t(c.inputDoubtfulFrames.load(std::memory_order_relaxed)));
    kv("input_moved_cycles", std::int64_t(c.inputMovedCycles.load(std::memory_order_relaxed)));
    kv("queue_depth", std::int64_t(queueDepth));
    kv("late_commands", std::int64_t(timeline_.lateCommands() + late));
    kv("commands_at_risk", std::int64_t(timeline_.commandsAtRisk()));
    kv("commands", std::int64_t(timeline_.commandsStamped()));
    kv("rejected", std::int64_t(rejected_));
    kv("refused_packets", std::int64_t(server_ ? server_->refusedPackets() : 0));
    kv("allowed", server_ ? server_->allowedText() : std::string()); // --allow
    {
        // Whether JACK runs our process callback (it does not while a NetJACK2 slave has lost
        // its master, or the server is stopped): "running" or "stalled", and for how long.
        const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                  lastCycleAt_).count();
        kv("audio", std::string(quiet > kStallMs ? "stalled" : "running"));
        kv("ms_since_cycle", std::int64_t(quiet));
    }
    kv("midi_messages", std::int64_t(c.midiMessages.load(std::memory_order_relaxed)));
    kv("midi_ignored", std::int64_t(c.midiIgnored.load(std::memory_order_relaxed)));
    kv("midi_dropped", std::int64_t(c.midiDropped.load(std::memory_order_relaxed)));
    kv("midi_late", std::int64_t(midiLate_));
    kv("played_before_commit", std::int64_t(playedBefore_));
    // --master-clock: "on" once the master's cycles map the timetags, "waiting" until then.
    kv("master_clock", std::string(!output_.masterClockWanted()        ? "off"
                                   : output_.masterClockConnected() && output_.masterClockCycles() > 0 ? "on"
                                                                                                      : "waiting"));
    kv("midi_latency_frames", std::int64_t(output_.midiDelayFrames()));
    // The lookahead now (periods) and, with --lookahead auto, how it moved; the output's
    // margin: cycles by how many blocks the readiest slot had ready (0, 1, 2, ... 9 or more).
    kv("lookahead", std::int32_t(segment_.header().lookahead.load(std::memory_order_relaxed)));
    if (lookahead_) {
        kv("lookahead_mode", std::string(lookahead_->config().adaptive ? "auto" : "fixed"));
        kv("lookahead_max", std::int32_t(lookahead_->config().max));
        kv("lookahead_raised", std::int64_t(lookahead_->raises()));
        kv("lookahead_lowered", std::int64_t(lookahead_->lowers()));
        kv("lookahead_why", lookahead_->lastReason());
    }
    {
        std::string ready;
        for (const auto &cycles : c.readyCycles)
            ready += (ready.empty() ? "" : " ") + std::to_string(cycles.load(std::memory_order_relaxed));
        kv("ready_cycles", ready);
        kv("thin_cycles", std::int64_t(c.readyCycles[0].load(std::memory_order_relaxed) +
                                       c.readyCycles[1].load(std::memory_order_relaxed)));
    }
    kv("inputs", std::int32_t(segment_.geometry().inputs));
    {
        std::string names;
        for (const std::string &s : stemPorts_)
            names += (names.empty() ? "" : " ") + s;
        kv("stems", names); // nodes with ports of their own, stem_<node>_L/R, in port order
    }
    kv("input_latency_frames", std::int64_t(shm::inputDelayFrames(segment_.geometry())));
    kv("tempo", float(transport_.bpm()));
    kv("meter", std::to_string(transport_.beatsPerBar()) + "/" + std::to_string(transport_.beatUnit()));
    kv("transport", std::string(transport_.running() ? "rolling" : "stopped"));
    if (const std::uint64_t now = output_.cycleFrame(); now != shm::kNoBlock) {
        kv("bar", float(transport_.barAt(now)));
        kv("next_bar_frame", std::int64_t(transport_.nextBar(now)));
    }
    kv("jack_transport", config_.transport);
    kv("quantize", std::string(quantize_ == Grid::Bar ? "bar" : quantize_ == Grid::Beat ? "beat" : "off"));
    kv("frame", std::int64_t(output_.cycleFrame() == shm::kNoBlock ? -1 : std::int64_t(output_.cycleFrame())));
    kv("generation", std::int32_t(interpreter_.generation()));
    kv("redundant", std::int32_t(slots_.redundant() ? 1 : 0));
    kv("respawns", std::int64_t(slots_.respawns()));
    kv("both_late", std::int64_t(slots_.bothLateEpisodes()));
    kv("both_late_max_ms", float(slots_.bothLateMaxMs()));
    kv("both_late_why", slots_.bothLateWhy());
    kv("last_restore_ms", float(slots_.lastRestoreMs()));
    kv("max_restore_ms", float(slots_.maxRestoreMs()));
    reply(msg, "/status.reply", std::move(r));
}

void ControlSurface::relayFromRecorder(const osc::Message &news)
{
    // What the recorder says on its own (a take ended by its duration limit, a disk error)
    // goes to whoever started the take through us; nobody else asked.
    if (server_ && !recordStarter_.empty())
        server_->send(recordStarter_, news.address, news.args);
}

void ControlSurface::syncStems()
{
    output_.releaseStemPorts();
    const std::vector<std::string> &stems = interpreter_.liveStems();
    if (stems == stemPorts_)
        return;
    stemPorts_ = stems;
    const std::string failed = output_.setStems(stems);
    if (!failed.empty())
        log::warn(failed);
    std::vector<std::pair<std::string, const TapRing *>> taps;
    for (std::size_t k = 0; k < stems.size(); ++k)
        if (const TapRing *tap = output_.stemTap(k))
            taps.emplace_back(stems[k], tap);
    ears_.setStems(std::move(taps));
    std::string names;
    for (const std::string &s : stems)
        names += (names.empty() ? "" : " ") + s;
    notify("stems", names);
}

void ControlSurface::tick()
{
    if (const std::uint64_t cycles = output_.counters().cycles.load(std::memory_order_relaxed); cycles != lastCycles_) {
        if (std::chrono::steady_clock::now() - lastCycleAt_ > std::chrono::milliseconds(kStallMs))
            log::info("JACK runs the audio thread again after ",
                      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lastCycleAt_).count(),
                      " ms");
        lastCycles_ = cycles;
        lastCycleAt_ = std::chrono::steady_clock::now();
    }
    answerDeferred();
    ears_.tick();
    syncStems();
    if (!recorder_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now < nextRecorderCheck_ && forwarded_.empty())
        return;
    nextRecorderCheck_ = now + std::chrono::milliseconds(50);
    while (auto got = recorder_->receive(0))
        takeFromRecorder(*got);
    // Requests the recorder did not answer in time: say so, and go on serving everyone.
    std::erase_if(forwarded_, [&](const Forwarded &f) {
        if (now < f.deadline)
            return false;
        ++rejected_;
        if (server_)
            server_->send(f.to, "/fail", {f.request, recorderSilence()});
        return true;
    });
}

void ControlSurface::takeFromRecorder(const osc::Message &got)
{
    // The recorder answers in the order it was asked: the oldest request with this address.
    const auto answered = [&](const Forwarded &f) {
        return got.address == f.request + ".reply" ||
               ((got.address == "/done" || got.address == "/fail") && got.stringAt(0) && *got.stringAt(0) == f.request);
    };
    const auto it = std::find_if(forwarded_.begin(), forwarded_.end(), answered);
    if (it == forwarded_.end())
        return relayFromRecorder(got); // news, not an answer
    if (it->request == "/record/start" && got.address == "/done")
        recordStarter_ = it->to;
    if (server_)
        server_->send(it->to, got.address, got.args);
    forwarded_.erase(it);
}

std::string ControlSurface::recorderSilence() const
{
    return log::cat("recorder not answering (chronus-recorder on ", config_.recorderHost, ":", config_.recorderPort,
                    "; is it running?)");
}

void ControlSurface::forwardToRecorder(const osc::Message &msg)
{
    if (!recorder_) {
        auto client = osc::Client::open(osc::Protocol::Udp, config_.recorderHost, config_.recorderPort);
        if (!client)
            return failWith(msg, "cannot reach the recorder: " + client.error());
        recorder_ = std::move(*client);
    }
    if (!recorder_->send(msg.address, msg.args))
        return failWith(msg, log::cat("cannot send to the recorder on port ", config_.recorderPort));
    // The recorder answers within milliseconds, but a stop drains the ring first and may wait
    // out a disk stall (up to 3 s).
    const auto patience = std::chrono::seconds(msg.address == "/record/stop" ? 6 : 2);
    // Answered from tick() when the recorder answers (over TCP on the request's
    // connection): nobody waits for it here.
    if (forwarded_.size() >= kMaxForwarded)
        return failWith(msg, "too many requests waiting for the recorder");
    forwarded_.push_back({msg.address, msg.peer(), std::chrono::steady_clock::now() + patience});
}

} // namespace chronus::supervisor
