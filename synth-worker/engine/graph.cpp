#include "synth-worker/engine/graph.hpp"

#include "model/event.hpp"
#include "synth-worker/engine/module_factory.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <queue>
#include <unordered_map>

namespace chronus::engine {

namespace {

constexpr std::string_view kOutputId = "output";

std::uint64_t seedFor(std::string_view id)
{
    // FNV-1a: stable across runs and builds, so noise is the same in both slots.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : id) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

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

} // namespace

int CompiledPatch::findNode(std::string_view id) const
{
    auto at = std::lower_bound(byId.begin(), byId.end(), id,
                               [&](std::uint32_t i, std::string_view key) { return nodes[i].id < key; });
    return at != byId.end() && nodes[*at].id == id ? static_cast<int>(*at) : -1;
}

Expected<CompiledPatch> compile(const PatchSpec &spec, std::uint32_t generation)
{
    // 1. Nodes in spec order (output appended unless declared), types and parameters.
    // Node ids to their index here; the views point into `spec`, which outlives them.
    std::vector<CompiledPatch::Node> nodes;
    nodes.reserve(spec.nodes.size() + 1);
    std::unordered_map<std::string_view, std::uint32_t> index;
    index.reserve(spec.nodes.size() + 1);
    bool outputDeclared = false;
    for (const auto &n : spec.nodes) {
        if (!validId(n.id))
            return fail("node id '" + n.id + "' is not valid (use 1-64 letters, digits, '_' or '-')");
        if (!index.emplace(n.id, static_cast<std::uint32_t>(nodes.size())).second)
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
        nodes.push_back({n.id, type, {}, {}, {}});
    }
    if (!outputDeclared) {
        index[kOutputId] = static_cast<std::uint32_t>(nodes.size());
        nodes.push_back({std::string(kOutputId), findModule("output"), {}, {}, {}});
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto &node = nodes[i];
        const ModuleSpec &type = *node.spec;
        for (const auto &p : type.params)
            node.paramValues.push_back(p.def);
        node.textValues.resize(type.textParams.size());
        node.textSet.assign(type.textParams.size(), false);
        // nodes[i] came from spec.nodes[i]; only an appended output has no source.
        if (i >= spec.nodes.size())
            continue;
        const PatchSpec::Node *source = &spec.nodes[i];
        for (const auto &[name, value] : source->params) {
            const std::string where = "node '" + node.id + "': ";
            if (const int p = type.findParam(name); p >= 0) {
                auto v = std::holds_alternative<double>(value) ? type.params[p].fromNumber(std::get<double>(value))
                                                               : type.params[p].fromText(std::get<std::string>(value));
                if (!v)
                    return fail(where + v.error());
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
            } else {
                return fail(where + "module '" + type.type + "' has no parameter '" + name + "' (parameters: " +
                            paramNames(type) + ")");
            }
        }
    }

    // 2. Connections.
    CompiledPatch out;
    for (const auto &c : spec.connections) {
        const std::string where = "connection " + c.from + " -> " + c.to + ": ";
        if (!std::isfinite(c.depth))
            return fail(where + "depth must be a finite number");
        auto [fromId, fromPort] = splitEndpoint(c.from);
        auto [toId, toPort] = splitEndpoint(c.to);
        auto fromIt = index.find(fromId);
        if (fromIt == index.end())
            return fail(where + "no node '" + std::string(fromId) + "'");
        auto toIt = index.find(toId);
        if (toIt == index.end())
            return fail(where + "no node '" + std::string(toId) + "'");
        const std::uint32_t from = fromIt->second, to = toIt->second;
        if (from == to)
            return fail(where + "a node cannot feed itself");
        const ModuleSpec &fromType = *nodes[from].spec;
        const ModuleSpec &toType = *nodes[to].spec;

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

        if (!toPort.empty()) {
            if (const int i = toType.findInput(toPort); i >= 0) {
                for (auto o : outs)
                    out.audio.push_back({from, o, to, static_cast<std::uint32_t>(i), static_cast<float>(c.depth)});
                continue;
            }
            if (const int p = toType.findParam(toPort); p >= 0) {
                if (toType.params[p].type != ParamType::Float)
                    return fail(where + "parameter '" + std::string(toPort) + "' is not continuous and cannot be modulated");
                out.mods.push_back({from, outs.front(), to, static_cast<std::uint32_t>(p), static_cast<float>(c.depth)});
                continue;
            }
            return fail(where + "module '" + toType.type + "' has no input or parameter '" + std::string(toPort) +
                        "' (inputs: " + portNames(toType.inputs) + "; parameters: " + paramNames(toType) + ")");
        }
        if (toType.mainInputs == 0)
            return fail(where + "module '" + toType.type + "' has no audio input; name an input (" +
                        portNames(toType.inputs) + ") or a parameter");
        const std::uint32_t m = toType.mainInputs;
        const std::size_t k = outs.size();
        if (k == 1) {
            for (std::uint32_t i = 0; i < m; ++i) // mono into stereo: both channels
                out.audio.push_back({from, outs[0], to, i, static_cast<float>(c.depth)});
        } else {
            for (std::size_t j = 0; j < k; ++j) // pairwise; extra outputs fold onto the inputs
                out.audio.push_back({from, outs[j], to, static_cast<std::uint32_t>(j % m), static_cast<float>(c.depth)});
        }
    }

    // 3. Topological order (Kahn; of the nodes ready at each step the one declared first, so
    // the order is stable).
    const std::size_t n = nodes.size();
    std::vector<std::vector<std::uint32_t>> next(n), prev(n);
    std::vector<std::uint32_t> indegree(n, 0);
    auto addEdge = [&](std::uint32_t a, std::uint32_t b) {
        next[a].push_back(b);
        prev[b].push_back(a);
        ++indegree[b];
    };
    for (const auto &e : out.audio)
        addEdge(e.fromNode, e.toNode);
    for (const auto &e : out.mods)
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
    if (order.size() < n) {
        // Every node left has an unplaced predecessor (that is what keeps it unplaced), so
        // walking backwards from any of them must come round to a node already on the path.
        std::uint32_t at = 0;
        while (done[at])
            ++at;
        std::vector<std::uint32_t> path;
        std::vector<int> seenAt(n, -1);
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
        return fail("cycle: " + cycle);
    }
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
    out.outputNode = position[index.at(kOutputId)];
    out.spec = spec;
    out.generation = generation;
    return out;
}

// ---------------------------------------------------------------------------------------

struct Graph::Impl {
    struct Sum {
        float *dst;
        std::vector<std::pair<const float *, float>> sources; // buffer, gain
    };
    struct Node {
        std::unique_ptr<Module> module;
        std::vector<const float *> in;
        std::vector<float *> out;
        std::vector<Sum> sums; // summed audio inputs, then modulation buffers
        std::size_t stateBytes = 0;
    };
    std::vector<Node> nodes;
    std::vector<float> buffers; // every output, sum and modulation buffer, maxFrames each
    std::vector<std::byte> scratch;
    std::uint32_t maxFrames = 0;
};

Graph::~Graph() = default;

Expected<std::unique_ptr<Graph>> Graph::build(const CompiledPatch &patch, double sampleRate, std::uint32_t maxFrames)
{
    std::unique_ptr<Graph> graph(new Graph);
    graph->patch_ = patch;
    graph->specJson_ = patch.spec.toJson(-1);
    auto impl = std::make_unique<Impl>();
    impl->maxFrames = maxFrames;
    const auto &nodes = graph->patch_.nodes;

    // Count buffers first so the single allocation never moves.
    std::size_t buffers = 0;
    std::vector<std::vector<std::vector<std::size_t>>> audioIn(nodes.size()); // node -> input -> edges
    std::vector<std::map<std::uint32_t, std::vector<std::size_t>>> modIn(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        buffers += nodes[i].spec->outputs.size();
        audioIn[i].resize(nodes[i].spec->inputs.size());
    }
    for (std::size_t e = 0; e < patch.audio.size(); ++e)
        audioIn[patch.audio[e].toNode][patch.audio[e].toInput].push_back(e);
    for (std::size_t e = 0; e < patch.mods.size(); ++e)
        modIn[patch.mods[e].toNode][patch.mods[e].toParam].push_back(e);
    // An input fed by one connection at gain 1 reads its source's buffer directly; any
    // other connected input gets a buffer to sum into.
    auto summed = [&](const std::vector<std::size_t> &edges) {
        return edges.size() > 1 || (edges.size() == 1 && patch.audio[edges[0]].gain != 1.0f);
    };
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        for (const auto &edges : audioIn[i])
            buffers += summed(edges) ? 1 : 0;
        buffers += modIn[i].size();
    }
    impl->buffers.assign(buffers * maxFrames, 0.0f);

