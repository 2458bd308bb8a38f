// The Interpreter's playing commands: notes into polys (/note, /note_off, /notes_off), /panic,
// and MIDI (/midi/in from the supervisor's JACK MIDI port or any client, /midi/bind,
// /midi/map, /midi/unmap, /midi/learn, /midi/maps). Every one becomes frame-less events the
// caller stamps, like /mod, so MIDI is journalled and replayed like OSC.
#include "model/interpreter.hpp"

#include "model/modules/poly.hpp"
#include "model/pitch.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace chronus::model {

namespace {

// A MIDI pitch from a number (0..127, fractional for microtones) or a name ("C#4", "60").
Expected<float> pitchArg(const Arg &a)
{
    double pitch = 0.0;
    if (isNumber(a)) {
        pitch = toNumber(a);
    } else {
        const std::string &text = std::get<std::string>(a);
        if (auto name = parseNoteName(text)) {
            if (!*name)
                return fail(name->error());
            return static_cast<float>(**name);
        }
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), pitch);
        if (ec != std::errc() || ptr != text.data() + text.size())
            return fail("pitch '" + text + "' is neither a note name (C4, F#3, Bb2) nor a MIDI number (0..127)");
    }
    if (!std::isfinite(pitch) || pitch < 0.0 || pitch > 127.0)
        return fail("pitch " + argText(a) + " is out of range (MIDI 0..127, C-1..G9)");
    return static_cast<float>(pitch);
}

// Velocity 0..1, or 0..127 as MIDI gives it (any value above 1).
Expected<float> velocityArg(const Arg &a)
{
    if (!isNumber(a))
        return fail("velocity must be a number: 0..1 (or 0..127 as in MIDI)");
    double v = toNumber(a);
    if (!std::isfinite(v) || v < 0.0 || v > 127.0)
        return fail("velocity " + argText(a) + " is out of range (0..1, or 0..127 as in MIDI)");
    if (v > 1.0)
        v /= 127.0;
    return static_cast<float>(v);
}

int intArg(const Arg &a) { return isNumber(a) ? static_cast<int>(std::lround(toNumber(a))) : -1; }

// "all", "none" or 1..16; -2 when it is none of them.
int channelArg(const Arg &a)
{
    if (const auto *s = std::get_if<std::string>(&a)) {
        if (*s == "all" || *s == "omni")
            return 0;
        if (*s == "none" || *s == "off")
            return -1;
        int c = 0;
        auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), c);
        return ec == std::errc() && ptr == s->data() + s->size() && c >= 1 && c <= 16 ? c : -2;
    }
    const int c = intArg(a);
    return c >= 1 && c <= 16 ? c : -2;
}

} // namespace

Expected<std::uint32_t> Interpreter::livePoly(std::string_view id) const
{
    if (id.empty() || id.find('/') != std::string_view::npos)
        return fail("name a poly: /note/<poly>");
    const int n = live_->findNode(id);
    if (n < 0) {
        if (pending_.findNode(id))
            return fail("poly '" + std::string(id) + "' is not live yet (/patch/commit)");
        std::string polys;
        for (const auto &node : live_->nodes)
            if (node.spec->type == "poly")
                polys += (polys.empty() ? "" : ", ") + node.id;
        return fail("no poly '" + std::string(id) + "' (polys: " + (polys.empty() ? "none" : polys) + ")");
    }
    if (live_->nodes[n].spec->type != "poly")
        return fail("node '" + std::string(id) + "' is a " + live_->nodes[n].spec->type + ", not a poly");
    return static_cast<std::uint32_t>(n);
}

Outcome Interpreter::polyEvents(const std::vector<std::uint32_t> &polys, EventType type, float value,
                                float value2) const
{
    Outcome out;
    for (auto p : polys) {
        Event e;
        e.generation = live_->generation;
        e.node = p;
        e.type = type;
        e.value = value;
        e.value2 = value2;
        out.events.push_back(e);
    }
    return out;
}

