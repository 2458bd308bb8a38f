// The timeline clock: the supervisor writes, into the first samples of every cycle's buffer
// on its `chronus:clock` port, the timeline frame (the journal's frame) of the block it plays
// on `chronus:out_*` in that cycle. A recorder that taps the clock with the audio places each
// block at that frame (`chronus-recorder --clock chronus:clock`): a take in the journal's
// own frames, so it lines up with chronus-render of the journal whatever JACK's clock said.
//
// A cycle carries four samples, each an integer below 2^24 scaled by 2^-32 (exact in a float,
// quieter than -48 dBFS, unchanged by any copy JACK or NetJACK2 makes without Opus): a fixed
// mark, the frame's upper and lower 24 bits, and a check; the rest of the buffer is zero. It
// is not audio: connected to speakers it clicks softly once a cycle.
//
// The writer opens a cycle's clock (the mark cleared) before it writes that cycle's audio and
// closes it (the frame, then the mark) after: a reader that finds the same frame before and
// after copying the audio copied a cycle the writer had finished and not begun again. A
// reader JACK runs while the writer is still at work (a late writer on a loaded machine)
// finds no frame. Header-only, RT-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>

namespace chronus::timeline_clock {

inline constexpr std::uint32_t kMark = 0x9E3779;
inline constexpr std::uint32_t kSamples = 4; // a cycle needs at least this many frames
// A master clock (chronus-clock) also carries the wall-clock time of the cycle's start, in
// microseconds modulo 2^48 (about 8.9 years), in the next three samples.
inline constexpr std::uint32_t kWallSamples = 7;
inline constexpr float kScale = 1.0f / 4294967296.0f; // 2^-32
inline constexpr std::uint64_t kLargest = (std::uint64_t{1} << 48) - 1;

namespace detail {
inline constexpr std::uint32_t check(std::uint32_t high, std::uint32_t low) noexcept
{
    return (high ^ (low * 3u) ^ 0x5A5A5Au) & 0xFFFFFFu;
}
inline float encode(std::uint32_t v) noexcept { return float(v) * kScale; }
inline std::optional<std::uint32_t> decode(float x) noexcept
{
    const float v = x * 4294967296.0f;
    if (!(v >= 0.0f && v < 16777216.0f))
        return std::nullopt;
    const auto n = static_cast<std::uint32_t>(v);
    if (float(n) != v)
        return std::nullopt;
    return n;
}
} // namespace detail

// Opens a cycle's clock buffer of `frames` frames: it carries no frame until close().
inline void open(float *buffer, std::uint32_t frames) noexcept
{
    if (frames == 0)
        return;
    std::atomic_ref<float>(buffer[0]).store(0.0f, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst); // cleared before any audio is written
    std::memset(buffer + 1, 0, sizeof(float) * (frames - 1));
}

// Closes a cycle's clock with `frame` once its audio is written (fewer than kSamples frames,
// or a frame past kLargest: it stays without a frame). `wallUs` (a master clock): the cycle's
// start on the wall clock, in microseconds since the epoch.
inline void close(float *buffer, std::uint32_t frames, std::uint64_t frame,
                  std::optional<std::uint64_t> wallUs = std::nullopt) noexcept
{
    if (frames < kSamples || frame > kLargest)
        return;
    const auto put = [buffer](std::uint32_t at, std::uint64_t value) {
        const auto high = std::uint32_t((value >> 24) & 0xFFFFFFu), low = std::uint32_t(value & 0xFFFFFFu);
        buffer[at] = detail::encode(high);
        buffer[at + 1] = detail::encode(low);
        buffer[at + 2] = detail::encode(detail::check(high, low));
    };
    put(1, frame);
    if (wallUs && frames >= kWallSamples)
        put(4, *wallUs & kLargest);
    std::atomic_ref<float>(buffer[0]).store(detail::encode(kMark), std::memory_order_release);
}

// open() and close() at once (a cycle with no audio of its own to write).
inline void write(float *buffer, std::uint32_t frames, std::uint64_t frame) noexcept
{
    open(buffer, frames);
    close(buffer, frames, frame);
}

namespace detail {
// The 48-bit value in samples [at, at + 3), checked.
inline std::optional<std::uint64_t> value(const float *buffer, std::uint32_t at) noexcept
{
    const auto high = decode(buffer[at]);
    const auto low = decode(buffer[at + 1]);
    const auto sum = decode(buffer[at + 2]);
    if (!high || !low || !sum || *sum != check(*high, *low))
        return std::nullopt;
    return (std::uint64_t{*high} << 24) | *low;
}
inline bool marked(const float *buffer) noexcept
{
    const auto mark = decode(std::atomic_ref<float>(const_cast<float &>(buffer[0])).load(std::memory_order_acquire));
    return mark && *mark == kMark;
}
} // namespace detail

// The frame a cycle's buffer carries; nullopt when it carries none (silence, audio, a
// buffer JACK zeroed because nothing is connected, a cycle too short).
inline std::optional<std::uint64_t> read(const float *buffer, std::uint32_t frames) noexcept
{
    if (frames < kSamples || !detail::marked(buffer))
        return std::nullopt;
    return detail::value(buffer, 1);
}

// A master clock's cycle: its frame and the wall-clock microseconds (modulo 2^48) of its start.
struct MasterCycle {
    std::uint64_t frame = 0;
    std::uint64_t wallUs = 0;
};
inline std::optional<MasterCycle> readMaster(const float *buffer, std::uint32_t frames) noexcept
{
    if (frames < kWallSamples || !detail::marked(buffer))
        return std::nullopt;
    const auto frame = detail::value(buffer, 1);
    const auto wall = detail::value(buffer, 4);
    if (!frame || !wall)
        return std::nullopt;
    return MasterCycle{*frame, *wall};
}

// Wall-clock microseconds near `nearUs` whose value modulo 2^48 is `wrapped`.
inline std::uint64_t unwrapWall(std::uint64_t wrapped, std::uint64_t nearUs) noexcept
{
    constexpr std::uint64_t span = kLargest + 1;
    const std::uint64_t base = nearUs - (nearUs & kLargest);
    std::uint64_t best = base + wrapped;
    for (const std::uint64_t c : {base + wrapped - span, base + wrapped + span})
        if ((c > nearUs ? c - nearUs : nearUs - c) < (best > nearUs ? best - nearUs : nearUs - best))
            best = c;
    return best;
}

} // namespace chronus::timeline_clock
