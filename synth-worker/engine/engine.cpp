#include "synth-worker/engine/engine.hpp"

#include "common/rt.hpp"

#include <algorithm>
#include <cstring>

namespace chronus::engine {

using model::Event;

namespace {

struct SnapshotHeader {
    char magic[8];
    std::uint32_t version;
    std::uint32_t generation;
    std::uint64_t frame;
    double sampleRate;
    std::uint64_t specBytes;
    std::uint64_t stateBytes;
};
constexpr char kSnapshotMagic[8] = {'C', 'H', 'R', 'S', 'N', 'A', 'P', '1'};
constexpr std::uint32_t kSnapshotVersion = 1;

} // namespace

Engine::Engine(double sampleRate, std::uint32_t maxFrames, std::size_t eventCapacity)
    : sampleRate_(sampleRate), maxFrames_(maxFrames), pending_(eventCapacity), scratch_((4 + 2 * StemBus::kMaxStems) * std::size_t(maxFrames))
{
    swaps_.reserve(kMaxPendingSwaps);
    prepared_.reserve(kMaxPendingSwaps);
}

Engine::~Engine()
{
    delete live_;
    delete fading_;
    for (auto &s : swaps_)
        delete s.graph;
    for (Graph *g : prepared_)
        delete g;
    Swap swap;
    while (incoming_.tryPop(swap))
        delete swap.graph;
    while (takeRetired()) {
    }
}

void Engine::install(std::unique_ptr<Graph> graph)
{
    delete live_;
    delete fading_;
    fading_ = nullptr;
    live_ = graph.release();
}

bool Engine::submitGraph(std::unique_ptr<Graph> graph, std::uint64_t frame, std::uint32_t crossfadeFrames)
{
    Swap swap{graph.get(), frame, crossfadeFrames};
    if (!incoming_.tryPush(swap))
        return false;
    graph.release();
    return true;
}

namespace {
// Swap::frame of a prepared graph: it goes live with its Activate event, not at a frame.
constexpr std::uint64_t kPrepared = ~std::uint64_t{0};
} // namespace

bool Engine::prepare(std::unique_ptr<Graph> graph)
{
    Swap swap{graph.get(), kPrepared, 0};
    if (!incoming_.tryPush(swap))
        return false;
    graph.release();
    return true;
}

std::unique_ptr<Graph> Engine::takeRetired()
{
    Graph *g = nullptr;
    if (retired_.tryPop(g))
        return std::unique_ptr<Graph>(g);
    return nullptr;
}

void Engine::retire(Graph *graph) noexcept
{
    if (graph && !retired_.tryPush(graph)) {
        // Nobody is collecting: freeing here breaks the audio-thread rule, but leaking
        // a whole graph per commit would be worse. Only happens if the control thread
        // stops calling takeRetired().
        delete graph;
    }
}

bool Engine::schedule(const Event &event) noexcept
{
    if (event.frame < frame_) {
        ++stats_.eventsLate;
        stats_.lastLateFrame = event.frame;
        return false;
    }
    const std::size_t capacity = pending_.size();
    if (pendingCount_ == capacity) {
        ++stats_.eventsDropped;
        return false;
    }
    if (pendingHead_ + pendingCount_ == capacity) {
        std::memmove(pending_.data(), pending_.data() + pendingHead_, pendingCount_ * sizeof(Event));
        pendingHead_ = 0;
    }
    // Insert after every event with frame <= event.frame: ties keep arrival order.
    Event *first = pending_.data() + pendingHead_;
    Event *last = first + pendingCount_;
    Event *at = last;
    while (at != first && (at - 1)->frame > event.frame)
        --at;
    std::memmove(at + 1, at, static_cast<std::size_t>(last - at) * sizeof(Event));
    *at = event;
    ++pendingCount_;
    return true;
}

void Engine::takeIncoming() noexcept
{
    Swap swap;
    while (incoming_.tryPop(swap)) {
        if (swap.frame == kPrepared) {
            if (prepared_.size() == prepared_.capacity()) {
                retire(swap.graph);
                ++stats_.swapsDropped;
            } else {
                prepared_.push_back(swap.graph); // capacity reserved: no allocation
            }
            continue;
        }
        if (swaps_.size() == swaps_.capacity()) {
            retire(swap.graph);
            ++stats_.swapsDropped;
            continue;
        }
        auto at = std::upper_bound(swaps_.begin(), swaps_.end(), swap.frame,
                                   [](std::uint64_t f, const Swap &s) { return f < s.frame; });
        swaps_.insert(at, swap); // capacity reserved: no allocation
    }
}

void Engine::swapIn(Graph *graph, std::uint64_t now, std::uint32_t crossfadeFrames, bool fresh) noexcept
{
    if (live_ && !fresh)
        graph->inheritState(*live_);
    if (crossfadeFrames > 0 && live_) {
        retire(fading_);
        fading_ = live_;
        fadeStart_ = now;
        fadeFrames_ = crossfadeFrames;
    } else {
        retire(live_);
    }
    live_ = graph;
    ++stats_.swaps;
}

void Engine::activate(const model::Event &event, std::uint64_t now) noexcept
{
    Graph *graph = nullptr;
    for (Graph *&g : prepared_) {
        if (g->generation() == event.generation) {
            graph = g;
            g = nullptr;
        }
    }
    // Graphs prepared for generations before this one were superseded.
    for (Graph *&g : prepared_) {
        if (g && g->generation() < event.generation) {
            retire(g);
            g = nullptr;
        }
    }
    std::erase(prepared_, nullptr); // no allocation: elements move within capacity
    if (!graph) {
        ++stats_.activationsMissed;
        return;
    }
    swapIn(graph, now, event.node, event.param == model::kActivateFresh);
}

bool Engine::activationUnprepared(std::uint64_t endFrame) noexcept
{
    takeIncoming();
    for (std::size_t i = 0; i < pendingCount_; ++i) {
        const model::Event &e = pending_[pendingHead_ + i];
        if (e.frame >= endFrame)
            break;
        if (e.type != model::EventType::Activate)
            continue;
        const bool ready = std::any_of(prepared_.begin(), prepared_.end(),
                                       [&](const Graph *g) { return g->generation() == e.generation; });
        if (!ready)
            return true;
    }
    return false;
}

void Engine::applyDue(std::uint64_t now) noexcept
{
    takeIncoming();
    // Swaps first: events stamped at a commit frame are meant for the new patch.
    while (!swaps_.empty() && swaps_.front().frame <= now) {
        Swap s = swaps_.front();
        swaps_.erase(swaps_.begin());
        swapIn(s.graph, now, s.crossfadeFrames);
    }
    while (pendingCount_ > 0 && pending_[pendingHead_].frame <= now) {
        const model::Event &e = pending_[pendingHead_];
        if (e.type == model::EventType::Activate) {
            activate(e, now);
        } else if (live_ && e.generation == live_->generation()) {
            live_->apply(e);
            ++stats_.eventsApplied;
        } else {
            ++stats_.eventsDropped;
        }
        ++pendingHead_;
        if (--pendingCount_ == 0)
            pendingHead_ = 0;
    }
}

void Engine::renderSpan(float *left, float *right, std::uint64_t now, std::uint32_t frames, const InputBus *in,
                        const StemBus *stems) noexcept
{
    if (!live_) {
        std::fill_n(left, frames, 0.0f);
        std::fill_n(right, frames, 0.0f);
        for (std::uint32_t c = 0; c < 2 * stems->count; ++c)
            std::fill_n(stems->channels[c], frames, 0.0f);
        return;
    }
    live_->process(frames, left, right, in, stems);
    if (!fading_)
        return;
    float *oldL = scratch_.data();
    float *oldR = oldL + maxFrames_;
    StemBus oldStems;
    oldStems.count = stems->count;
    for (std::uint32_t c = 0; c < 2 * stems->count; ++c)
        oldStems.channels[c] = scratch_.data() + (4 + c) * std::size_t(maxFrames_);
    fading_->process(frames, oldL, oldR, in, &oldStems);
    const double inv = 1.0 / fadeFrames_;
    auto fade = [&](float *to, const float *from) {
        for (std::uint32_t i = 0; i < frames; ++i) {
            // Gain from the absolute frame, so the fade does not depend on block boundaries.
            const float t = static_cast<float>(static_cast<double>(now + i - fadeStart_) * inv);
            to[i] = t * to[i] + (1.0f - t) * from[i];
        }
    };
    fade(left, oldL);
    fade(right, oldR);
    for (std::uint32_t c = 0; c < 2 * stems->count; ++c)
        fade(stems->channels[c], oldStems.channels[c]);
    if (now + frames >= fadeStart_ + fadeFrames_) {
        retire(fading_);
        fading_ = nullptr;
    }
}

void Engine::render(float *const *out, std::uint32_t channels, std::uint32_t frames, const float *const *in,
                    std::uint32_t inChannels, std::uint32_t stems) noexcept
{
    DenormalGuard guard;
    InputBus bus;
    bus.count = in ? std::min(inChannels, InputBus::kMaxChannels) : 0;
    StemBus stemBus;
    stemBus.count = std::min({stems, StemBus::kMaxStems, channels / 2});
    const std::uint32_t firstStem = channels - 2 * stemBus.count;
    std::uint32_t pos = 0;
    float *left = scratch_.data() + 2 * std::size_t(maxFrames_);
    float *right = left + maxFrames_;
    while (pos < frames) {
        const std::uint64_t now = frame_ + pos;
        applyDue(now);
        std::uint64_t stop = frame_ + frames;
        if (pendingCount_ > 0)
            stop = std::min(stop, pending_[pendingHead_].frame);
        if (!swaps_.empty())
            stop = std::min(stop, swaps_.front().frame);
        if (fading_)
            stop = std::min(stop, fadeStart_ + fadeFrames_);
        if (stop <= now) // only possible for an item due now, already applied above
            stop = now + 1;
        const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(stop - now, maxFrames_));
        for (std::uint32_t c = 0; c < bus.count; ++c)
            bus.channels[c] = in[c] + pos;
        for (std::uint32_t c = 0; c < 2 * stemBus.count; ++c)
            stemBus.channels[c] = out[firstStem + c] + pos;
        renderSpan(firstStem > 0 ? out[0] + pos : left, firstStem > 1 ? out[1] + pos : right, now, n, &bus, &stemBus);
        pos += n;
    }
    for (std::uint32_t c = 2; c < firstStem; ++c)
        std::fill_n(out[c], frames, 0.0f);
    frame_ += frames;
}

