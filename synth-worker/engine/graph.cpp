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
        auto module = instantiate(nodes[i], sampleRate, maxFrames);
        if (!module)
            return fail(module.error());
        n.module = std::move(*module);
        n.out.resize(nodes[i].spec->outputs.size());
        for (auto &o : n.out)
            o = take();
        n.stateBytes = snapshotBytes(*n.module);
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
    case EventType::Activate: // the engine's, never a node's
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