// /note/<poly> <pitch> <velocity> [duration_s]
Expected<Outcome> Interpreter::note(std::string_view id, const std::vector<Arg> &args)
{
    auto poly = livePoly(id);
    if (!poly)
        return fail(poly.error());
    if (args.size() < 2 || args.size() > 3)
        return fail("/note/<poly> takes <pitch> <velocity> [duration_s] (pitch: 60, 60.5 or C4; velocity 0..1, "
                    "0 releases)");
    auto pitch = pitchArg(args[0]);
    if (!pitch)
        return fail(pitch.error());
    auto velocity = velocityArg(args[1]);
    if (!velocity)
        return fail(velocity.error());
    double seconds = 0.0;
    if (args.size() == 3) {
        seconds = isNumber(args[2]) ? toNumber(args[2]) : -1.0;
        if (!std::isfinite(seconds) || seconds <= 0.0 || seconds > 3600.0)
            return fail("duration must be a number of seconds above 0 and at most 3600");
    }
    if (*velocity == 0.0f)
        return noteOff(id, {args[0]});
    Outcome out = polyEvents({*poly}, EventType::NoteOn, *pitch, *velocity);
    setNoteDurationUs(out.events.front(), static_cast<std::uint32_t>(std::llround(seconds * 1e6)));
    out.reply = {std::string(id), *pitch, *velocity};
    return out;
}

// /note_off/<poly> <pitch>
Expected<Outcome> Interpreter::noteOff(std::string_view id, const std::vector<Arg> &args)
{
    auto poly = livePoly(id);
    if (!poly)
        return fail(poly.error());
    if (args.size() != 1)
        return fail("/note_off/<poly> takes <pitch>");
    auto pitch = pitchArg(args[0]);
    if (!pitch)
        return fail(pitch.error());
    Outcome out = polyEvents({*poly}, EventType::NoteOff, *pitch);
    out.reply = {std::string(id), *pitch};
    return out;
}

// /notes_off/<poly>, or /notes_off for every poly: release, tails ring on.
Expected<Outcome> Interpreter::notesOff(std::string_view rest, const std::vector<Arg> &args)
{
    if (!args.empty())
        return fail("/notes_off takes no arguments");
    std::vector<std::uint32_t> polys;
    if (!rest.empty()) {
        auto poly = livePoly(rest);
        if (!poly)
            return fail(poly.error());
        polys.push_back(*poly);
    } else {
        polys = polysOnChannel(0);
    }
    Outcome out = polyEvents(polys, EventType::NotesOff);
    out.reply = {static_cast<std::int32_t>(polys.size())};
    return out;
}

// /panic: every voice of every poly silenced within milliseconds, pedals up, sequencers stopped.
Expected<Outcome> Interpreter::panic(std::string_view, const std::vector<Arg> &args)
{
    if (!args.empty())
        return fail("/panic takes no arguments");
    const auto polys = polysOnChannel(0);
    Outcome out = polyEvents(polys, EventType::Sustain, 0.0f);
    const Outcome cut = polyEvents(polys, EventType::VoicesCut);
    out.events.insert(out.events.end(), cut.events.begin(), cut.events.end());
    std::int32_t stopped = 0;
    for (const auto &node : live_->nodes) {
        if (node.spec->type != "sequencer")
            continue;
        auto stop = setParam(node.id, "running", {Arg(0)}, 0);
        if (stop) {
            out.events.insert(out.events.end(), stop->events.begin(), stop->events.end());
            ++stopped;
        }
    }
    out.reply = {static_cast<std::int32_t>(polys.size()), stopped};
    return out;
}

std::vector<std::uint32_t> Interpreter::polysOnChannel(int channel) const
{
    std::vector<std::uint32_t> polys;
    for (std::uint32_t i = 0; i < live_->nodes.size(); ++i) {
        const auto &node = live_->nodes[i];
        if (node.spec->type != "poly")
            continue;
        int listens = 0; // a poly not bound listens to every channel
        for (const auto &b : liveSpec_.midiBinds)
            if (b.poly == node.id)
                listens = b.channel;
        if (channel == 0 || listens == 0 || listens == channel)
            if (listens >= 0 || channel == 0)
                polys.push_back(i);
    }
    return polys;
}