    std::size_t next = 0;
    auto take = [&] { return impl->buffers.data() + (next++) * maxFrames; };
    impl->nodes.resize(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto &n = impl->nodes[i];
        const ModuleSpec &type = *nodes[i].spec;
        const ModuleFactory *factory = findFactory(type.type);
        if (!factory) // the catalogue and the factory table list the same types (a unit test checks)
            return fail("node '" + nodes[i].id + "': module type '" + type.type + "' has no DSP");
        n.module = factory->create();
        n.module->configure(type.params, sampleRate, seedFor(nodes[i].id));
        n.module->prepare(sampleRate, maxFrames);
        n.module->reset();
        for (std::size_t p = 0; p < type.params.size(); ++p) {
            n.module->param(p).set(nodes[i].paramValues[p]);
            n.module->param(p).snap();
        }
        for (std::size_t t = 0; t < type.textParams.size(); ++t) {
            if (!nodes[i].textSet[t])
                continue;
            const auto &values = nodes[i].textValues[t];
            for (std::size_t k = 0; k < values.size(); ++k)
                n.module->setElement(static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(k), values[k]);
            n.module->setElement(static_cast<std::uint32_t>(t), Module::kLengthElement, static_cast<float>(values.size()));
        }
        n.out.resize(type.outputs.size());
        for (auto &o : n.out)
            o = take();
        StateSizer sizer;
        for (auto &p : n.module->params())
            p.visit(sizer);
        n.module->visitState(sizer);
        n.stateBytes = sizer.size();
    }
    // Inputs: nodes are in topological order, so every source buffer already exists.
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto &n = impl->nodes[i];
        n.in.assign(audioIn[i].size(), nullptr);
        for (std::size_t input = 0; input < audioIn[i].size(); ++input) {
            const auto &edges = audioIn[i][input];
            if (edges.empty())
                continue;
            if (!summed(edges)) {
                const auto &edge = patch.audio[edges[0]];
                n.in[input] = impl->nodes[edge.fromNode].out[edge.fromOutput];
                continue;
            }
            // Audio edges carry a gain from the connection's depth (1 unless given).
            Impl::Sum sum{take(), {}};
            for (auto e : edges) {
                const auto &edge = patch.audio[e];
                sum.sources.emplace_back(impl->nodes[edge.fromNode].out[edge.fromOutput], edge.gain);
            }
            n.in[input] = sum.dst;
            n.sums.push_back(std::move(sum));
        }
        for (const auto &[param, edges] : modIn[i]) {
            Impl::Sum sum{take(), {}};
            for (auto e : edges) {
                const auto &edge = patch.mods[e];
                sum.sources.emplace_back(impl->nodes[edge.fromNode].out[edge.fromOutput], edge.depth);
            }
            n.module->param(param).setModulation(sum.dst);
            n.sums.push_back(std::move(sum));
        }
    }
    std::size_t maxState = 0;
    for (const auto &n : impl->nodes)
        maxState = std::max(maxState, n.stateBytes);
    impl->scratch.resize(maxState);
    graph->impl_ = std::move(impl);
    return graph;
}

