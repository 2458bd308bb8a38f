#include "model/interpreter.hpp"

#include "model/modules/poly.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace chronus::model {

namespace {

std::string numberText(double v)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

// For messages: the shortest text that reads back as this float ("0.01", not the double
// expansion "0.009999999776482582").
std::string floatText(float v)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

ParamValue toValue(const Arg &a)
{
    if (isNumber(a))
        return toNumber(a);
    return std::get<std::string>(a);
}

Expected<std::string> stringArg(const std::vector<Arg> &args, std::size_t i, const char *what)
{
    if (i >= args.size())
        return fail(std::string("missing argument: ") + what);
    if (const auto *s = std::get_if<std::string>(&args[i]))
        return *s;
    // Node ids may be numbers in a sloppy client; accept their text.
    return argText(args[i]);
}

Expected<std::string> readPatchSource(const std::string &source)
{
    if (!source.empty() && source.front() == '{')
        return source;
    std::ifstream in(source);
    if (!in)
        return fail("cannot read patch file '" + source + "'");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Sets number parameter `spec` (named `param` by the command) from args[first]: the event
// `target` with its value goes into `out`, with a warning when clamped. Returns the value
// as the patch remembers it (an Enum by its choice's name).
Expected<ParamValue> numberEvent(const ParamSpec &spec, const std::string &param, Event target,
                                 const std::vector<Arg> &args, std::size_t first, Outcome &out)
{
    if (args.size() > first + 1)
        return fail("parameter '" + param + "' takes one value, got " + std::to_string(args.size() - first));
    bool clamped = false;
    auto v = isNumber(args[first]) ? spec.fromNumber(toNumber(args[first]), &clamped)
                                   : spec.fromText(std::get<std::string>(args[first]), &clamped);
    if (!v)
        return fail(v.error());
    if (clamped)
        out.warning = "value clamped to " + floatText(*v) + " (range " + floatText(spec.min) + " to " +
                      floatText(spec.max) + ")";
    target.type = EventType::SetParam;
    target.value = *v;
    out.events.push_back(target);
    out.reply = {spec.name, *v};
    return spec.type == ParamType::Enum ? ParamValue(spec.choices[static_cast<std::size_t>(*v)])
                                        : ParamValue(static_cast<double>(*v));
}

// Sets text parameter `spec` from args[first..] (several words, "C4 E4 G4" sent as three
// arguments, form one text): one event per element, then the length, into `out`. Returns
// the text.
Expected<ParamValue> textEvents(const TextParamSpec &spec, const std::string &param, Event target,
                                const std::vector<Arg> &args, std::size_t first, Outcome &out)
{
    std::string text;
    for (std::size_t i = first; i < args.size(); ++i)
        text += (i > first ? " " : "") + argText(args[i]);
    if (text.size() > 4096)
        return fail("parameter '" + param + "' text is too long");
    auto values = spec.parse(text);
    if (!values)
        return fail("parameter '" + param + "': " + values.error());
    if (values->size() > spec.maxElements)
        return fail("parameter '" + param + "' takes at most " + std::to_string(spec.maxElements) + " values");
    target.type = EventType::SetElement;
    for (std::size_t k = 0; k < values->size(); ++k) {
        target.element = static_cast<std::uint16_t>(k);
        target.value = (*values)[k];
        out.events.push_back(target);
    }
    target.element = kLengthElement;
    target.value = static_cast<float>(values->size());
    out.events.push_back(target);
    out.reply = {spec.name, text};
    return ParamValue(text);
}

} // namespace

std::string argText(const Arg &arg)
{
    if (const auto *i = std::get_if<std::int32_t>(&arg))
        return std::to_string(*i);
    if (const auto *f = std::get_if<float>(&arg))
        return numberText(*f);
    return std::get<std::string>(arg);
}

std::uint32_t crossfadeFrames(float crossfadeMs, double sampleRate)
{
    if (!(crossfadeMs > 0.0f))
        return 0;
    return static_cast<std::uint32_t>(std::lround(static_cast<double>(crossfadeMs) * sampleRate / 1000.0));
}

Interpreter::Interpreter()
{
    auto empty = compile(PatchSpec{}, 0);
    live_ = std::make_shared<const CompiledPatch>(std::move(*empty));
}

Expected<Outcome> Interpreter::load(const PatchSpec &spec)
{
    pending_ = spec;
    pending_.canonicalize();
    dirty_ = true;
    return commit(0.0f);
}

void Interpreter::keepBeforeCommit()
{
    auto player = std::make_shared<Interpreter>();
    player->live_ = live_;
    player->liveSpec_ = liveSpec_;
    player->learning_ = learning_;
    player->stemLimit_ = stemLimit_;
    before_ = std::move(player); // the one before it goes: no chain of old patches is kept
}

bool Interpreter::onlyPlays(std::string_view address, const std::vector<Arg> &args) const
{
    if (address.starts_with("/note/") || address.starts_with("/note_off/") || address == "/notes_off" ||
        address.starts_with("/notes_off/"))
        return true;
    if (address != "/midi/in" || args.empty() || !isNumber(args[0]))
        return false;
    const double status = toNumber(args[0]);
    if (status < 0x80 || status > 0xFF)
        return false; // refused either way
    switch (int(status) & 0xF0) {
    case 0xB0: {
        // A controller maps through /midi/learn, and a mapped one sets a parameter (which the
        // next commit would carry): only the pedal, all sound off and all notes off play.
        if (!learning_.empty() || args.size() < 2 || !isNumber(args[1]))
            return false;
        const double cc = toNumber(args[1]);
        return cc == 64 || cc == 120 || cc == 123;
    }
    default: return true; // notes, pressure, bend, program change, system messages
    }
}

Expected<Outcome> Interpreter::edit(PatchSpec candidate, std::vector<Arg> reply)
{
    // Every edit is checked now, so a mistake fails at the command that made it.
    auto checked = compile(candidate, 0);
    if (!checked)
        return fail(checked.error());
    pending_ = std::move(candidate);
    dirty_ = true;
    Outcome out;
    out.reply = std::move(reply);
    return out;
}

Expected<Outcome> Interpreter::commit(float crossfadeMs)
{
    if (!std::isfinite(crossfadeMs) || crossfadeMs < 0.0f || crossfadeMs > 10000.0f)
        return fail("crossfade must be between 0 and 10000 ms");
    auto compiled = compile(pending_, live_->generation + 1);
    if (!compiled)
        return fail(compiled.error());
    keepBeforeCommit();
    live_ = std::make_shared<const CompiledPatch>(std::move(*compiled));
    liveSpec_ = pending_;
    dirty_ = false;
    Outcome out;
    out.commit = live_;
    out.crossfadeMs = crossfadeMs;
    out.reply = {static_cast<std::int32_t>(live_->generation)};
    return out;
}

Expected<Outcome> Interpreter::setParam(std::string_view nodeId, std::string_view paramName,
                                       const std::vector<Arg> &args, std::size_t firstArg)
{
    if (args.size() <= firstArg)
        return fail("missing value");
    const int node = live_->findNode(nodeId);
    PatchSpec::Node *pendingNode = pending_.findNode(nodeId);
    const std::string param(paramName);
    if (node < 0) {
        if (!pendingNode)
            return fail("no node '" + std::string(nodeId) + "'");
        // Only in the pending patch: record it there; it goes live with the next commit.
        PatchSpec candidate = pending_;
        candidate.findNode(nodeId)->set(param, toValue(args[firstArg]));
        auto out = edit(std::move(candidate));
        if (out)
            out->warning = "node '" + std::string(nodeId) + "' is not live yet; the value applies at /patch/commit";
        return out;
    }

    const ModuleSpec &type = *live_->nodes[node].spec;
    const int p = type.findParam(param);
    const int t = p < 0 ? type.findTextParam(param) : -1;
    if (p < 0 && t < 0 && live_->nodes[node].voice && param.find('.') != std::string::npos)
        return voiceParam(nodeId, param, args, firstArg);
    if (p < 0 && t < 0 && type.findStringField(param) >= 0 && pendingNode) {
        // A name fixed when the patch is built (a sampler's buffer): an edit of the pending patch.
        PatchSpec candidate = pending_;
        candidate.findNode(nodeId)->set(param, toValue(args[firstArg]));
        auto out = edit(std::move(candidate));
        if (out)
            out->warning = "'" + param + "' is fixed when the patch is built; it applies at /patch/commit";
        return out;
    }
    if (p < 0 && t < 0) {
        std::string names;
        for (const auto &ps : type.params)
            names += (names.empty() ? "" : ", ") + ps.name;
        for (const auto &ts : type.textParams)
            names += (names.empty() ? "" : ", ") + ts.name;
        return fail("node '" + std::string(nodeId) + "' (" + type.type + ") has no parameter '" + param +
                    "' (parameters: " + names + ")");
    }
    Event target;
    target.generation = live_->generation;
    target.node = static_cast<std::uint32_t>(node);
    target.param = static_cast<std::uint16_t>(p >= 0 ? p : t);
    if (type.type == "poly" && p == poly::Voices) {
        // As in a patch file (compile()): more voices than a poly can have are refused, not clamped.
        bool clamped = false;
        const ParamSpec &voices = type.params[p];
        auto v = isNumber(args[firstArg]) ? voices.fromNumber(toNumber(args[firstArg]), &clamped)
                                          : voices.fromText(std::get<std::string>(args[firstArg]), &clamped);
        if (v && clamped)
            return fail("node '" + std::string(nodeId) + "': parameter 'voices' must be from " +
                        floatText(voices.min) + " to " + floatText(voices.max) + ", not " +
                        (isNumber(args[firstArg]) ? floatText(static_cast<float>(toNumber(args[firstArg])))
                                                  : std::get<std::string>(args[firstArg])));
    }
    Outcome out;
    auto stored = p >= 0 ? numberEvent(type.params[p], param, target, args, firstArg, out)
                         : textEvents(type.textParams[t], param, target, args, firstArg, out);
    if (!stored)
        return fail(stored.error());
    // Remember the value so /patch/dump and the next commit carry it.
    if (auto *ln = liveSpec_.findNode(nodeId))
        ln->set(param, *stored);
    if (pendingNode && findModule(pendingNode->type) == &type)
        pendingNode->set(param, *stored);
    if (type.type == "poly" && p == poly::Voices && out.events.back().value > live_->nodes[node].paramValues[p])
        out.warning = "this poly was built with " + floatText(live_->nodes[node].paramValues[p]) +
                      " voices; more take effect at the next /patch/commit";
    return out;
}

namespace {

// Node `nodeId`'s template with parameter `param` of template node `inner` set to `value`
// (the node's template is copied: specs share templates).
void setTemplateParam(PatchSpec::Node &node, std::string_view inner, const std::string &param, ParamValue value)
{
    auto voice = std::make_shared<PatchSpec>(voiceTemplateOf(node));
    if (auto *n = voice->findNode(inner))
        n->set(param, std::move(value));
    node.voice = std::move(voice);
}

} // namespace

Expected<Outcome> Interpreter::voiceParam(std::string_view polyId, std::string_view path, const std::vector<Arg> &args,
                                          std::size_t firstArg)
{
    auto ref = resolveParam(*live_, polyId, path);
    if (!ref)
        return fail(ref.error());
    const std::string_view inner = path.substr(0, path.find('.'));
    const std::string param(path.substr(path.find('.') + 1));
    Event target;
    target.generation = live_->generation;
    target.node = ref->node;
    Outcome out;
    auto stored = numberEvent(*ref->spec, param, target, args, firstArg, out);
    if (!stored)
        return fail(stored.error());
    out.events.back().type = EventType::VoiceParam;
    out.events.back().element = static_cast<std::uint16_t>(ref->voiceNode);
    out.events.back().param = ref->param;
    out.reply.front() = std::string(path);
    auto *ln = liveSpec_.findNode(polyId);
    if (ln)
        setTemplateParam(*ln, inner, param, *stored);
    if (auto *pn = pending_.findNode(polyId); pn && ln && pn->type == ln->type)
        setTemplateParam(*pn, inner, param, *stored);
    return out;
}

Expected<Outcome> Interpreter::seq(std::string_view verb, const std::vector<Arg> &args)
{
    auto id = stringArg(args, 0, "sequencer id");
    if (!id)
        return fail(id.error());
    if ((verb == "start" || verb == "stop" || verb == "reset") && args.size() != 1)
        return fail("/seq/" + std::string(verb) + " takes one argument: <id>");
    if (verb == "create" && (args.size() > 3 || (args.size() > 1 && !isNumber(args[1])) ||
                             (args.size() > 2 && !isNumber(args[2]))))
        return fail("/seq/create takes <id> [steps] [bpm] (numbers)");
    if (verb == "create") {
        PatchSpec candidate = pending_;
        if (candidate.findNode(*id))
            return fail("node '" + *id + "' already exists");
        candidate.nodes.push_back({*id, "sequencer", {}});
        if (args.size() > 1 && isNumber(args[1]))
            candidate.nodes.back().set("steps", toNumber(args[1]));
        if (args.size() > 2 && isNumber(args[2]))
            candidate.nodes.back().set("bpm", toNumber(args[2]));
        return edit(std::move(candidate), {*id});
    }
    const int node = live_->findNode(*id);
    const PatchSpec::Node *pendingNode = pending_.findNode(*id);
    const ModuleSpec *type = node >= 0 ? live_->nodes[node].spec : pendingNode ? findModule(pendingNode->type) : nullptr;
    if (!type)
        return fail("no sequencer '" + *id + "'");
    if (type->type != "sequencer")
        return fail("node '" + *id + "' is a " + type->type + ", not a sequencer");
    if (verb == "start" || verb == "stop")
        return setParam(*id, "running", {Arg(verb == "start" ? 1 : 0)}, 0);
    if (verb == "reset") {
        if (node < 0)
            return fail("sequencer '" + *id + "' is not live yet");
        Event e;
        e.generation = live_->generation;
        e.node = static_cast<std::uint32_t>(node);
        e.type = EventType::ResetNode;
        Outcome out;
        out.events.push_back(e);
        return out;
    }
    if (verb == "config") {
        // /seq/config <id> <param> <value> [<param> <value> ...]
        if (args.size() < 3 || (args.size() - 1) % 2 != 0)
            return fail("/seq/config takes <id> followed by <param> <value> pairs");
        Outcome all;
        for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
            auto name = stringArg(args, i, "parameter");
            if (!name)
                return fail(name.error());
            auto one = setParam(*id, *name, {args[i + 1]}, 0);
            if (!one)
                return one;
            all.events.insert(all.events.end(), one->events.begin(), one->events.end());
            if (!one->warning.empty())
                all.warning += (all.warning.empty() ? "" : "; ") + one->warning;
        }
        return all;
    }
    static const std::pair<std::string_view, std::string_view> direct[] = {
        {"pattern", "pattern"}, {"notes", "notes"}, {"bpm", "bpm"},     {"swing", "swing"},
        {"gate_len", "gate_len"}, {"steps", "steps"}, {"division", "division"},
    };
    for (const auto &[name, param] : direct)
        if (verb == name)
            return setParam(*id, param, args, 1);
    return fail("unknown /seq command '" + std::string(verb) +
                "' (create, config, pattern, notes, bpm, swing, gate_len, steps, start, stop, reset)");
}