// /midi/<verb> ...
Expected<Outcome> Interpreter::midi(std::string_view verb, const std::vector<Arg> &args)
{
    if (verb == "in")
        return midiIn(args);
    if (verb == "bind")
        return midiBind(args);
    if (verb == "map")
        return midiMap(args);
    if (verb == "unmap")
        return midiUnmap(args);
    if (verb == "learn") {
        if (args.size() != 1 || isNumber(args[0]))
            return fail("/midi/learn takes <node.param> (the next controller moved is mapped to it)");
        const std::string to = std::get<std::string>(args[0]);
        const auto dot = to.find('.');
        auto ref = dot == std::string::npos ? Expected<ParamRef>(fail("'" + to + "' is not node.param"))
                                            : resolveParam(*live_, std::string_view(to).substr(0, dot),
                                                           std::string_view(to).substr(dot + 1));
        if (!ref)
            return fail(ref.error());
        learning_ = to;
        Outcome out;
        out.reply = {to};
        return out;
    }
    if (verb == "maps") {
        if (!args.empty())
            return fail("/midi/maps takes no arguments");
        nlohmann::json maps = nlohmann::json::array();
        for (const auto &m : liveSpec_.midiMaps)
            maps.push_back({{"cc", m.cc}, {"to", m.to}, {"min", m.min}, {"max", m.max}});
        nlohmann::json bind = nlohmann::json::object();
        for (const auto &b : liveSpec_.midiBinds)
            bind[b.poly] = b.channel == 0 ? nlohmann::json("all") : b.channel < 0 ? nlohmann::json("none")
                                                                                  : nlohmann::json(b.channel);
        Outcome out;
        out.reply = {nlohmann::json({{"maps", maps}, {"bind", bind}, {"learning", learning_}}).dump()};
        return out;
    }
    return fail("unknown /midi command '" + std::string(verb) + "' (in, bind, map, unmap, learn, maps)");
}

void Interpreter::setMidi(std::vector<PatchSpec::MidiBind> binds, std::vector<PatchSpec::MidiMap> maps)
{
    liveSpec_.midiBinds = binds;
    liveSpec_.midiMaps = maps;
    pending_.midiBinds = std::move(binds);
    pending_.midiMaps = std::move(maps);
}

// /midi/bind <poly> <channel 1..16 | all | none>
Expected<Outcome> Interpreter::midiBind(const std::vector<Arg> &args)
{
    if (args.size() != 2 || isNumber(args[0]))
        return fail("/midi/bind takes <poly> <channel 1..16 | all | none>");
    const std::string id = std::get<std::string>(args[0]);
    auto poly = livePoly(id);
    if (!poly)
        return fail(poly.error());
    const int channel = channelArg(args[1]);
    if (channel < -1)
        return fail("MIDI channel must be 1..16, all or none");
    auto binds = liveSpec_.midiBinds;
    std::erase_if(binds, [&](const PatchSpec::MidiBind &b) { return b.poly == id; });
    if (channel != 0)
        binds.push_back({id, channel});
    setMidi(std::move(binds), liveSpec_.midiMaps);
    Outcome out;
    out.reply = {id, channel == 0 ? Arg(std::string("all")) : channel < 0 ? Arg(std::string("none")) : Arg(channel)};
    return out;
}

// /midi/map <cc> <node.param> [min max]
Expected<Outcome> Interpreter::midiMap(const std::vector<Arg> &args)
{
    if ((args.size() != 2 && args.size() != 4) || !isNumber(args[0]) || isNumber(args[1]) ||
        (args.size() == 4 && (!isNumber(args[2]) || !isNumber(args[3]))))
        return fail("/midi/map takes <cc 0..127> <node.param> [min max]");
    const int cc = intArg(args[0]);
    if (cc < 0 || cc > 127)
        return fail("controller number must be 0..127");
    const std::string to = std::get<std::string>(args[1]);
    const auto dot = to.find('.');
    if (dot == std::string::npos)
        return fail("'" + to + "' is not node.param");
    auto ref = resolveParam(*live_, std::string_view(to).substr(0, dot), std::string_view(to).substr(dot + 1));
    if (!ref)
        return fail(ref.error());
    PatchSpec::MidiMap map{cc, to, ref->spec->min, ref->spec->max};
    if (args.size() == 4) {
        map.min = toNumber(args[2]);
        map.max = toNumber(args[3]);
        if (!std::isfinite(map.min) || !std::isfinite(map.max))
            return fail("min and max must be finite");
    }
    auto maps = liveSpec_.midiMaps;
    std::erase_if(maps, [&](const PatchSpec::MidiMap &m) { return m.cc == cc && m.to == to; });
    maps.push_back(map);
    setMidi(liveSpec_.midiBinds, std::move(maps));
    Outcome out;
    out.reply = {cc, to, static_cast<float>(map.min), static_cast<float>(map.max)};
    return out;
}

