// What the supervisor publishes as each cycle's audio input (chronus:in_N) when a cycle may
// be torn. JACK hands us the upstream client's own port buffer; when our callback runs late,
// JACK may start the next cycle while we copy, and the upstream client then writes the next
// cycle's audio into the buffer we are reading. The audio thread copies first and then reads
// JACK's frame time again: if it moved, the copy is "torn" and is held for one cycle. If the
// next cycle's copy is equal to it, the held copy was the next cycle's audio and this cycle's
// own audio is gone: it is published as silence and counted (doubtful frames), never shifted
// into the wrong cycle. Otherwise the held copy is published as it is. Either way both
// workers and the input journal read the same block (published a cycle later, still ahead of
// them: inputs take effect (lookahead + 2) periods after capture).
//
// A cycle whose callback saw JACK's frame time jump by more than a period is held too: either
// JACK skipped cycles, or the callback ran late and read the next cycle's time ahead (the
// clock labels it as the next cycle; the real next callback then reads the same time again,
// "repeated"). Its copy is the labelled cycle's audio, or still the audio of the cycle before
// it. When the next callback repeats the label, it owns that label; the held copy is put
// where it belongs: if it differs from the repeat's copy it is the cycle before's audio and
// goes there, otherwise it was the label's own audio, and the cycle before is lost (its
// readers give it up: silence, the same in both workers and the journal).
//
// Audio-thread only after reset(): no allocation, no locks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace chronus::supervisor {

class InputHold {
public:
    // Sizes the buffers (not real-time safe): `channels` inputs of `frames` frames.
    void reset(std::size_t channels, std::size_t frames)
    {
        channels_ = channels;
        frames_ = frames;
        now_.assign(channels * frames, 0.0f);
        held_.assign(channels * frames, 0.0f);
        holding_ = false;
    }

    // Where this cycle's input is copied to before offer(): channel c at copyTarget(c).
    float *copyTarget(std::size_t c) noexcept { return now_.data() + c * frames_; }

    // This cycle's copy (in copyTarget()) for engine frame `frame`. `torn`: JACK's frame time
    // moved while it was copied; `jumped`: the cycle's time is more than a period after the
    // previous cycle's. Calls publish(frame, const float *const *channels) for each block
    // decided now, in frame order; a null channel array means silence. A frame already
    // published may be published again (a repeated label): the later one stands.
    template <typename Publish>
    void offer(std::uint64_t frame, bool torn, bool jumped, Publish &&publish) noexcept
    {
        if (holding_) {
            holding_ = false;
            const bool same = std::memcmp(held_.data(), now_.data(), sizeof(float) * held_.size()) == 0;
            if (heldWhy_ == Why::Torn && frame == heldFrame_ + frames_ && same) {
                doubtful_ += frames_;
                publish(heldFrame_, static_cast<const float *const *>(nullptr));
            } else if (heldWhy_ == Why::Jumped && frame == heldFrame_ && heldFrame_ >= frames_) {
                // The held callback read this cycle's time early; this one owns the label.
                ++repeated_;
                if (!same) {
                    ++moved_;
                    publish(heldFrame_ - frames_, pointers(held_));
                }
            } else {
                publish(heldFrame_, pointers(held_));
            }
        }
        if (torn || jumped) {
            held_.swap(now_);
            heldFrame_ = frame;
            heldWhy_ = torn ? Why::Torn : Why::Jumped;
            holding_ = true;
            torn_ += torn ? 1 : 0;
            return;
        }
        publish(frame, pointers(now_));
    }

    // Frames published as silence because their cycle's copy held the next cycle's audio.
    std::uint64_t doubtfulFrames() const noexcept { return doubtful_; }
    // Cycles whose copy was torn (held for a cycle).
    std::uint64_t tornCycles() const noexcept { return torn_; }
    // Labels read ahead of their cycle and repeated by the next callback; of those, copies
    // that held the cycle before's audio and were put there.
    std::uint64_t repeatedCycles() const noexcept { return repeated_; }
    std::uint64_t movedCycles() const noexcept { return moved_; }

private:
    static constexpr std::size_t kMaxChannels = 16;

    const float *const *pointers(const std::vector<float> &block) noexcept
    {
        for (std::size_t c = 0; c < std::min(channels_, kMaxChannels); ++c)
            ptrs_[c] = block.data() + c * frames_;
        return ptrs_;
    }

    std::size_t channels_ = 0;
    std::size_t frames_ = 0;
    std::vector<float> now_;
    std::vector<float> held_;
    const float *ptrs_[kMaxChannels] = {};
    enum class Why : std::uint8_t { Torn, Jumped };
    bool holding_ = false;
    Why heldWhy_ = Why::Torn;
    std::uint64_t heldFrame_ = 0;
    std::uint64_t doubtful_ = 0;
    std::uint64_t torn_ = 0;
    std::uint64_t repeated_ = 0;
    std::uint64_t moved_ = 0;
};

} // namespace chronus::supervisor