Expected<Outcome> Interpreter::handle(std::string_view address, const std::vector<Arg> &args)
{
    // Tried in order: a route ending in '/' takes every address under it (its handler gets
    // the rest), any other only its own address.
    static constexpr std::pair<std::string_view, Handler> routes[] = {
        {"/mod/", &Interpreter::mod},
        {"/gate/", &Interpreter::gate},
        {"/seq/", &Interpreter::seq},
        {"/patch/create", &Interpreter::create},
        {"/patch/connect", &Interpreter::connect},
        {"/patch/disconnect", &Interpreter::disconnect},
        {"/patch/delete", &Interpreter::deleteNode},
        {"/patch/clear", &Interpreter::clear},
        {"/patch/abort", &Interpreter::abortEdits},
        {"/patch/commit", &Interpreter::commitPending},
        {"/patch/load", &Interpreter::loadPatch},
        {"/patch/dump", &Interpreter::dump},
        {"/note_off/", &Interpreter::noteOff},
        {"/notes_off/", &Interpreter::notesOff},
        {"/notes_off", &Interpreter::notesOff},
        {"/note/", &Interpreter::note},
        {"/panic", &Interpreter::panic},
        {"/midi/", &Interpreter::midi},
        {"/buffer/", &Interpreter::buffer},
        {"/tempo", &Interpreter::tempo},
        {"/meter", &Interpreter::meter},
        {"/transport", &Interpreter::transport},
        {"/stem", &Interpreter::stem},
        {"/meter/tap", &Interpreter::meterTap},
    };
    for (const auto &[route, handler] : routes) {
        if (route.ends_with('/') ? address.starts_with(route) : address == route)
            return (this->*handler)(address.substr(route.size()), args);
    }
    return fail("unknown address " + std::string(address));
}