// /midi/unmap <cc> | <node.param>
Expected<Outcome> Interpreter::midiUnmap(const std::vector<Arg> &args)
{
    if (args.size() != 1)
        return fail("/midi/unmap takes <cc> or <node.param>");
    auto maps = liveSpec_.midiMaps;
    const auto before = maps.size();
    if (isNumber(args[0]))
        std::erase_if(maps, [&](const PatchSpec::MidiMap &m) { return m.cc == intArg(args[0]); });
    else
        std::erase_if(maps, [&](const PatchSpec::MidiMap &m) { return m.to == std::get<std::string>(args[0]); });
    if (maps.size() == before)
        return fail("no MIDI map for " + argText(args[0]));
    const auto removed = static_cast<std::int32_t>(before - maps.size());
    setMidi(liveSpec_.midiBinds, std::move(maps));
    Outcome out;
    out.reply = {removed};
    return out;
}

// /midi/in <status> [data1] [data2]: one MIDI message, as the JACK MIDI port delivers it.
Expected<Outcome> Interpreter::midiIn(const std::vector<Arg> &args)
{
    if (args.empty() || args.size() > 3 || !std::all_of(args.begin(), args.end(), isNumber))
        return fail("/midi/in takes 1 to 3 bytes of one MIDI message (status, data1, data2)");
    int bytes[3] = {0, 0, 0};
    for (std::size_t i = 0; i < args.size(); ++i) {
        bytes[i] = intArg(args[i]);
        if (bytes[i] < 0 || bytes[i] > 255 || (i > 0 && bytes[i] > 127))
            return fail("/midi/in: byte " + std::to_string(i + 1) + " is out of range");
    }
    const int status = bytes[0] & 0xF0;
    const int channel = (bytes[0] & 0x0F) + 1;
    if (bytes[0] < 0x80 || bytes[0] >= 0xF0)
        return Outcome{}; // system messages (clock, sysex, active sensing): nothing to play
    const std::size_t needs = status == 0xC0 || status == 0xD0 ? 2 : 3;
    if (args.size() < needs)
        return fail("/midi/in: the message is incomplete");
    const auto polys = polysOnChannel(channel);
    switch (status) {
    case 0x90:
        if (bytes[2] > 0) {
            Outcome out = polyEvents(polys, EventType::NoteOn, float(bytes[1]), float(bytes[2]) / 127.0f);
            return out;
        }
        [[fallthrough]];
    case 0x80:
        return polyEvents(polys, EventType::NoteOff, float(bytes[1]));
    case 0xA0: // polyphonic aftertouch: the voices of that note
        return polyEvents(polys, EventType::Pressure, float(bytes[2]) / 127.0f, float(bytes[1]));
    case 0xD0: // channel pressure
        return polyEvents(polys, EventType::Pressure, float(bytes[1]) / 127.0f, -1.0f);
    case 0xE0: { // pitch bend, 14 bits, 8192 centred
        const int bend = bytes[1] | (bytes[2] << 7);
        return polyEvents(polys, EventType::Bend, std::clamp(float(bend - 8192) / 8191.0f, -1.0f, 1.0f));
    }
    case 0xB0:
        return midiControl(channel, bytes[1], bytes[2]);
    default: // program change: nothing to play
        return Outcome{};
    }
}