namespace {

using Source = std::pair<const float *, float>; // buffer, gain

// dst[i] = g0·s0[i] + g1·s1[i] + ... summed left to right, as the one-source-at-a-time loop
// would, but up to four sources per pass over dst. A gain of exactly 1 multiplies by
// nothing (x · 1 == x).
template <std::size_t N>
void accumulate(float *__restrict dst, const Source *src, bool first, std::uint32_t frames) noexcept
{
    const float *__restrict s[N];
    float g[N];
    bool unity = true;
    for (std::size_t k = 0; k < N; ++k) {
        s[k] = src[k].first;
        g[k] = src[k].second;
        unity = unity && g[k] == 1.0f;
    }
    if (unity) {
        for (std::uint32_t i = 0; i < frames; ++i) {
            float acc = first ? s[0][i] : dst[i] + s[0][i];
            for (std::size_t k = 1; k < N; ++k)
                acc = acc + s[k][i];
            dst[i] = acc;
        }
        return;
    }
    for (std::uint32_t i = 0; i < frames; ++i) {
        float acc = first ? g[0] * s[0][i] : dst[i] + g[0] * s[0][i];
        for (std::size_t k = 1; k < N; ++k)
            acc = acc + g[k] * s[k][i];
        dst[i] = acc;
    }
}

void sum(float *dst, const std::vector<Source> &sources, std::uint32_t frames) noexcept
{
    const Source *src = sources.data();
    std::size_t left = sources.size();
    bool first = true;
    for (; left >= 4; left -= 4, src += 4, first = false)
        accumulate<4>(dst, src, first, frames);
    switch (left) {
    case 3: accumulate<3>(dst, src, first, frames); break;
    case 2: accumulate<2>(dst, src, first, frames); break;
    case 1: accumulate<1>(dst, src, first, frames); break;
    default: break;
    }
}

} // namespace