// /mod/<node>/<param> <value...>
Expected<Outcome> Interpreter::mod(std::string_view rest, const std::vector<Arg> &args)
{
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size())
        return fail("address must be /mod/<node>/<param>");
    return setParam(rest.substr(0, slash), rest.substr(slash + 1), args, 0);
}

// /gate/<node> <on|off>
Expected<Outcome> Interpreter::gate(std::string_view id, const std::vector<Arg> &args)
{
    if (id.empty() || id.find('/') != std::string_view::npos)
        return fail("address must be /gate/<node>");
    if (args.size() != 1)
        return fail("/gate takes one value: 1/0, on/off or true/false");
    const int node = live_->findNode(id);
    if (node >= 0 && live_->nodes[node].spec->findParam("gate") < 0)
        return fail("node '" + std::string(id) + "' (" + live_->nodes[node].spec->type + ") has no gate");
    return setParam(id, "gate", args, 0);
}

// /patch/create <id> <type> [<param> <value> ...]
Expected<Outcome> Interpreter::create(std::string_view, const std::vector<Arg> &args)
{
    if (args.size() < 2 || args.size() % 2 != 0)
        return fail("/patch/create takes <id> <type> [<param> <value> ...]");
    auto id = stringArg(args, 0, "id");
    auto type = stringArg(args, 1, "type");
    if (!id || !type)
        return fail("/patch/create takes <id> <type>");
    if (*id == "output")
        return fail("'output' is built in; connect to it");
    if (pending_.findNode(*id))
        return fail("node '" + *id + "' already exists in the pending patch (/patch/delete it first)");
    PatchSpec candidate = pending_;
    PatchSpec::Node node{*id, *type, {}};
    for (std::size_t i = 2; i + 1 < args.size(); i += 2) {
        auto name = stringArg(args, i, "parameter");
        if (!name)
            return fail(name.error());
        node.set(*name, toValue(args[i + 1]));
    }
    candidate.nodes.push_back(std::move(node));
    return edit(std::move(candidate), {*id});
}

