// `poly`: polyphonic voices, each a graph built from the node's voice template, and `voice`,
// the template's built-in node that tells one voice what to play.
//
// Determinism (both workers and chronus-render must agree bit for bit): which voice a note
// takes, when a voice is freed and every fade are decided per sample from the events and the
// audio, never from where a block happens to start. process() walks its block in spans that
// end where something is due (a duration running out, a steal fade ending, an edge on the
// gate input); a released voice is freed on the exact sample its output has been silent for
// kQuietSamples, and contributes nothing after it. A voice reused for a new note is restarted
// (every node reset), so how long it ran after being freed never shows.
//
// Voice life: Free (not rendered: idle voices cost nothing) -> Held (gate 1) -> Sustained (the
// note was released with the pedal down; gate stays 1) -> Released (gate 0, the tail rings)
// -> Free. A note that finds no free voice steals one (oldest: released voices first, else
// the oldest held; or quietest) which fades out over kFadeSamples (Stealing) and then starts
// the new note, so a steal never clicks; the note starts that much later.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/poly.hpp"
#include "synth-worker/engine/graph.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::poly;
namespace voice = model::voice;

// The voice node inside a template: constant outputs the poly sets before each span.
class VoiceSource final : public Module {
public:
    struct Values {
        float hz = 440.0f, note = 69.0f, gate = 0.0f, velocity = 0.0f, aftertouch = 0.0f;
    };

    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override { values_ = {}; }
    void process(const ProcessBlock &b) noexcept override
    {
        std::fill_n(b.out[voice::PitchOut], b.frames, values_.hz);
        std::fill_n(b.out[voice::NoteOut], b.frames, values_.note);
        std::fill_n(b.out[voice::GateOut], b.frames, values_.gate);
        std::fill_n(b.out[voice::VelocityOut], b.frames, values_.velocity);
        std::fill_n(b.out[voice::AftertouchOut], b.frames, values_.aftertouch);
    }
    // The poly keeps the note; these values follow from it before every span.
    void visitState(StateVisitor &) noexcept override {}

    void set(const Values &values) noexcept { values_ = values; }

private:
    Values values_;
};