Expected<Outcome> Interpreter::midiControl(int channel, int cc, int value)
{
    const auto polys = polysOnChannel(channel);
    if (!learning_.empty()) {
        const std::string to = std::exchange(learning_, {});
        auto mapped = midiMap({Arg(cc), Arg(to)});
        if (!mapped)
            return mapped;
    }
    if (cc == 64)
        return polyEvents(polys, EventType::Sustain, value >= 64 ? 1.0f : 0.0f);
    if (cc == 120)
        return polyEvents(polys, EventType::VoicesCut);
    if (cc == 123)
        return polyEvents(polys, EventType::NotesOff);
    Outcome all;
    for (const auto &m : liveSpec_.midiMaps) {
        if (m.cc != cc)
            continue;
        const auto dot = m.to.find('.');
        auto ref = resolveParam(*live_, std::string_view(m.to).substr(0, dot), std::string_view(m.to).substr(dot + 1));
        if (!ref)
            continue; // its node went away with a commit: the map waits for it
        const double x = value / 127.0;
        // Frequencies move in pitch, not in Hz: equal steps of the knob, equal intervals.
        const bool exponential = ref->spec->unit == "Hz" && m.min > 0.0 && m.max > 0.0;
        const double v = exponential ? m.min * std::pow(m.max / m.min, x) : m.min + x * (m.max - m.min);
        const std::string nodeId = m.to.substr(0, dot);
        auto one = setParam(nodeId, m.to.substr(dot + 1), {Arg(static_cast<float>(v))}, 0);
        if (one)
            all.events.insert(all.events.end(), one->events.begin(), one->events.end());
    }
    all.warning.clear();
    return all;
}

Expected<Outcome> Interpreter::commitLive(PatchSpec candidate)
{
    auto compiled = compile(candidate, live_->generation + 1);
    if (!compiled)
        return fail(compiled.error());
    keepBeforeCommit();
    live_ = std::make_shared<const CompiledPatch>(std::move(*compiled));
    liveSpec_ = std::move(candidate);
    Outcome out;
    out.commit = live_;
    out.crossfadeMs = 0.0f; // nodes that stay keep their state: nothing is heard
    return out;
}

// /stem <node> <1|0>: a commit of the live patch with the stem added (last in port order)
// or removed; the pending patch gets the same change. Nothing is heard: the nodes keep
// their state.
Expected<Outcome> Interpreter::stem(std::string_view, const std::vector<Arg> &args)
{
    const std::string id = !args.empty() && !isNumber(args[0]) ? std::get<std::string>(args[0]) : "";
    int on = -1;
    if (args.size() == 2) {
        if (isNumber(args[1]))
            on = toNumber(args[1]) == 1.0 ? 1 : toNumber(args[1]) == 0.0 ? 0 : -1;
        else if (const auto &w = std::get<std::string>(args[1]); w == "on" || w == "true")
            on = 1;
        else if (w == "off" || w == "false")
            on = 0;
    }
    if (id.empty() || on < 0)
        return fail("/stem takes <node> <1|0>");
    PatchSpec candidate = liveSpec_;
    auto &list = candidate.stems;
    const bool listed = std::find(list.begin(), list.end(), id) != list.end();
    if (on == 1) {
        if (listed)
            return fail("node '" + id + "' is a stem already");
        if (live_->findNode(id) < 0)
            return fail("no node '" + id + "' in the live patch");
        if (list.size() >= stemLimit_)
            return fail("all " + std::to_string(stemLimit_) + " stems are in use (chronus-supervisor --stems N sets how many)");
        list.push_back(id);
    } else {
        if (!listed)
            return fail("node '" + id + "' is not a stem");
        std::erase(list, id);
    }
    auto out = commitLive(std::move(candidate));
    if (!out)
        return out;
    if (on == 1 && pending_.findNode(id) && std::find(pending_.stems.begin(), pending_.stems.end(), id) == pending_.stems.end())
        pending_.stems.push_back(id);
    if (on == 0)
        std::erase(pending_.stems, id);
    out->reply = {id, on, static_cast<std::int32_t>(live_->generation)};
    return out;
}