// /patch/connect <from> <to> [depth]
Expected<Outcome> Interpreter::connect(std::string_view, const std::vector<Arg> &args)
{
    return editConnection(true, args);
}

// /patch/disconnect <from> <to>
Expected<Outcome> Interpreter::disconnect(std::string_view, const std::vector<Arg> &args)
{
    return editConnection(false, args);
}

Expected<Outcome> Interpreter::editConnection(bool connect, const std::vector<Arg> &args)
{
    if (args.size() < 2 || args.size() > 3 || (args.size() == 3 && !isNumber(args[2])))
        return fail(std::string(connect ? "/patch/connect" : "/patch/disconnect") + " takes <from> <to>" +
                    (connect ? " [depth]" : ""));
    auto from = stringArg(args, 0, "from");
    auto to = stringArg(args, 1, "to");
    PatchSpec::Connection c{*from, *to, args.size() == 3 ? toNumber(args[2]) : 1.0};
    PatchSpec candidate = pending_;
    auto &list = candidate.connections;
    auto same = [&](const PatchSpec::Connection &x) { return x.from == c.from && x.to == c.to; };
    if (connect) {
        if (std::find_if(list.begin(), list.end(), same) != list.end())
            return fail("connection " + c.from + " -> " + c.to + " already exists");
        list.push_back(c);
    } else {
        const auto before = list.size();
        std::erase_if(list, same);
        if (list.size() == before)
            return fail("no connection " + c.from + " -> " + c.to);
    }
    return edit(std::move(candidate), {c.from, c.to});
}