class Poly final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t maxFrames) override
    {
        sampleRate_ = sampleRate;
        left_.assign(maxFrames, 0.0f);
        right_.assign(maxFrames, 0.0f);
        fadeSamples_ = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::lround(kFadeMs * 0.001 * sampleRate)));
        quietSamples_ = static_cast<std::uint32_t>(std::lround(kQuietMs * 0.001 * sampleRate));
        levelDecay_ = static_cast<float>(std::exp(-double(kLevelWindow) / (0.05 * sampleRate))); // 50 ms
    }

    Expected<void> prepareNode(const model::CompiledPatch::Node &node, double sampleRate,
                               std::uint32_t maxFrames) override
    {
        if (!node.voice)
            return fail("a poly needs a voice template");
        const int source = node.voice->findNode(voice::kId);
        const auto count = static_cast<std::size_t>(node.paramValues[Voices]);
        voices_.clear();
        voices_.resize(count);
        for (auto &v : voices_) {
            auto graph = Graph::build(*node.voice, sampleRate, maxFrames);
            if (!graph)
                return fail("voice template: " + graph.error());
            v.graph = std::move(*graph);
            v.source = static_cast<VoiceSource *>(v.graph->moduleAt(static_cast<std::uint32_t>(source)));
        }
        return {};
    }

    void reset() noexcept override
    {
        for (auto &v : voices_) {
            v.s = {};
            v.graph->restart();
        }
        shared_ = {};
    }

    void handle(const model::Event &e) noexcept override
    {
        switch (e.type) {
        case model::EventType::NoteOn: {
            const std::uint64_t frames = std::llround(double(model::noteDurationUs(e)) * 1e-6 * sampleRate_);
            startNote(e.value, e.value2, model::noteDurationUs(e) == 0 ? 0 : std::max<std::uint64_t>(frames, 1));
            break;
        }
        case model::EventType::NoteOff: releaseNote(e.value); break;
        case model::EventType::NotesOff:
            for (auto &v : voices_) {
                if (v.s.phase == Held || v.s.phase == Sustained)
                    release(v);
                if (v.s.phase == Stealing && v.s.next.velocity > 0.0f)
                    v.s.next.duration = 1;
            }
            break;
        case model::EventType::VoicesCut:
            for (auto &v : voices_) {
                if (v.s.phase == Free)
                    continue;
                if (v.s.phase != Stealing)
                    beginFade(v);
                v.s.next = {};
            }
            shared_.sustain = 0;
            break;
        case model::EventType::Sustain:
            shared_.sustain = e.value >= 0.5f ? 1 : 0;
            if (!shared_.sustain)
                for (auto &v : voices_)
                    if (v.s.phase == Sustained)
                        release(v);
            break;
        case model::EventType::Bend: shared_.bend = std::clamp(e.value, -1.0f, 1.0f); break;
        case model::EventType::Pressure:
            for (auto &v : voices_)
                if (e.value2 < 0.0f || v.s.note == e.value2)
                    v.s.pressure = std::clamp(e.value, 0.0f, 1.0f);
            break;
        case model::EventType::VoiceParam: {
            model::Event set = e;
            set.type = model::EventType::SetParam;
            set.node = e.element;
            for (auto &v : voices_)
                v.graph->apply(set);
            break;
        }
        default: break;
        }
    }

    void attachInputs(const InputBus *bus) override { bus_ = bus; }

    void process(const ProcessBlock &b) noexcept override
    {
        float *outL = b.out[Left];
        float *outR = b.out[Right];
        std::fill_n(outL, b.frames, 0.0f);
        std::fill_n(outR, b.frames, 0.0f);
        std::uint32_t pos = 0;
        while (pos < b.frames) {
            startDue();
            followInputs(b, pos);
            const std::uint32_t end = spanEnd(b, pos);
            renderSpan(pos, end - pos, outL, outR);
            pos = end;
        }
        if (param(Gain).steady() && param(Gain).current() == 1.0f)
            return;
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float g = param(Gain).next(i);
            outL[i] *= g;
            outR[i] *= g;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(shared_);
        for (auto &voice : voices_) {
            v(voice.s);
            voice.graph->visitState(v);
        }
    }

    bool inherit(Module &oldModule) noexcept override
    {
        auto &old = static_cast<Poly &>(oldModule);
        shared_ = old.shared_;
        const std::size_t kept = std::min(voices_.size(), old.voices_.size());
        for (std::size_t i = 0; i < kept; ++i) {
            voices_[i].s = old.voices_[i].s;
            voices_[i].graph->inheritState(*old.voices_[i].graph);
        }
        for (auto &input : shared_.inputVoice)
            if (input.voice >= voices_.size())
                input = {};
        return true;
    }