void Graph::process(std::uint32_t frames, float *left, float *right) noexcept
{
    for (auto &n : impl_->nodes) {
        const Impl::Sum *previous = nullptr;
        for (auto &s : n.sums) {
            // A mono source into a stereo input feeds both channels alike: same sum, same bits.
            if (previous && previous->sources == s.sources)
                std::copy_n(previous->dst, frames, s.dst);
            else
                sum(s.dst, s.sources, frames);
            previous = &s;
        }
        n.module->process({frames, n.in.data(), n.out.data()});
    }
    const auto &out = impl_->nodes[patch_.outputNode].out;
    std::copy_n(out[0], frames, left);
    std::copy_n(out[1], frames, right);
}

void Graph::apply(const Event &event) noexcept
{
    if (event.node >= impl_->nodes.size())
        return;
    Module &m = *impl_->nodes[event.node].module;
    switch (event.type) {
    case EventType::SetParam:
        if (event.param < m.params().size())
            m.param(event.param).set(event.value);
        break;
    case EventType::SetElement:
        m.setElement(event.param, event.element, event.value);
        break;
    case EventType::ResetNode:
        m.reset();
        break;
    }
}

void Graph::inheritState(Graph &from) noexcept
{
    for (std::size_t i = 0; i < impl_->nodes.size(); ++i) {
        const auto &mine = patch_.nodes[i];
        // A binary search: a swap costs O(n log n) string compares here, not n^2.
        const int j = from.patch_.findNode(mine.id);
        if (j < 0 || from.patch_.nodes[j].spec != mine.spec)
            continue;
        auto &dst = impl_->nodes[i];
        auto &src = from.impl_->nodes[j];
        if (dst.stateBytes != src.stateBytes || dst.stateBytes > impl_->scratch.size())
            continue;
        StateWriter writer(impl_->scratch);
        src.module->visitState(writer);
        StateReader reader(impl_->scratch);
        dst.module->visitState(reader);
        // Parameters glide from where they are to this patch's values; text values
        // (patterns, notes) are this patch's, applied again over the inherited copy.
        for (std::size_t p = 0; p < dst.module->params().size(); ++p)
            dst.module->param(p).continueFrom(src.module->param(p));
        for (std::size_t t = 0; t < mine.textValues.size(); ++t) {
            if (!mine.textSet[t])
                continue;
            const auto &values = mine.textValues[t];
            for (std::size_t k = 0; k < values.size(); ++k)
                dst.module->setElement(static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(k), values[k]);
            dst.module->setElement(static_cast<std::uint32_t>(t), Module::kLengthElement, static_cast<float>(values.size()));
        }
    }
}

void Graph::visitState(StateVisitor &visitor) noexcept
{
    for (auto &n : impl_->nodes) {
        for (auto &p : n.module->params())
            p.visit(visitor);
        n.module->visitState(visitor);
    }
}

std::size_t Graph::stateSize()
{
    std::size_t total = 0;
    for (const auto &n : impl_->nodes)
        total += n.stateBytes;
    return total;
}

} // namespace chronus::engine