std::size_t Engine::snapshotSize()
{
    std::size_t size = sizeof(SnapshotHeader);
    if (live_)
        size += live_->specJson().size() + live_->stateSize();
    return size;
}

std::size_t Engine::saveSnapshot(std::span<std::byte> out) noexcept
{
    if (fading_)
        return 0;
    SnapshotHeader h{};
    std::memcpy(h.magic, kSnapshotMagic, sizeof h.magic);
    h.version = kSnapshotVersion;
    h.generation = live_ ? live_->generation() : 0;
    h.frame = frame_;
    h.sampleRate = sampleRate_;
    h.specBytes = live_ ? live_->specJson().size() : 0;
    if (out.size() < sizeof h + h.specBytes)
        return 0;
    std::memcpy(out.data(), &h, sizeof h);
    std::size_t used = sizeof h;
    if (live_) {
        std::memcpy(out.data() + used, live_->specJson().data(), h.specBytes);
        used += h.specBytes;
        StateWriter writer(out.subspan(used));
        live_->visitState(writer);
        if (writer.overflow())
            return 0;
        used += writer.used();
        h.stateBytes = writer.used();
        std::memcpy(out.data(), &h, sizeof h);
    }
    return used;
}

Expected<void> Engine::loadSnapshot(std::span<const std::byte> in)
{
    SnapshotHeader h{};
    if (in.size() < sizeof h)
        return fail("snapshot is truncated");
    std::memcpy(&h, in.data(), sizeof h);
    if (std::memcmp(h.magic, kSnapshotMagic, sizeof h.magic) != 0 || h.version != kSnapshotVersion)
        return fail("snapshot has an unknown format");
    if (h.sampleRate != sampleRate_)
        return fail("snapshot was taken at another sample rate");
    if (in.size() < sizeof h + h.specBytes + h.stateBytes)
        return fail("snapshot is truncated");
    std::unique_ptr<Graph> graph;
    if (h.specBytes > 0) {
        const std::string_view text(reinterpret_cast<const char *>(in.data() + sizeof h), h.specBytes);
        auto spec = model::PatchSpec::fromJson(text);
        if (!spec)
            return fail("snapshot patch: " + spec.error());
        auto compiled = model::compile(*spec, h.generation);
        if (!compiled)
            return fail("snapshot patch: " + compiled.error());
        auto built = Graph::build(*compiled, sampleRate_, maxFrames_);
        if (!built)
            return fail("snapshot patch: " + built.error());
        graph = std::move(*built);
        StateReader reader(in.subspan(sizeof h + h.specBytes, h.stateBytes));
        graph->visitState(reader);
        if (reader.underflow() || reader.used() != h.stateBytes)
            return fail("snapshot state does not match its patch");
    }
    install(std::move(graph));
    for (auto &s : swaps_)
        delete s.graph;
    swaps_.clear();
    for (Graph *g : prepared_)
        delete g;
    prepared_.clear();
    pendingHead_ = pendingCount_ = 0;
    frame_ = h.frame;
    return {};
}

} // namespace chronus::engine
