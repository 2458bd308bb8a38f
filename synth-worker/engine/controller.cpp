#include "synth-worker/engine/controller.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace chronus::engine {

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

bool isNumber(const Arg &a) { return !std::holds_alternative<std::string>(a); }

double toNumber(const Arg &a)
{
    if (const auto *i = std::get_if<std::int32_t>(&a))
        return *i;
    return std::get<float>(a);
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

Controller::Controller()
{
    auto empty = compile(PatchSpec{}, 0);
    live_ = std::make_shared<const CompiledPatch>(std::move(*empty));
}

Expected<Outcome> Controller::load(const PatchSpec &spec)
{
    pending_ = spec;
    dirty_ = true;
    return commit(0.0f);
}

Expected<Outcome> Controller::edit(PatchSpec candidate, std::vector<Arg> reply)
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

Expected<Outcome> Controller::commit(float crossfadeMs)
{
    if (!std::isfinite(crossfadeMs) || crossfadeMs < 0.0f || crossfadeMs > 10000.0f)
        return fail("crossfade must be between 0 and 10000 ms");
    auto compiled = compile(pending_, live_->generation + 1);
    if (!compiled)
        return fail(compiled.error());
    live_ = std::make_shared<const CompiledPatch>(std::move(*compiled));
    liveSpec_ = pending_;
    dirty_ = false;
    Outcome out;
    out.commit = live_;
    out.crossfadeMs = crossfadeMs;
    out.reply = {static_cast<std::int32_t>(live_->generation)};
    return out;
}

Expected<Outcome> Controller::setParam(std::string_view nodeId, std::string_view paramName,
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

    const auto &cn = live_->nodes[node];
    const ModuleSpec &type = *cn.spec;
    Outcome out;
    ParamValue stored;
    if (const int p = type.findParam(param); p >= 0) {
        if (args.size() > firstArg + 1)
            return fail("parameter '" + param + "' takes one value, got " + std::to_string(args.size() - firstArg));
        bool clamped = false;
        const ParamSpec &ps = type.params[p];
        auto v = isNumber(args[firstArg]) ? ps.fromNumber(toNumber(args[firstArg]), &clamped)
                                          : ps.fromText(std::get<std::string>(args[firstArg]), &clamped);
        if (!v)
            return fail(v.error());
        if (clamped)
            out.warning = "value clamped to " + floatText(*v) + " (range " + floatText(ps.min) + " to " +
                          floatText(ps.max) + ")";
        Event e;
        e.generation = live_->generation;
        e.node = static_cast<std::uint32_t>(node);
        e.param = static_cast<std::uint16_t>(p);
        e.type = EventType::SetParam;
        e.value = *v;
        out.events.push_back(e);
        out.reply = {ps.name, *v};
        stored = ps.type == ParamType::Enum ? ParamValue(ps.choices[static_cast<std::size_t>(*v)])
                                            : ParamValue(static_cast<double>(*v));
    } else if (const int t = type.findTextParam(param); t >= 0) {
        // Several words ("C4 E4 G4" sent as three arguments) form one text.
        std::string text;
        for (std::size_t i = firstArg; i < args.size(); ++i)
            text += (i > firstArg ? " " : "") + argText(args[i]);
        if (text.size() > 4096)
            return fail("parameter '" + param + "' text is too long");
        auto values = type.textParams[t].parse(text);
        if (!values)
            return fail("parameter '" + param + "': " + values.error());
        if (values->size() > type.textParams[t].maxElements)
            return fail("parameter '" + param + "' takes at most " + std::to_string(type.textParams[t].maxElements) +
                        " values");
        Event e;
        e.generation = live_->generation;
        e.node = static_cast<std::uint32_t>(node);
        e.param = static_cast<std::uint16_t>(t);
        e.type = EventType::SetElement;
        for (std::size_t k = 0; k < values->size(); ++k) {
            e.element = static_cast<std::uint16_t>(k);
            e.value = (*values)[k];
            out.events.push_back(e);
        }
        e.element = static_cast<std::uint16_t>(Module::kLengthElement);
        e.value = static_cast<float>(values->size());
        out.events.push_back(e);
        out.reply = {type.textParams[t].name, text};
        stored = text;
    } else {
        std::string names;
        for (const auto &ps : type.params)
            names += (names.empty() ? "" : ", ") + ps.name;
        for (const auto &ts : type.textParams)
            names += (names.empty() ? "" : ", ") + ts.name;
        return fail("node '" + std::string(nodeId) + "' (" + type.type + ") has no parameter '" + param +
                    "' (parameters: " + names + ")");
    }
    // Remember the value so /patch/dump and the next commit carry it.
    if (auto *ln = liveSpec_.findNode(nodeId))
        ln->set(param, stored);
    if (pendingNode && findModule(pendingNode->type) == &type)
        pendingNode->set(param, stored);
    return out;
}

Expected<Outcome> Controller::seq(std::string_view verb, const std::vector<Arg> &args)
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

Expected<Outcome> Controller::handle(std::string_view address, const std::vector<Arg> &args)
{
    auto startsWith = [&](std::string_view prefix) { return address.substr(0, prefix.size()) == prefix; };

    if (startsWith("/mod/")) {
        const std::string_view rest = address.substr(5);
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size())
            return fail("address must be /mod/<node>/<param>");
        return setParam(rest.substr(0, slash), rest.substr(slash + 1), args, 0);
    }
    if (startsWith("/gate/")) {
        const std::string_view id = address.substr(6);
        if (id.empty() || id.find('/') != std::string_view::npos)
            return fail("address must be /gate/<node>");
        if (args.size() != 1)
            return fail("/gate takes one value: 1/0, on/off or true/false");
        const int node = live_->findNode(id);
        if (node >= 0 && live_->nodes[node].spec->findParam("gate") < 0)
            return fail("node '" + std::string(id) + "' (" + live_->nodes[node].spec->type + ") has no gate");
        return setParam(id, "gate", args, 0);
    }
    if (startsWith("/seq/"))
        return seq(address.substr(5), args);

    if (address == "/patch/create") {
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
    if (address == "/patch/connect" || address == "/patch/disconnect") {
        const bool connect = address == "/patch/connect";
        if (args.size() < 2 || args.size() > 3 || (args.size() == 3 && !isNumber(args[2])))
            return fail(std::string(address) + " takes <from> <to>" + (connect ? " [depth]" : ""));
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
    if (address == "/patch/delete") {
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
        auto touches = [&](const std::string &endpoint) {
            return endpoint == *id || endpoint.rfind(*id + ".", 0) == 0;
        };
        std::erase_if(candidate.connections,
                      [&](const PatchSpec::Connection &c) { return touches(c.from) || touches(c.to); });
        return edit(std::move(candidate), {*id});
    }
    if (address == "/patch/clear") {
        if (!args.empty())
            return fail("/patch/clear takes no arguments");
        return edit(PatchSpec{});
    }
    if (address == "/patch/abort") {
        if (!args.empty())
            return fail("/patch/abort takes no arguments");
        pending_ = liveSpec_;
        dirty_ = false;
        return Outcome{};
    }
    if (address == "/patch/commit") {
        if (args.size() > 1 || (args.size() == 1 && !isNumber(args[0])))
            return fail("/patch/commit takes an optional crossfade in ms");
        return commit(args.empty() ? kDefaultCrossfadeMs : static_cast<float>(toNumber(args[0])));
    }
    if (address == "/patch/load") {
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
    if (address == "/patch/dump") {
        if (!args.empty())
            return fail("/patch/dump takes no arguments");
        Outcome out;
        out.reply = {liveSpec_.toJson(-1)};
        return out;
    }
    return fail("unknown address " + std::string(address));
}

} // namespace chronus::engine