// /patch/delete <id>: the node and every connection that touches it.
Expected<Outcome> Interpreter::deleteNode(std::string_view, const std::vector<Arg> &args)
{
    if (args.size() != 1)
        return fail("/patch/delete takes one argument: <id>");
    auto id = stringArg(args, 0, "id");
    if (!id)
        return fail(id.error());
    if (*id == "output")
        return fail("the output node cannot be deleted");
    PatchSpec candidate = pending_;
    const auto before = candidate.nodes.size();
    std::erase_if(candidate.nodes, [&](const PatchSpec::Node &n) { return n.id == *id; });
    if (candidate.nodes.size() == before)
        return fail("no node '" + *id + "' in the pending patch");
    auto touches = [&](const std::string &endpoint) { return endpoint == *id || endpoint.rfind(*id + ".", 0) == 0; };
    std::erase_if(candidate.connections,
                  [&](const PatchSpec::Connection &c) { return touches(c.from) || touches(c.to); });
    std::erase_if(candidate.midiBinds, [&](const PatchSpec::MidiBind &b) { return b.poly == *id; });
    std::erase_if(candidate.midiMaps, [&](const PatchSpec::MidiMap &m) { return touches(m.to); });
    std::erase(candidate.stems, *id);
    return edit(std::move(candidate), {*id});
}