Expected<Outcome> Interpreter::meterTap(std::string_view, const std::vector<Arg> &args)
{
    if (args.empty() || args.size() > 2)
        return fail("/meter/tap takes <node> [1|0]");
    std::vector<Arg> stemArgs = args;
    if (stemArgs.size() == 1)
        stemArgs.push_back(std::int32_t(1));
    const std::string id = isNumber(args[0]) ? "" : std::get<std::string>(args[0]);
    const auto &stems = liveSpec_.stems;
    const bool listed = std::find(stems.begin(), stems.end(), id) != stems.end();
    // Tapping a stem, or untapping what is no stem, changes nothing.
    if (isNumber(stemArgs[1]) && (toNumber(stemArgs[1]) == 1.0) == listed) {
        Outcome out;
        out.reply = {id, std::int32_t(listed ? 1 : 0)};
        return out;
    }
    return stem({}, stemArgs);
}

// /buffer/load <name> <file> [hash] | /buffer/free <name> | /buffer/list
Expected<Outcome> Interpreter::buffer(std::string_view verb, const std::vector<Arg> &args)
{
    auto word = [&](std::size_t i) { return i < args.size() && !isNumber(args[i]) ? std::get<std::string>(args[i]) : ""; };
    if (verb == "list") {
        nlohmann::json list = nlohmann::json::array();
        for (const auto &b : liveSpec_.buffers)
            list.push_back({{"name", b.name}, {"file", b.file}, {"hash", b.hash}});
        Outcome out;
        out.reply = {list.dump()};
        return out;
    }
    const std::string name = word(0);
    if (name.empty() || name.size() > 64 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }))
        return fail("/buffer/" + std::string(verb) + " needs a buffer name (1-64 letters, digits, '_' or '-')");
    if (verb == "load") {
        if (args.size() < 2 || args.size() > 3 || word(1).empty())
            return fail("/buffer/load takes <name> <file>");
        PatchSpec candidate = liveSpec_;
        PatchSpec::Buffer b{name, word(1), word(2)};
        std::erase_if(candidate.buffers, [&](const PatchSpec::Buffer &x) { return x.name == name; });
        candidate.buffers.push_back(b);
        auto out = commitLive(std::move(candidate));
        if (!out)
            return out;
        std::erase_if(pending_.buffers, [&](const PatchSpec::Buffer &x) { return x.name == name; });
        pending_.buffers.push_back(b);
        out->reply = {name, b.file, b.hash};
        return out;
    }
    if (verb == "free") {
        if (args.size() != 1)
            return fail("/buffer/free takes <name>");
        if (!liveSpec_.findBuffer(name))
            return fail("no buffer '" + name + "'");
        for (const PatchSpec *spec : {&liveSpec_, &pending_})
            for (const auto &node : spec->nodes)
                for (const auto &[param, value] : node.params)
                    if (param == "buffer" && std::holds_alternative<std::string>(value) && std::get<std::string>(value) == name)
                        return fail("buffer '" + name + "' is in use by node '" + node.id + "' (delete it or give it another buffer first)");
        PatchSpec candidate = liveSpec_;
        std::erase_if(candidate.buffers, [&](const PatchSpec::Buffer &x) { return x.name == name; });
        auto out = commitLive(std::move(candidate));
        if (!out)
            return out;
        std::erase_if(pending_.buffers, [&](const PatchSpec::Buffer &x) { return x.name == name; });
        out->reply = {name};
        return out;
    }
    return fail("unknown /buffer command '" + std::string(verb) + "' (load, free, list)");
}

std::vector<std::uint32_t> Interpreter::followingSequencers() const
{
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < live_->nodes.size(); ++i) {
        const auto &node = live_->nodes[i];
        if (node.spec->type != "sequencer")
            continue;
        const PatchSpec::Node *spec = liveSpec_.findNode(node.id);
        const bool own = spec && std::any_of(spec->params.begin(), spec->params.end(),
                                             [](const auto &p) { return p.first == "bpm"; });
        if (!own)
            out.push_back(i);
    }
    return out;
}

