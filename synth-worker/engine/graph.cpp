#include "synth-worker/engine/graph.hpp"

#include "synth-worker/engine/module_factory.hpp"

#include <algorithm>
#include <map>

namespace chronus::engine {

using model::CompiledPatch;
using model::Event;
using model::EventType;
using model::ModuleSpec;

namespace {

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

// A node's module: made, prepared, reset, and set to the patch's values (snapped, so it
// starts there rather than gliding from the defaults).
Expected<std::unique_ptr<Module>> instantiate(const CompiledPatch::Node &node, double sampleRate,
                                              std::uint32_t maxFrames)
{
    const ModuleSpec &type = *node.spec;
    const ModuleFactory *factory = findFactory(type.type);
    if (!factory) // the catalogue and the factory table list the same types (a unit test checks)
        return fail("node '" + node.id + "': module type '" + type.type + "' has no DSP");
    std::unique_ptr<Module> module = factory->create();
    module->configure(type.params, sampleRate, seedFor(node.id));
    module->prepare(sampleRate, maxFrames);
    module->reset();
    for (std::size_t p = 0; p < type.params.size(); ++p) {
        module->param(p).set(node.paramValues[p]);
        module->param(p).snap();
    }
    for (std::size_t t = 0; t < type.textParams.size(); ++t) {
        if (!node.textSet[t])
            continue;
        const auto &values = node.textValues[t];
        for (std::size_t k = 0; k < values.size(); ++k)
            module->setElement(static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(k), values[k]);
        module->setElement(static_cast<std::uint32_t>(t), Module::kLengthElement, static_cast<float>(values.size()));
    }
    if (auto prepared = module->prepareNode(node, sampleRate, maxFrames); !prepared)
        return fail("node '" + node.id + "': " + prepared.error());
    return module;
}

// Bytes a snapshot of the module takes (its parameters and its state).
std::size_t snapshotBytes(Module &module)
{
    StateSizer sizer;
    for (auto &p : module.params())
        p.visit(sizer);
    module.visitState(sizer);
    return sizer.size();
}

// Which connections feed each node's audio inputs and parameters (indices into the patch's
// audio and mod edges).
struct Feeds {
    std::vector<std::vector<std::vector<std::size_t>>> audio;           // node -> input -> edges
    std::vector<std::map<std::uint32_t, std::vector<std::size_t>>> mods; // node -> param -> edges
};

Feeds feedsOf(const CompiledPatch &patch)
{
    Feeds f;
    f.audio.resize(patch.nodes.size());
    f.mods.resize(patch.nodes.size());
    for (std::size_t i = 0; i < patch.nodes.size(); ++i)
        f.audio[i].resize(patch.nodes[i].spec->inputs.size());
    for (std::size_t e = 0; e < patch.audio.size(); ++e)
        f.audio[patch.audio[e].toNode][patch.audio[e].toInput].push_back(e);
    for (std::size_t e = 0; e < patch.mods.size(); ++e)
        f.mods[patch.mods[e].toNode][patch.mods[e].toParam].push_back(e);
    return f;
}

// An input fed by one connection at gain 1 reads its source's buffer directly; any other
// connected input gets a buffer to sum into.
bool summed(const CompiledPatch &patch, const std::vector<std::size_t> &edges)
{
    return edges.size() > 1 || (edges.size() == 1 && patch.audio[edges[0]].gain != 1.0f);
}

// Buffers the graph needs: every output, every summed input, every modulated parameter.
std::size_t bufferCount(const CompiledPatch &patch, const Feeds &feeds)
{
    std::size_t buffers = 0;
    for (std::size_t i = 0; i < patch.nodes.size(); ++i) {
        buffers += patch.nodes[i].spec->outputs.size();
        for (const auto &edges : feeds.audio[i])
            buffers += summed(patch, edges) ? 1 : 0;
        for (const auto &[param, edges] : feeds.mods[i])
            buffers += edges.size() > 1 ? 1 : 0;
    }
    return buffers;
}

} // namespace

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
    std::size_t buffersTaken = 0;
    std::vector<std::byte> scratch;
    std::uint32_t maxFrames = 0;
    InputBus bus; // what input nodes read; set by process()

    // The next unused buffer of `buffers` (sized up front, so pointers never move).
    float *takeBuffer() noexcept { return buffers.data() + (buffersTaken++) * maxFrames; }