private:
    static constexpr double kFadeMs = 5.0;
    static constexpr double kQuietMs = 40.0;
    static constexpr float kSilence = 1e-5f; // -100 dBFS
    static constexpr std::uint32_t kLevelWindow = 32;

    enum Phase : std::uint32_t { Free, Held, Sustained, Released, Stealing };

    struct Note {
        float note = 0.0f;
        float velocity = 0.0f;     // 0: none
        std::uint64_t duration = 0; // frames until released; 0: until NoteOff
    };
    // One voice's state (plain data: snapshots copy it).
    struct VoiceState {
        Phase phase = Free;
        float note = 0.0f;
        float velocity = 0.0f;
        float pressure = 0.0f;
        std::uint64_t started = 0;      // note-on count when it started: smaller is older
        std::uint64_t releaseIn = 0;    // 1 + frames until an automatic release; 0: none
        std::uint32_t quiet = 0;        // Released: samples in a row below kSilence
        std::uint32_t fadeLeft = 0;     // Stealing: samples of the fade still to play
        float level = 0.0f;             // peak follower, for stealing the quietest (track())
        float windowPeak = 0.0f;
        std::uint32_t windowCount = 0;
        float gate = 0.0f;              // what the voice node says (kept through a steal fade)
        Note next;                      // Stealing: the note that takes the voice after the fade
    };
    struct Voice {
        std::unique_ptr<Graph> graph;
        VoiceSource *source = nullptr;
        VoiceState s;
    };
    // A voice started by the gate input, and which note-on started it (it may be stolen since).
    struct InputVoice {
        std::uint32_t voice = ~0u;
        std::uint64_t started = 0;
    };
    // The poly's own state besides the voices (plain data).
    struct Shared {
        float bend = 0.0f;           // -1..1 of bend_range
        std::uint32_t sustain = 0;   // pedal down
        std::uint64_t noteOns = 0;
        std::uint32_t gateHigh = 0;  // the gate input, as last followed
        std::array<float, kInputNotes> inputHz{};
        std::array<InputVoice, kInputNotes> inputVoice{};
    };

    std::uint32_t activeVoices() noexcept
    {
        return std::min<std::uint32_t>(static_cast<std::uint32_t>(voices_.size()),
                                       static_cast<std::uint32_t>(param(Voices).target()));
    }

    // The voice a new note takes: a free one, else one to steal.
    Voice *pick() noexcept
    {
        const std::uint32_t n = activeVoices();
        for (std::uint32_t i = 0; i < n; ++i)
            if (voices_[i].s.phase == Free)
                return &voices_[i];
        Voice *best = nullptr;
        auto better = [&](const VoiceState &a, const VoiceState &b) {
            if (static_cast<StealMode>(param(Steal).target()) == Quietest && a.level != b.level)
                return a.level < b.level;
            const bool aReleased = a.phase == Released, bReleased = b.phase == Released;
            if (aReleased != bReleased)
                return aReleased;
            return a.started < b.started;
        };
        for (std::uint32_t i = 0; i < n; ++i) {
            Voice &v = voices_[i];
            if (v.s.phase != Stealing && (!best || better(v.s, best->s)))
                best = &v;
        }
        if (best)
            return best;
        // Every voice is fading out for a note already: the oldest pending note gives way.
        for (std::uint32_t i = 0; i < n; ++i)
            if (!best || voices_[i].s.started < best->s.started)
                best = &voices_[i];
        return best;
    }

    // Starts a note now, or after the fade of the voice it steals. Returns the voice.
    Voice *startNote(float note, float velocity, std::uint64_t duration) noexcept
    {
        Voice *v = pick();
        if (!v)
            return nullptr;
        const std::uint64_t order = ++shared_.noteOns;
        if (v->s.phase == Free) {
            begin(*v, {note, velocity, duration}, order);
        } else {
            if (v->s.phase != Stealing)
                beginFade(*v);
            v->s.next = {note, velocity, duration};
            v->s.started = order;
        }
        return v;
    }

    void begin(Voice &v, const Note &n, std::uint64_t order) noexcept
    {
        v.graph->restart();
        v.s = {};
        v.s.phase = Held;
        v.s.note = n.note;
        v.s.velocity = n.velocity;
        v.s.started = order;
        v.s.releaseIn = n.duration == 0 ? 0 : n.duration + 1; // 1: due now (see startDue)
        v.s.gate = 1.0f;
    }

    void beginFade(Voice &v) noexcept
    {
        v.s.phase = Stealing;
        v.s.fadeLeft = fadeSamples_;
        v.s.releaseIn = 0;
    }

    void release(Voice &v) noexcept
    {
        v.s.releaseIn = 0;
        if (shared_.sustain) {
            v.s.phase = Sustained;
            return;
        }
        v.s.phase = Released;
        v.s.gate = 0.0f;
        v.s.quiet = 0;
    }

    // Releases the oldest voice holding `note` (a pending note gives way at once).
    void releaseNote(float note) noexcept
    {
        Voice *oldest = nullptr;
        for (auto &v : voices_) {
            const bool holds = (v.s.phase == Held && v.s.note == note) ||
                               (v.s.phase == Stealing && v.s.next.velocity > 0.0f && v.s.next.note == note);
            if (holds && (!oldest || v.s.started < oldest->s.started))
                oldest = &v;
        }
        if (!oldest)
            return;
        if (oldest->s.phase == Stealing)
            oldest->s.next.duration = 1;
        else
            release(*oldest);
    }

    // What is due at this sample: durations run out, fades end (and their notes start).
    void startDue() noexcept
    {
        for (auto &v : voices_) {
            if (v.s.phase == Stealing && v.s.fadeLeft == 0) {
                const Note next = v.s.next;
                const std::uint64_t order = v.s.started;
                v.s = {};
                if (next.velocity > 0.0f)
                    begin(v, next, order);
            }
            if ((v.s.phase == Held || v.s.phase == Sustained) && v.s.releaseIn == 1) {
                v.s.releaseIn = 0;
                release(v);
            }
        }
    }

    // The gate input at sample `i`: a rising edge starts the notes on the pitch inputs, a
    // falling edge releases them, new pitches under a held gate (a tie) change notes.
    void followInputs(const ProcessBlock &b, std::uint32_t i) noexcept
    {
        if (!b.in[GateIn])
            return;
        const std::uint32_t high = b.in[GateIn][i] > 0.5f ? 1 : 0;
        std::array<float, kInputNotes> hz{};
        for (std::uint32_t k = 0; k < kInputNotes; ++k)
            hz[k] = b.in[PitchIn + k] ? b.in[PitchIn + k][i] : (k == 0 ? 440.0f : 0.0f);
        if (high == shared_.gateHigh && (!high || hz == shared_.inputHz))
            return;
        for (auto &input : shared_.inputVoice) {
            if (input.voice < voices_.size()) {
                Voice &v = voices_[input.voice];
                if (v.s.started == input.started && (v.s.phase == Held || v.s.phase == Sustained))
                    release(v);
                else if (v.s.started == input.started && v.s.phase == Stealing)
                    v.s.next = {};
            }
            input = {};
        }
        shared_.gateHigh = high;
        shared_.inputHz = hz;
        if (!high)
            return;
        const float velocity = b.in[VelocityIn] ? std::clamp(b.in[VelocityIn][i], 0.0f, 1.0f) : 1.0f;
        for (std::uint32_t k = 0; k < kInputNotes; ++k) {
            if (!(hz[k] > 0.0f))
                continue;
            const float note = static_cast<float>(69.0 + 12.0 * std::log2(double(hz[k]) / 440.0));
            if (Voice *v = startNote(note, velocity > 0.0f ? velocity : 1e-3f, 0))
                shared_.inputVoice[k] = {static_cast<std::uint32_t>(v - voices_.data()), v->s.started};
        }
    }

    // Where the span from `pos` ends: the block's end, or the next sample something is due.
    std::uint32_t spanEnd(const ProcessBlock &b, std::uint32_t pos) const noexcept
    {
        std::uint64_t end = b.frames;
        for (const auto &v : voices_) {
            if (v.s.releaseIn > 1)
                end = std::min<std::uint64_t>(end, pos + v.s.releaseIn - 1);
            if (v.s.phase == Stealing)
                end = std::min<std::uint64_t>(end, pos + std::max<std::uint32_t>(v.s.fadeLeft, 1));
        }
        if (const float *gate = b.in[GateIn]) {
            for (std::uint32_t i = pos + 1; i < end; ++i) {
                const std::uint32_t high = gate[i] > 0.5f ? 1 : 0;
                bool changed = high != shared_.gateHigh;
                for (std::uint32_t k = 0; k < kInputNotes && !changed && high; ++k)
                    changed = b.in[PitchIn + k] && b.in[PitchIn + k][i] != shared_.inputHz[k];
                if (changed)
                    return i;
            }
        }
        return static_cast<std::uint32_t>(end);
    }

    // Renders every sounding voice over `n` samples from `pos` and adds it into the outputs.
    void renderSpan(std::uint32_t pos, std::uint32_t n, float *outL, float *outR) noexcept
    {
        const float range = param(BendRange).target();
        for (auto &v : voices_) {
            if (v.s.phase == Free)
                continue;
            const float note = v.s.note + shared_.bend * range;
            v.source->set({static_cast<float>(440.0 * std::exp2((double(note) - 69.0) / 12.0)), note, v.s.gate,
                           v.s.velocity, v.s.pressure});
            // Input nodes in the template read the patch's inputs over the same samples.
            InputBus span;
            if (bus_) {
                span.count = bus_->count;
                for (std::uint32_t c = 0; c < span.count; ++c)
                    span.channels[c] = bus_->channels[c] ? bus_->channels[c] + pos : nullptr;
            }
            v.graph->process(n, left_.data(), right_.data(), &span);
            mix(v, n, outL + pos, outR + pos);
            if (v.s.releaseIn > 1)
                v.s.releaseIn -= std::min<std::uint64_t>(n, v.s.releaseIn - 1);
        }
    }

    void mix(Voice &v, std::uint32_t n, float *outL, float *outR) noexcept
    {
        VoiceState &s = v.s;
        const bool quietest = static_cast<StealMode>(param(Steal).target()) == Quietest;
        if (s.phase == Held || s.phase == Sustained) {
            for (std::uint32_t i = 0; i < n; ++i) {
                outL[i] += left_[i];
                outR[i] += right_[i];
            }
            if (quietest)
                for (std::uint32_t i = 0; i < n; ++i)
                    track(s, std::max(std::fabs(left_[i]), std::fabs(right_[i])));
            return;
        }
        for (std::uint32_t i = 0; i < n; ++i) {
            float l = left_[i], r = right_[i];
            if (s.phase == Stealing) {
                const float gain = static_cast<float>(s.fadeLeft) / static_cast<float>(fadeSamples_);
                l *= gain;
                r *= gain;
                if (s.fadeLeft > 0)
                    --s.fadeLeft;
            }
            outL[i] += l;
            outR[i] += r;
            const float peak = std::max(std::fabs(l), std::fabs(r));
            if (quietest)
                track(s, peak);
            if (s.phase == Stealing && s.fadeLeft == 0)
                return; // the rest of the span is the new note's (startDue at the span's end)
            if (s.phase != Released)
                continue;
            s.quiet = peak < kSilence ? s.quiet + 1 : 0;
            if (s.quiet >= quietSamples_) {
                s.phase = Free; // from the next sample on this voice is silent
                return;
            }
        }
    }

    // The level the quietest voice is judged by: the peak of each window of kLevelWindow
    // samples of the voice's own count (so where blocks start does not matter), held with
    // a decay of about 50 ms. Kept only while steal is "quietest".
    void track(VoiceState &s, float peak) noexcept
    {
        s.windowPeak = std::max(s.windowPeak, peak);
        if (++s.windowCount == kLevelWindow) {
            s.level = std::max(s.windowPeak, s.level * levelDecay_);
            s.windowPeak = 0.0f;
            s.windowCount = 0;
        }
    }

    double sampleRate_ = 48000.0;
    std::uint32_t fadeSamples_ = 240;
    std::uint32_t quietSamples_ = 1920;
    float levelDecay_ = 0.9996f;
    std::vector<Voice> voices_;
    const InputBus *bus_ = nullptr; // the patch's inputs (attachInputs)
    std::vector<float> left_, right_; // one voice's span
    Shared shared_;
};

} // namespace

std::unique_ptr<Module> createPoly() { return std::unique_ptr<Module>(new Poly); }
std::unique_ptr<Module> createVoice() { return std::unique_ptr<Module>(new VoiceSource); }

} // namespace chronus::engine
