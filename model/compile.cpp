#include "model/compile.hpp"

#include "model/modules/poly.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <queue>
#include <unordered_map>
#include <utility>

namespace chronus::model {

namespace {

constexpr std::string_view kOutputId = "output";

using Node = CompiledPatch::Node;

std::string listNames(const std::vector<std::string> &names)
{
    std::string out;
    for (const auto &n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

template <typename Ports>
std::string portNames(const Ports &ports)
{
    std::vector<std::string> names;
    for (const auto &p : ports)
        names.push_back(p.name);
    return listNames(names);
}

std::string paramNames(const ModuleSpec &spec)
{
    std::vector<std::string> names;
    for (const auto &p : spec.params)
        names.push_back(p.name);
    for (const auto &p : spec.textParams)
        names.push_back(p.name);
    return listNames(names);
}

bool validId(std::string_view id)
{
    if (id.empty() || id.size() > 64)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::pair<std::string_view, std::string_view> splitEndpoint(std::string_view endpoint)
{
    const auto dot = endpoint.find('.');
    if (dot == std::string_view::npos)
        return {endpoint, {}};
    return {endpoint.substr(0, dot), endpoint.substr(dot + 1)};
}

std::string numberText(double v)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string();
}

// The nodes in spec order and their ids' positions there; the views point into the spec
// (or at kOutputId), which outlive them.
struct Nodes {
    std::vector<Node> list;
    std::unordered_map<std::string_view, std::uint32_t> index;
};

// Phase 1: nodes in spec order (output appended unless declared, and in a voice template
// the voice node too) with their types.
Expected<Nodes> resolveNodes(const PatchSpec &spec, bool inTemplate)
{
    Nodes nodes;
    nodes.list.reserve(spec.nodes.size() + 1);
    nodes.index.reserve(spec.nodes.size() + 1);
    bool outputDeclared = false;
    bool voiceDeclared = false;
    for (const auto &n : spec.nodes) {
        if (!validId(n.id))
            return fail("node id '" + n.id + "' is not valid (use 1-64 letters, digits, '_' or '-')");
        if (!nodes.index.emplace(n.id, static_cast<std::uint32_t>(nodes.list.size())).second)
            return fail("node '" + n.id + "' is defined twice");
        const ModuleSpec *type = findModule(n.type);
        if (!type) {
            std::vector<std::string> known;
            for (const auto &m : moduleCatalogue())
                known.push_back(m.type);
            return fail("node '" + n.id + "': unknown module type '" + n.type + "' (known: " + listNames(known) + ")");
        }
        if (n.id == kOutputId) {
            if (type->type != "output")
                return fail("node 'output' is the built-in output and must have type 'output'");
            outputDeclared = true;
        } else if (type->type == "output") {
            return fail("node '" + n.id + "': there is one output node and its id is 'output'");
        }
        if (type->type == "voice" || (inTemplate && n.id == voice::kId)) {
            if (!inTemplate)
                return fail("node '" + n.id + "': a 'voice' node exists only inside a poly's voice template");
            if (type->type != "voice" || n.id != voice::kId)
                return fail("node '" + n.id + "': the built-in voice node is 'voice' of type 'voice'");
            voiceDeclared = true;
        }
        if (inTemplate && type->type == "poly")
            return fail("node '" + n.id + "': a voice template cannot hold a poly");
        nodes.list.push_back({n.id, type, {}, {}, {}, {}});
    }
    if (!outputDeclared) {
        nodes.index[kOutputId] = static_cast<std::uint32_t>(nodes.list.size());
        nodes.list.push_back({std::string(kOutputId), findModule("output"), {}, {}, {}, {}});
    }
    if (inTemplate && !voiceDeclared) {
        nodes.index[voice::kId] = static_cast<std::uint32_t>(nodes.list.size());
        nodes.list.push_back({std::string(voice::kId), findModule("voice"), {}, {}, {}, {}});
    }
    return nodes;
}

// Phase 2: parameter values, the spec's defaults overridden by what the patch gives
// (numbers clamped, words and texts parsed).
Expected<void> setParameters(const PatchSpec &spec, std::vector<Node> &nodes)
{
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto &node = nodes[i];
        const ModuleSpec &type = *node.spec;
        for (const auto &p : type.params)
            node.paramValues.push_back(p.def);
        node.textValues.resize(type.textParams.size());
        node.textSet.assign(type.textParams.size(), false);
        node.strings.assign(type.stringFields.size(), std::string());
        // nodes[i] came from spec.nodes[i]; only an appended output or voice has no source.
        if (i >= spec.nodes.size())
            continue;
        for (const auto &[name, value] : spec.nodes[i].params) {
            const std::string where = "node '" + node.id + "': ";
            if (const int p = type.findParam(name); p >= 0) {
                const ParamSpec &param = type.params[p];
                bool clamped = false;
                auto v = std::holds_alternative<double>(value) ? param.fromNumber(std::get<double>(value), &clamped)
                                                               : param.fromText(std::get<std::string>(value), &clamped);
                if (!v)
                    return fail(where + v.error());
                // Other numbers are clamped to their range (a cutoff of 1e9 plays as 20 kHz),
                // but a poly asked for more voices than it can have would steal notes the
                // patch expects to hold: refused, like a bad word.
                if (clamped && type.type == "poly" && p == poly::Voices)
                    return fail(where + "parameter '" + param.name + "' must be from " + numberText(param.min) +
                                " to " + numberText(param.max) + ", not " +
                                (std::holds_alternative<double>(value) ? numberText(std::get<double>(value))
                                                                       : std::get<std::string>(value)));
                node.paramValues[p] = *v;
            } else if (const int t = type.findTextParam(name); t >= 0) {
                const std::string text = std::holds_alternative<double>(value) ? numberText(std::get<double>(value))
                                                                               : std::get<std::string>(value);
                auto values = type.textParams[t].parse(text);
                if (!values)
                    return fail(where + "parameter '" + name + "': " + values.error());
                if (values->size() > type.textParams[t].maxElements)
                    return fail(where + "parameter '" + name + "' takes at most " +
                                std::to_string(type.textParams[t].maxElements) + " values");
                node.textValues[t] = std::move(*values);
                node.textSet[t] = true;
            } else if (const int f = type.findStringField(name); f >= 0) {
                if (!std::holds_alternative<std::string>(value))
                    return fail(where + "'" + name + "' takes a name, not a number");
                node.strings[f] = std::get<std::string>(value);
            } else {
                return fail(where + "module '" + type.type + "' has no parameter '" + name + "' (parameters: " +
                            paramNames(type) + ")");
            }
        }
    }
    return {};
}

// Sequencers that give no bpm of their own play at the patch's tempo.
void followTempo(const PatchSpec &spec, std::vector<Node> &nodes)
{
    for (std::size_t i = 0; i < spec.nodes.size() && i < nodes.size(); ++i) {
        if (nodes[i].spec->type != "sequencer")
            continue;
        const auto &given = spec.nodes[i].params;
        const bool own = std::any_of(given.begin(), given.end(), [](const auto &p) { return p.first == "bpm"; });
        if (!own)
            nodes[i].paramValues[nodes[i].spec->findParam("bpm")] = static_cast<float>(spec.tempo);
    }
}

// One connection as audio edges (into an input) or a modulation edge (into a continuous
// parameter), node indices in spec order.
Expected<void> connectOne(const PatchSpec::Connection &c, const Nodes &nodes, CompiledPatch &out)
{
    const std::string where = "connection " + c.from + " -> " + c.to + ": ";
    if (!std::isfinite(c.depth))
        return fail(where + "depth must be a finite number");
    auto [fromId, fromPort] = splitEndpoint(c.from);
    auto [toId, toPort] = splitEndpoint(c.to);
    auto fromIt = nodes.index.find(fromId);
    if (fromIt == nodes.index.end())
        return fail(where + "no node '" + std::string(fromId) + "'");
    auto toIt = nodes.index.find(toId);
    if (toIt == nodes.index.end())
        return fail(where + "no node '" + std::string(toId) + "'");
    const std::uint32_t from = fromIt->second, to = toIt->second;
    if (from == to)
        return fail(where + "a node cannot feed itself");
    const ModuleSpec &fromType = *nodes.list[from].spec;
    const ModuleSpec &toType = *nodes.list[to].spec;

    std::vector<std::uint32_t> outs;
    if (!fromPort.empty()) {
        const int o = fromType.findOutput(fromPort);
        if (o < 0)
            return fail(where + "module '" + fromType.type + "' has no output '" + std::string(fromPort) +
                        "' (outputs: " + portNames(fromType.outputs) + ")");
        outs.push_back(static_cast<std::uint32_t>(o));
    } else {
        if (fromType.outputs.empty())
            return fail(where + "module '" + fromType.type + "' has no outputs");
        for (std::uint32_t o = 0; o < std::max<std::uint32_t>(1, fromType.mainOutputs); ++o)
            outs.push_back(o);
    }

    const auto depth = static_cast<float>(c.depth);
    if (!toPort.empty()) {
        if (const int i = toType.findInput(toPort); i >= 0) {
            for (auto o : outs)
                out.audio.push_back({from, o, to, static_cast<std::uint32_t>(i), depth});
            return {};
        }
        if (const int p = toType.findParam(toPort); p >= 0) {
            if (toType.params[p].type != ParamType::Float)
                return fail(where + "parameter '" + std::string(toPort) + "' is not continuous and cannot be modulated");
            out.mods.push_back({from, outs.front(), to, static_cast<std::uint32_t>(p), depth});
            return {};
        }
        return fail(where + "module '" + toType.type + "' has no input or parameter '" + std::string(toPort) +
                    "' (inputs: " + portNames(toType.inputs) + "; parameters: " + paramNames(toType) + ")");
    }
    if (toType.mainInputs == 0) {
        // "seq -> poly": every output of the source into the input of the same name.
        bool any = false;
        if (fromPort.empty()) {
            for (std::uint32_t o = 0; o < fromType.outputs.size(); ++o) {
                if (const int i = toType.findInput(fromType.outputs[o].name); i >= 0) {
                    out.audio.push_back({from, o, to, static_cast<std::uint32_t>(i), depth});
                    any = true;
                }
            }
        }
        if (any)
            return {};
        return fail(where + "module '" + toType.type + "' has no audio input; name an input (" +
                    portNames(toType.inputs) + ") or a parameter");
    }
    const std::uint32_t m = toType.mainInputs;
    const std::size_t k = outs.size();
    if (k == 1) {
        for (std::uint32_t i = 0; i < m; ++i) // mono into stereo: both channels
            out.audio.push_back({from, outs[0], to, i, depth});
    } else {
        for (std::size_t j = 0; j < k; ++j) // pairwise; extra outputs fold onto the inputs
            out.audio.push_back({from, outs[j], to, static_cast<std::uint32_t>(j % m), depth});
    }
    return {};
}

// Phase 3: every connection, in spec order.
Expected<void> connect(const PatchSpec &spec, const Nodes &nodes, CompiledPatch &out)
{
    for (const auto &c : spec.connections)
        if (auto made = connectOne(c, nodes, out); !made)
            return made;
    return {};
}

// "cycle: a -> b -> a", from the nodes Kahn's algorithm could not place (not `done`).
std::string cycleText(const std::vector<Node> &nodes, const std::vector<std::vector<std::uint32_t>> &prev,
                      const std::vector<bool> &done)
{
    // Every node left has an unplaced predecessor (that is what keeps it unplaced), so
    // walking backwards from any of them must come round to a node already on the path.
    std::uint32_t at = 0;
    while (done[at])
        ++at;
    std::vector<std::uint32_t> path;
    std::vector<int> seenAt(nodes.size(), -1);
    while (seenAt[at] < 0) {
        seenAt[at] = static_cast<int>(path.size());
        path.push_back(at);
        for (auto j : prev[at]) {
            if (!done[j]) {
                at = j;
                break;
            }
        }
    }
    // The path runs against the edges: name the cycle in signal order.
    std::string cycle = nodes[at].id;
    for (std::size_t i = path.size(); i-- > static_cast<std::size_t>(seenAt[at]);)
        cycle += " -> " + nodes[path[i]].id;
    return "cycle: " + cycle;
}

// Phase 4: topological order (Kahn; of the nodes ready at each step the one declared
// first, so the order is stable), or the cycle that prevents one.
Expected<std::vector<std::uint32_t>> topologicalOrder(const std::vector<Node> &nodes, const CompiledPatch &edges)
{
    const std::size_t n = nodes.size();
    std::vector<std::vector<std::uint32_t>> next(n), prev(n);
    std::vector<std::uint32_t> indegree(n, 0);
    auto addEdge = [&](std::uint32_t a, std::uint32_t b) {
        next[a].push_back(b);
        prev[b].push_back(a);
        ++indegree[b];
    };
    for (const auto &e : edges.audio)
        addEdge(e.fromNode, e.toNode);
    for (const auto &e : edges.mods)
        addEdge(e.fromNode, e.toNode);
    std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> ready;
    for (std::uint32_t i = 0; i < n; ++i)
        if (indegree[i] == 0)
            ready.push(i);
    std::vector<std::uint32_t> order;
    std::vector<bool> done(n, false);
    while (!ready.empty()) {
        const std::uint32_t i = ready.top();
        ready.pop();
        done[i] = true;
        order.push_back(i);
        for (auto j : next[i])
            if (--indegree[j] == 0)
                ready.push(j);
    }
    if (order.size() < n)
        return fail(cycleText(nodes, prev, done));
    return order;
}

// Phase 5: the nodes in `order`, edges renumbered to it, the index by id.
void arrange(CompiledPatch &out, std::vector<Node> nodes, const std::vector<std::uint32_t> &order,
             std::uint32_t outputNode)
{
    const std::size_t n = nodes.size();
    std::vector<std::uint32_t> position(n);
    for (std::uint32_t i = 0; i < n; ++i)
        position[order[i]] = i;
    out.nodes.reserve(n);
    for (auto i : order)
        out.nodes.push_back(std::move(nodes[i]));
    out.byId.resize(n);
    for (std::uint32_t i = 0; i < n; ++i)
        out.byId[i] = i;
    std::sort(out.byId.begin(), out.byId.end(),
              [&](std::uint32_t a, std::uint32_t b) { return out.nodes[a].id < out.nodes[b].id; });
    for (auto &e : out.audio) {
        e.fromNode = position[e.fromNode];
        e.toNode = position[e.toNode];
    }
    for (auto &e : out.mods) {
        e.fromNode = position[e.fromNode];
        e.toNode = position[e.toNode];
    }
    out.outputNode = position[outputNode];
}

} // namespace

int CompiledPatch::findNode(std::string_view id) const
{
    auto at = std::lower_bound(byId.begin(), byId.end(), id,
                               [&](std::uint32_t i, std::string_view key) { return nodes[i].id < key; });
    return at != byId.end() && nodes[*at].id == id ? static_cast<int>(*at) : -1;
}

namespace {

Expected<void> resolveStems(const PatchSpec &spec, CompiledPatch &out)
{
    if (spec.stems.size() > kMaxStems)
        return fail("a patch can have at most " + std::to_string(kMaxStems) + " stems, not " +
                    std::to_string(spec.stems.size()));
    for (const std::string &id : spec.stems) {
        const int n = out.findNode(id);
        if (id == "output")
            return fail("stem 'output': the main output has its own ports (out_L, out_R)");
        if (n < 0)
            return fail("stem '" + id + "': no such node");
        if (std::count(spec.stems.begin(), spec.stems.end(), id) > 1)
            return fail("stem '" + id + "' is listed twice");
        if (out.nodes[n].spec->outputs.empty())
            return fail("stem '" + id + "': a " + out.nodes[n].spec->type + " node has no audio output");
        const auto &outs = out.nodes[n].spec->outputs;
        const bool stereo = outs.size() == 2 && (outs[0].name == "L" || outs[0].name == "left") &&
                            (outs[1].name == "R" || outs[1].name == "right");
        out.stems.push_back({std::uint32_t(n), stereo});
    }
    return {};
}

Expected<CompiledPatch> compileSpec(const PatchSpec &spec, std::uint32_t generation, bool inTemplate);

// Whether any edge leaves node `from` at one of `outputs`.
bool reads(const CompiledPatch &patch, std::uint32_t from, std::initializer_list<std::uint32_t> outputs)
{
    auto leaves = [&](std::uint32_t node, std::uint32_t output) {
        return node == from && std::find(outputs.begin(), outputs.end(), output) != outputs.end();
    };
    return std::any_of(patch.audio.begin(), patch.audio.end(),
                       [&](const auto &e) { return leaves(e.fromNode, e.fromOutput); }) ||
           std::any_of(patch.mods.begin(), patch.mods.end(),
                       [&](const auto &e) { return leaves(e.fromNode, e.fromOutput); });
}

// Phase 6: each poly's voice template, compiled and checked to play notes.
Expected<void> compileTemplates(const PatchSpec &spec, CompiledPatch &out)
{
    for (auto &node : out.nodes) {
        if (node.spec->type != "poly")
            continue;
        const PatchSpec::Node *source = spec.findNode(node.id);
        const std::string where = "node '" + node.id + "': voice template: ";
        PatchSpec voiceSpec = source ? voiceTemplateOf(*source) : voiceTemplateOf({});
        voiceSpec.buffers = spec.buffers; // samplers in the voices play the patch's buffers
        auto voice = compileSpec(voiceSpec, 0, true);
        if (!voice)
            return fail(where + voice.error());
        const auto v = static_cast<std::uint32_t>(voice->findNode(voice::kId));
        if (!reads(*voice, v, {voice::GateOut}))
            return fail(where + "nothing reads voice.gate, so no note would start or end (e.g. voice.gate -> env.gate)");
        if (!reads(*voice, v, {voice::PitchOut, voice::NoteOut}))
            return fail(where + "nothing reads voice.pitch or voice.note, so every note would sound alike "
                                "(e.g. voice.pitch -> osc.freq)");
        node.voice = std::make_shared<const CompiledPatch>(std::move(*voice));
    }
    return {};
}

// Phase 6a: the buffer each sampler names.
Expected<void> resolveBuffers(const PatchSpec &spec, CompiledPatch &out)
{
    for (auto &node : out.nodes) {
        const int f = node.spec->findStringField("buffer");
        if (f < 0 || node.strings[f].empty())
            continue;
        const PatchSpec::Buffer *b = spec.findBuffer(node.strings[f]);
        if (!b) {
            std::vector<std::string> names;
            for (const auto &known : spec.buffers)
                names.push_back(known.name);
            return fail("node '" + node.id + "': no buffer '" + node.strings[f] + "' (buffers: " + listNames(names) +
                        "; /buffer/load <name> <file> loads one)");
        }
        node.buffer = *b;
    }
    return {};
}

// Phase 7: MIDI binds name polys, maps name parameters.
Expected<void> checkMidi(const PatchSpec &spec, const CompiledPatch &out)
{
    for (const auto &b : spec.midiBinds) {
        const int n = out.findNode(b.poly);
        if (n < 0 || out.nodes[n].spec->type != "poly")
            return fail("midi bind: '" + b.poly + "' is not a poly node");
    }
    for (const auto &m : spec.midiMaps) {
        const auto dot = m.to.find('.');
        if (dot == std::string::npos)
            return fail("midi map cc " + std::to_string(m.cc) + ": '" + m.to + "' is not node.param");
        auto ref = resolveParam(out, std::string_view(m.to).substr(0, dot), std::string_view(m.to).substr(dot + 1));
        if (!ref)
            return fail("midi map cc " + std::to_string(m.cc) + ": " + ref.error());
        if (!std::isfinite(m.min) || !std::isfinite(m.max))
            return fail("midi map cc " + std::to_string(m.cc) + ": min and max must be finite");
    }
    return {};
}

Expected<CompiledPatch> compileSpec(const PatchSpec &spec, std::uint32_t generation, bool inTemplate)
{
    auto nodes = resolveNodes(spec, inTemplate);
    if (!nodes)
        return fail(nodes.error());
    if (auto set = setParameters(spec, nodes->list); !set)
        return fail(set.error());
    followTempo(spec, nodes->list);
    CompiledPatch out;
    if (auto connected = connect(spec, *nodes, out); !connected)
        return fail(connected.error());
    auto order = topologicalOrder(nodes->list, out);
    if (!order)
        return fail(order.error());
    const std::uint32_t outputNode = nodes->index.at(kOutputId);
    arrange(out, std::move(nodes->list), *order, outputNode);
    out.spec = spec;
    out.generation = generation;
    if (auto buffers = resolveBuffers(spec, out); !buffers)
        return fail(buffers.error());
    if (auto templates = compileTemplates(spec, out); !templates)
        return fail(templates.error());
    if (auto midi = checkMidi(spec, out); !midi)
        return fail(midi.error());
    if (auto stems = resolveStems(spec, out); !stems)
        return fail(stems.error());
    return out;
}

} // namespace

const PatchSpec &voiceTemplateOf(const PatchSpec::Node &node)
{
    if (node.voice)
        return *node.voice;
    static const PatchSpec fallback = [] {
        auto parsed = PatchSpec::fromJson(poly::kDefaultTemplate);
        return parsed ? *parsed : PatchSpec{};
    }();
    return fallback;
}

Expected<ParamRef> resolveParam(const CompiledPatch &patch, std::string_view nodeId, std::string_view param)
{
    const int n = patch.findNode(nodeId);
    if (n < 0)
        return fail("no node '" + std::string(nodeId) + "'");
    const auto &node = patch.nodes[n];
    ParamRef ref;
    ref.node = static_cast<std::uint32_t>(n);
    const CompiledPatch::Node *owner = &node;
    if (const auto dot = param.find('.'); dot != std::string_view::npos && node.voice) {
        const std::string_view inner = param.substr(0, dot);
        const int v = node.voice->findNode(inner);
        if (v < 0 || inner == voice::kId || inner == kOutputId)
            return fail("poly '" + node.id + "' has no template node '" + std::string(inner) + "'");
        ref.voiceNode = v;
        owner = &node.voice->nodes[v];
        param = param.substr(dot + 1);
    }
    const int p = owner->spec->findParam(param);
    if (p < 0)
        return fail("node '" + owner->id + "' (" + owner->spec->type + ") has no parameter '" + std::string(param) +
                    "' (parameters: " + paramNames(*owner->spec) + ")");
    ref.param = static_cast<std::uint16_t>(p);
    ref.spec = &owner->spec->params[p];
    return ref;
}

Expected<CompiledPatch> compile(const PatchSpec &spec, std::uint32_t generation)
{
    return compileSpec(spec, generation, false);
}

} // namespace chronus::model