// /tempo <bpm>: the shared tempo, for every sequencer that gives none of its own.
Expected<Outcome> Interpreter::tempo(std::string_view, const std::vector<Arg> &args)
{
    if (args.size() != 1 || !isNumber(args[0]) || !(toNumber(args[0]) >= 1.0 && toNumber(args[0]) <= 999.0))
        return fail("/tempo takes <bpm> from 1 to 999");
    const auto bpm = static_cast<float>(toNumber(args[0]));
    liveSpec_.tempo = pending_.tempo = bpm;
    Outcome out;
    for (auto n : followingSequencers()) {
        Event e;
        e.generation = live_->generation;
        e.node = n;
        e.param = static_cast<std::uint16_t>(live_->nodes[n].spec->findParam("bpm"));
        e.value = bpm;
        out.events.push_back(e);
    }
    out.reply = {bpm, static_cast<std::int32_t>(out.events.size())};
    return out;
}

// /meter <beats> <unit>
Expected<Outcome> Interpreter::meter(std::string_view, const std::vector<Arg> &args)
{
    const int beats = args.size() == 2 ? intArg(args[0]) : -1;
    const int unit = args.size() == 2 ? intArg(args[1]) : -1;
    if (beats < 1 || beats > 64 || (unit != 1 && unit != 2 && unit != 4 && unit != 8 && unit != 16))
        return fail("/meter takes <beats 1..64> <unit 1|2|4|8|16>, e.g. 4 4 or 6 8");
    liveSpec_.meterBeats = pending_.meterBeats = beats;
    liveSpec_.meterUnit = pending_.meterUnit = unit;
    Outcome out;
    out.reply = {beats, unit};
    return out;
}

// /transport start | stop | locate <bar>: the sequencers that follow the shared tempo start
// from bar 1, stop, or jump to the first step of a bar.
Expected<Outcome> Interpreter::transport(std::string_view, const std::vector<Arg> &args)
{
    const std::string verb = !args.empty() && !isNumber(args[0]) ? std::get<std::string>(args[0]) : "";
    const bool barGiven = args.size() == 2 && isNumber(args[1]) && toNumber(args[1]) >= 1.0;
    const bool locate = verb == "locate" && barGiven;
    if (!((verb == "start" || verb == "stop") && args.size() == 1) && !locate && !(verb == "start" && barGiven))
        return fail("/transport takes start [bar], stop or locate <bar 1..>");
    if (verb == "start" && barGiven && toNumber(args[1]) != 1.0) {
        // Rolling from another bar (following JACK transport): locate there, then run.
        auto at = transport({}, {Arg(std::string("locate")), args[1]});
        auto run = transport({}, {Arg(std::string("start"))});
        if (!at || !run)
            return fail(!at ? at.error() : run.error());
        std::erase_if(run->events, [](const Event &e) { return e.type == EventType::ResetNode; });
        at->events.insert(at->events.end(), run->events.begin(), run->events.end());
        at->reply = run->reply;
        return at;
    }
    Outcome out;
    for (auto n : followingSequencers()) {
        const auto &node = live_->nodes[n];
        Event e;
        e.generation = live_->generation;
        e.node = n;
        if (verb == "start") {
            e.type = EventType::ResetNode;
            out.events.push_back(e);
        }
        if (verb != "locate") {
            if (auto *ln = liveSpec_.findNode(node.id))
                ln->set("running", verb == "start" ? 1.0 : 0.0);
            e.type = EventType::SetParam;
            e.param = static_cast<std::uint16_t>(node.spec->findParam("running"));
            e.value = verb == "start" ? 1.0f : 0.0f;
            out.events.push_back(e);
            continue;
        }
        // Steps per bar: beats of 4/unit quarters, `division` steps per quarter.
        double division = node.paramValues[node.spec->findParam("division")];
        if (const auto *spec = liveSpec_.findNode(node.id))
            for (const auto &[name, value] : spec->params)
                if (name == "division" && std::holds_alternative<double>(value))
                    division = std::get<double>(value);
        const double steps = (toNumber(args[1]) - 1.0) * liveSpec_.meterBeats * 4.0 / liveSpec_.meterUnit * division;
        e.type = EventType::Locate;
        e.value = static_cast<float>(std::floor(steps + 1e-9));
        out.events.push_back(e);
    }
    out.reply = {verb, static_cast<std::int32_t>(followingSequencers().size())};
    return out;
}

} // namespace chronus::model