    // Points node i's inputs at their sources' buffers (or at a sum of them) and its
    // modulated parameters at a sum of their sources. Nodes are in topological order, so
    // every source buffer exists already.
    void wire(std::size_t i, const CompiledPatch &patch, const Feeds &feeds)
    {
        Node &n = nodes[i];
        n.in.assign(feeds.audio[i].size(), nullptr);
        for (std::size_t input = 0; input < feeds.audio[i].size(); ++input) {
            const auto &edges = feeds.audio[i][input];
            if (edges.empty())
                continue;
            if (!summed(patch, edges)) {
                const auto &edge = patch.audio[edges[0]];
                n.in[input] = nodes[edge.fromNode].out[edge.fromOutput];
                continue;
            }
            // Audio edges carry a gain from the connection's depth (1 unless given).
            Sum sum{takeBuffer(), {}};
            for (auto e : edges) {
                const auto &edge = patch.audio[e];
                sum.sources.emplace_back(nodes[edge.fromNode].out[edge.fromOutput], edge.gain);
            }
            n.in[input] = sum.dst;
            n.sums.push_back(std::move(sum));
        }
        for (const auto &[param, edges] : feeds.mods[i]) {
            // One source: the parameter reads its output and applies the depth itself
            // (depth · x, the same product a sum of one would have held).
            if (edges.size() == 1) {
                const auto &edge = patch.mods[edges[0]];
                n.module->param(param).setModulation(nodes[edge.fromNode].out[edge.fromOutput], edge.depth);
                continue;
            }
            Sum sum{takeBuffer(), {}};
            for (auto e : edges) {
                const auto &edge = patch.mods[e];
                sum.sources.emplace_back(nodes[edge.fromNode].out[edge.fromOutput], edge.depth);
            }
            n.module->param(param).setModulation(sum.dst);
            n.sums.push_back(std::move(sum));
        }
    }
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

    // Every buffer in one allocation, sized first so it never moves.
    const Feeds feeds = feedsOf(patch);
    impl->buffers.assign(bufferCount(patch, feeds) * maxFrames, 0.0f);
    impl->nodes.resize(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto &n = impl->nodes[i];
        auto module = instantiate(nodes[i], sampleRate, maxFrames);
        if (!module)
            return fail(module.error());
        n.module = std::move(*module);
        n.module->attachInputs(&impl->bus);
        n.out.resize(nodes[i].spec->outputs.size());
        for (auto &o : n.out)
            o = impl->takeBuffer();
        n.stateBytes = snapshotBytes(*n.module);
    }
    for (std::size_t i = 0; i < nodes.size(); ++i)
        impl->wire(i, patch, feeds);
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

void Graph::process(std::uint32_t frames, float *left, float *right, const InputBus *inputs,
                    const StemBus *stems) noexcept
{
    impl_->bus = inputs ? *inputs : InputBus{};
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
    if (!stems)
        return;
    for (std::uint32_t k = 0; k < stems->count; ++k) {
        float *l = stems->channels[2 * k], *r = stems->channels[2 * k + 1];
        if (k < patch_.stems.size()) {
            const auto &stem = patch_.stems[k];
            const auto &o = impl_->nodes[stem.node].out;
            std::copy_n(o[0], frames, l);
            std::copy_n(o[stem.stereo ? 1 : 0], frames, r);
        } else {
            std::fill_n(l, frames, 0.0f);
            std::fill_n(r, frames, 0.0f);
        }
    }
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
    case EventType::Activate: // the engine's, never a node's
        break;
    case EventType::NoteOn:
    case EventType::NoteOff:
    case EventType::NotesOff:
    case EventType::VoicesCut:
    case EventType::Sustain:
    case EventType::Bend:
    case EventType::Pressure:
    case EventType::VoiceParam:
    case EventType::Locate:
        m.handle(event);
        break;
    }
}

void Graph::restart() noexcept
{
    for (auto &n : impl_->nodes) {
        n.module->reset();
        for (auto &p : n.module->params())
            p.snap();
    }
}

Module *Graph::moduleAt(std::uint32_t node) noexcept
{
    return node < impl_->nodes.size() ? impl_->nodes[node].module.get() : nullptr;
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
        if (!dst.module->inherit(*src.module)) {
            if (dst.stateBytes != src.stateBytes || dst.stateBytes > impl_->scratch.size())
                continue;
            StateWriter writer(impl_->scratch);
            src.module->visitState(writer);
            StateReader reader(impl_->scratch);
            dst.module->visitState(reader);
        }
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
static_assert(chronus::engine::StemBus::kMaxStems == chronus::model::kMaxStems, "one limit on stems");