// /patch/clear: an empty pending patch.
Expected<Outcome> Interpreter::clear(std::string_view, const std::vector<Arg> &args)
{
    if (!args.empty())
        return fail("/patch/clear takes no arguments");
    return edit(PatchSpec{});
}

// /patch/abort: the pending patch back to the live one.
Expected<Outcome> Interpreter::abortEdits(std::string_view, const std::vector<Arg> &args)
{
    if (!args.empty())
        return fail("/patch/abort takes no arguments");
    pending_ = liveSpec_;
    dirty_ = false;
    return Outcome{};
}

// /patch/commit [crossfade_ms]
Expected<Outcome> Interpreter::commitPending(std::string_view, const std::vector<Arg> &args)
{
    if (args.size() > 1 || (args.size() == 1 && !isNumber(args[0])))
        return fail("/patch/commit takes an optional crossfade in ms");
    return commit(args.empty() ? kDefaultCrossfadeMs : static_cast<float>(toNumber(args[0])));
}

// /patch/load <file or JSON text> [crossfade_ms]: replaces pending and commits it; a patch
// that fails leaves pending as it was.
Expected<Outcome> Interpreter::loadPatch(std::string_view, const std::vector<Arg> &args)
{
    if (args.empty() || args.size() > 2 || !std::holds_alternative<std::string>(args[0]) ||
        (args.size() == 2 && !isNumber(args[1])))
        return fail("/patch/load takes <file or JSON text> [crossfade_ms]");
    auto text = readPatchSource(std::get<std::string>(args[0]));
    if (!text)
        return fail(text.error());
    auto spec = PatchSpec::fromJson(*text);
    if (!spec)
        return fail(spec.error());
    PatchSpec previous = pending_;
    pending_ = std::move(*spec);
    auto out = commit(args.size() == 2 ? static_cast<float>(toNumber(args[1])) : kDefaultCrossfadeMs);
    if (!out)
        pending_ = std::move(previous);
    return out;
}

// /patch/dump: the live patch as JSON text.
Expected<Outcome> Interpreter::dump(std::string_view, const std::vector<Arg> &args)
{
    if (!args.empty())
        return fail("/patch/dump takes no arguments");
    Outcome out;
    out.reply = {liveSpec_.toJson(-1)};
    return out;
}

} // namespace chronus::model
